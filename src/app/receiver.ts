// The receiving side as push, restore and status see it: one interface, with a plain shell login or serve behind it.
import type { ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import type { BatchPart } from '../core/remote-command';
import type { RepairStep } from '../core/replication-plan';
import { joinDataset } from '../core/names';
import { REFUSAL_PREFIX, type ReceiveMode, type RepairItem } from '../core/serve-protocol';
import { parseTree, type DatasetTree } from '../core/tree';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { ClientChannel } from 'ssh2';
import type { ExecResult } from '../io/ssh-session';
import type { StreamTarget } from '../io/transfer-ssh';

export interface Receiver {
  readonly kind: 'plain' | 'serve';
  /** What the receiving zfs supports. */
  readonly caps: ZfsCapabilities;
  /** serve --append-only: nothing there is rolled back or destroyed, receives never use -F. */
  readonly appendOnly: boolean;
  /** The receive dataset (root of the received tree). */
  readonly dataset: string;
  /** Lists the received tree again, with GUIDs and partial-receive tokens; undefined when it does not exist. */
  listTree(): Promise<DatasetTree | undefined>;
  /** Whether the receive dataset's parent exists (asked before a first, full push). */
  parentExists(): Promise<boolean>;
  /** Rolls datasets back and destroys half-received newcomers, in order, stopping at the first failure. */
  repair(items: readonly RepairItem[]): Promise<void>;
  /** Discards the partial state an interrupted `receive -s` left in `dataset`. */
  abortPartial(dataset: string): Promise<void>;
  /** Opens `zfs receive` of `dataset` (the tree, or one dataset in it) for a stream to be written into. */
  openReceive(dataset: string, mode: ReceiveMode, mountpoint: string): Promise<StreamTarget>;
  /**
   * After the last receive: keeps the tree inert below `mountpoint` and lists it with GUIDs.
   * `lastReply` is what the last receive printed on stdout (serve answers there).
   */
  settle(mountpoint: string, lastReply: string): Promise<DatasetTree | undefined>;
  /** After a failed transfer: makes what arrived inert (serve already did). */
  secure(mountpoint: string): Promise<void>;
  /**
   * Opens `zfs send -R [-flags] DATASET@SNAPSHOT` there, for a restore to read; with `from`, only
   * that dataset's snapshots after @from (`zfs send -I`), to bring a cut restore forward.
   */
  openSend(dataset: string, snapshot: string, flags: readonly string[], from?: string): Promise<ClientChannel>;
  /** What a restore needs besides snapshots: the received (original) mount properties, and encryption (undefined where zfs has none). */
  restoreInfo(): Promise<RestoreInfo>;
  /** About how many bytes `openSend` without `from` would stream, and whether that is zfs's own estimate; undefined if it cannot say. */
  sendSize(dataset: string, snapshot: string, flags: readonly string[]): Promise<{ bytes: number; exact: boolean } | undefined>;
  /** Opens `zfs send -t TOKEN` there: the rest of a cut restore. */
  openResumeSend(token: string): Promise<ClientChannel>;
}

/** The listings a restore reads (see restore-properties: originalValuesArgs, encryptionArgs). */
export interface RestoreInfo {
  received: BatchPart;
  encryption: BatchPart | undefined;
}

export interface Probed {
  receiver: Receiver;
  /** The received tree as the probe saw it; undefined when it does not exist. */
  tree: DatasetTree | undefined;
}

/** A remote failure as one line and its exit code; `code` null means the connection was lost. */
export function remoteFailure(what: string, stderr: string, code: number | null): BackupError {
  if (code === null) {
    return new BackupError(ExitCode.unavailable, `${what} on the receiving host did not finish: the connection was lost; check the link to the offsite host and run again`);
  }
  const failure = classifyZfsError(stderr, 'remote');
  return new BackupError(failure.exitCode, `${what} failed on the receiving host (exit ${code}): ${firstErrorLine(stderr)}; ${failure.hint}`);
}

/** The tree listing of one batch part or serve reply: undefined when the receive dataset does not exist. */
export function treeFromListing(receiveDataset: string, part: BatchPart, tokens?: BatchPart): DatasetTree | undefined {
  if (part.code === 0) return parseTree(receiveDataset, part.stdout + (tokens?.code === 0 ? tokens.stdout : ''));
  if (/dataset does not exist/i.test(part.stderr)) return undefined;
  throw remoteFailure(`listing ${receiveDataset}`, part.stderr, part.code);
}

/** A planned repair step as the receiver runs it. */
export function repairItem(step: RepairStep, receiveDataset: string): RepairItem {
  const dataset = joinDataset(receiveDataset, step.relative);
  return step.kind === 'rollback' ? { kind: 'rollback', dataset, snapshot: step.to } : { kind: 'destroy', dataset };
}

/** serve's own refusals (77) and a busy tree (75) keep their words; zfs failures are classified as usual. */
export function serveFailure(what: string, result: Pick<ExecResult, 'code' | 'stderr'>): BackupError {
  const line = result.stderr.split('\n').find((l) => l.startsWith(REFUSAL_PREFIX));
  if (line !== undefined) {
    return new BackupError(
      ExitCode.notPermitted,
      `${what}: the offsite host's serve refused it (${line.slice(REFUSAL_PREFIX.length).trim()}); its authorized_keys line (serve --root, --append-only) decides what this key may do`,
    );
  }
  return remoteFailure(what, result.stderr, result.code);
}
