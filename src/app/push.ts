// The push action: connect and probe the receiver, plan, repair or bring forward a cut push, send, check, move the base hold.
import type { ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { describeKeepalive, keepaliveFor, silentLinkError, type LinkPhase } from '../core/link';
import { joinDataset } from '../core/names';
import { appendOnlyRefusal, refusalError, type PushContext } from '../core/push-messages';
import { encryptionArgs, parseEncrypted } from '../core/restore-properties';
import { likelyIncrement, planReplication, type CatchUpStep, type RepairStep } from '../core/replication-plan';
import { sideOfTree, type SideFacts } from '../core/run-state';
import { streamSshArgv } from '../core/stream-ssh';
import type { DatasetTree } from '../core/tree';
import { catchUpSendArgs, sendArgs, streamFlags } from '../core/zfs-argv';
import type { CommandRunner } from '../io/command';
import { startEarlySend, type EarlySend } from '../io/early-send';
import { resolveDestination, type ResolvedDestination } from '../io/ssh-destination';
import type { SessionOptions, SshSession } from '../io/ssh-session';
import { holdBase, holdTag, releaseOldBases } from './base-hold';
import type { Deps } from './deps';
import type { PushOptions } from './options';
import { checkReceived } from './push-check';
import { settlePartialReceives } from './push-resume';
import { mib, transfer, type TransferDeps } from './push-transfer';
import { repairItem, type Receiver } from './receiver';
import { probeReceiver } from './receiver-probe';

/** What one push did: for the log, the state file and the metrics. */
export interface PushOutcome {
  kind: 'full' | 'incremental' | 'up-to-date' | 'dry-run';
  /** The snapshot the receiver now holds as its newest (what would be sent, under --dry-run). */
  target: string;
  /** The base the stream started from, if incremental. */
  base: string | undefined;
  /** Bytes sent and seconds spent streaming, over the catch-ups and the tree's stream together. */
  bytes: number;
  seconds: number;
  receiver: 'plain' | 'serve';
  /** The offsite copy's root dataset after the push (for the state file and the metrics). */
  offsite?: SideFacts;
}

export interface PushDeps {
  runner: CommandRunner;
  connect: (destination: ResolvedDestination, options?: Pick<SessionOptions, 'shareStreamConnection'>) => Promise<SshSession>;
  zfsProgram: string;
  /** Where a progress line goes (a TTY), if anywhere. */
  progress?: NodeJS.WriteStream;
}

export { holdTag };

export function receivedMountpoint(hostname: string): string {
  return `/srv/backup/${hostname}`;
}

/** Every remote command line is shown with --debug, exactly as the remote side gets it. */
function traced(log: Deps['log'], session: SshSession): SshSession {
  return {
    exec: (command) => {
      log.debug({ remote: command }, 'running on the receiving host');
      return session.exec(command);
    },
    openChannel: (command) => {
      log.debug({ remote: command }, 'streaming into the receiving host');
      return session.openChannel(command);
    },
    openStream: (command) => {
      log.debug({ remote: command }, 'streaming into the receiving host');
      return session.openStream(command).then((target) => {
        if (target.carrier !== 'openssh') return target;
        const how = target.master ? ", as a session on the shared connection once it has logged in (ControlPath=SOCKET; by itself if it has not)" : '';
        log.debug({ argv: [target.program, ...streamSshArgv(target.target, target.command, 'LOGFILE')] }, `the stream goes by OpenSSH's client${how}`);
        return {
          ...target,
          onSession: (shared: boolean) =>
            log.debug(shared ? "the stream's ssh opens its session on the shared connection" : "the shared connection has not logged in: the stream's ssh connects by itself"),
        };
      });
    },
    streamCarrier: session.streamCarrier,
    silence: () => session.silence(),
    close: () => session.close(),
  };
}

/** Where a push is on its link, so that a silent link can be named with the step it stopped. */
interface LinkProgress {
  phase: LinkPhase;
  /** Bytes streamed so far in the current stream. */
  streamed: number;
}

/** The error a push ends with: if the link went silent, that (with where it was), whatever else failed because of it. */
function onLink(session: SshSession, destination: string, link: LinkProgress, error: unknown): unknown {
  const silence = session.silence();
  return silence ? silentLinkError(destination, link.phase, silence, link.phase === 'stream' ? link.streamed : undefined) : error;
}

function describeRepair(step: RepairStep, receiveDataset: string): string {
  const ds = joinDataset(receiveDataset, step.relative);
  return step.kind === 'rollback'
    ? `rolling ${ds} back to @${step.to}, discarding ${step.discards.map((s) => '@' + s).join(', ')} (a cut push left them; they are sent again)`
    : `destroying ${ds} (${step.snapshots.length} snapshot(s)), created after the base and received only in part; it is sent again whole`;
}

function describeCatchUp(step: CatchUpStep, receiveDataset: string): string {
  const ds = joinDataset(receiveDataset, step.relative);
  return step.kind === 'catch-up'
    ? `${ds} forward from @${step.from} to @${step.to} on its own (a cut or resumed push left it behind the rest of the tree)`
    : `${ds} over whole up to @${step.to} with what is below it (it is missing on the receiver)`;
}

async function estimateSize(deps: Deps, caps: ZfsCapabilities, args: string[]): Promise<number | undefined> {
  if (!caps.sendFlags.has('n') || !caps.sendFlags.has('P')) return undefined;
  const [, ...rest] = args;
  const result = await deps.zfs.tryRun(['send', '-n', '-P', ...rest]);
  const m = /^size\s+(\d+)/m.exec(result.stdout + '\n' + result.stderr);
  return m ? Number(m[1]) : undefined;
}

/**
 * Encrypted datasets go raw (-w), so the offsite host never holds their keys; zfs refuses a non-raw
 * -R stream of a tree with any encrypted dataset. Only OpenZFS has encryption.
 */
export async function isEncrypted(deps: Deps, caps: ZfsCapabilities, dataset: string): Promise<boolean> {
  if (caps.flavour !== 'openzfs') return false;
  const result = await deps.zfs.run(encryptionArgs(dataset), `reading the encryption of ${dataset}`);
  return parseEncrypted(dataset, result.stdout).length > 0;
}

/** A connected, probed receiver; the session is closed again if the probe fails. */
export interface Connected {
  session: SshSession;
  receiver: Receiver;
  tree: DatasetTree | undefined;
}

/** Resolves the destination with `ssh -G`, connects (host key checked) and probes the receive dataset; `streams`: a push that will stream (see SessionOptions.shareStreamConnection). */
export async function connectAndProbe(deps: Deps & PushDeps, target: Pick<PushOptions, 'sshDestination' | 'sshConfig' | 'receiveDataset' | 'useSudo'>, streams = false): Promise<Connected> {
  const destination = await resolveDestination(deps.runner, target.sshDestination, target.sshConfig, [], (m) => deps.log.warn(m));
  for (const hop of destination.jump ? [destination.jump, destination] : [destination]) {
    deps.log.debug(describeKeepalive(hop.destination, keepaliveFor(hop.options.serverAliveIntervalSeconds, hop.options.serverAliveCountMax)));
  }
  const session = traced(deps.log, await deps.connect(destination, streams ? { shareStreamConnection: true } : {}));
  try {
    const probed = await probeReceiver(session, target.receiveDataset, target.useSudo, (m) => deps.log.info(`on ${target.sshDestination}: ${m}`));
    deps.log.debug(`${target.sshDestination} answers as ${probed.receiver.kind === 'serve' ? `serve${probed.receiver.appendOnly ? ' (append-only)' : ''}` : 'a plain shell login'}`);
    return { session, ...probed };
  } catch (error) {
    session.close();
    throw onLink(session, target.sshDestination, { phase: 'probe', streamed: 0 }, error);
  }
}

/**
 * zfs send of the tree's stream as the roots alone call for it (see likelyIncrement), started as
 * soon as the receiver's tree is known, while the local tree is still being listed: on a large tree
 * zfs send's own reading of every snapshot, the slow part of a small push, then overlaps the
 * listing. Its output waits in its pipe; the push takes it only if the plan asks for exactly that
 * stream, else it is stopped. Only for OpenSSH's client (the ssh2 carrier starts its own).
 */
async function startLikelyStream(
  deps: Deps & PushDeps,
  caps: ZfsCapabilities,
  dataset: string,
  localRoot: Promise<DatasetTree | undefined>,
  connecting: Promise<Connected>,
  encrypted: Promise<boolean>,
): Promise<EarlySend | undefined> {
  const [root, connected] = await Promise.all([localRoot, connecting]);
  if (!root || connected.session.streamCarrier !== 'openssh') return undefined;
  const likely = likelyIncrement(root, connected.tree);
  if (!likely) return undefined;
  const args = sendArgs(dataset, likely.base, likely.target, streamFlags(caps, connected.receiver.caps, await encrypted));
  deps.log.debug({ argv: [deps.zfsProgram, ...args] }, 'starting zfs send before the plan, as the roots call for it: taken if the plan asks for this stream');
  return startEarlySend(deps.zfsProgram, args);
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Pushes the tree to one destination; `listing` is the run's listing of the local tree when it has one (else it is listed here). */
export async function pushTree(deps: Deps & PushDeps, options: PushOptions, listing?: Promise<DatasetTree | undefined>): Promise<PushOutcome> {
  const caps = await deps.zfs.capabilities();
  // The local listing, the encryption of the tree (OpenZFS) and the connection with its probe
  // overlap: on a large tree each takes seconds. The encryption is read on every push, beside the
  // others, and used only if a stream is sent.
  const encrypted = isEncrypted(deps, caps, options.dataset);
  encrypted.catch(() => undefined);
  const connecting = connectAndProbe(deps, options, !options.dryRun);
  const early = options.dryRun ? Promise.resolve(undefined) : startLikelyStream(deps, caps, options.dataset, deps.zfs.rootTree(options.dataset), connecting, encrypted).catch(() => undefined);
  try {
    return await pushPlanned(deps, options, caps, { listing: listing ?? deps.zfs.tree(options.dataset), connecting, encrypted, early });
  } finally {
    // Stopped unless the stream took it (then only its directory goes).
    void early.then((e) => e?.discard());
  }
}

/** What pushTree has set going before the plan: each settles while the others run. */
interface UnderWay {
  /** The local tree (undefined: the dataset does not exist). */
  listing: Promise<DatasetTree | undefined>;
  /** The connection with its probe of the receiver. */
  connecting: Promise<Connected>;
  /** Whether the tree holds an encrypted dataset (used only if a stream is sent). */
  encrypted: Promise<boolean>;
  /** The zfs send the roots called for (see startLikelyStream), if one started. */
  early: Promise<EarlySend | undefined>;
}

async function pushPlanned(deps: Deps & PushDeps, options: PushOptions, caps: ZfsCapabilities, underWay: UnderWay): Promise<PushOutcome> {
  const { listing, connecting, encrypted, early } = underWay;
  const { log } = deps;
  const ctx: PushContext = { dataset: options.dataset, receiveDataset: options.receiveDataset, destination: options.sshDestination, sshConfig: options.sshConfig };
  const where = `${options.sshDestination}:${options.receiveDataset}`;
  const [listed, connected] = await Promise.allSettled([listing, connecting]);
  if (listed.status === 'rejected' || !listed.value) {
    if (connected.status === 'fulfilled') connected.value.session.close();
    if (listed.status === 'rejected') throw listed.reason;
    throw new BackupError(ExitCode.noInput, `dataset ${options.dataset} does not exist on this host; check --dataset against "zfs list"`);
  }
  if (connected.status === 'rejected') throw connected.reason;
  const local = listed.value;
  const { session, receiver } = connected.value;
  const mountpoint = receivedMountpoint(options.hostname);
  const link: LinkProgress = { phase: 'repair', streamed: 0 };
  try {
    let remote = connected.value.tree;
    if (remote && (await settlePartialReceives(deps, receiver, options, caps, remote, mountpoint))) remote = await receiver.listTree();
    link.phase = 'probe';
    if (!remote && !(await receiver.parentExists())) {
      const parent = options.receiveDataset.slice(0, options.receiveDataset.lastIndexOf('/'));
      throw new BackupError(ExitCode.noInput, `${where} cannot be received: its parent ${parent} does not exist on ${options.sshDestination}; create it there (zfs create -p ${parent}) or fix --zfs-receive-dataset`);
    }
    const plan = planReplication(local, remote, options.forceNonIncremental);
    log.debug({ plan }, 'replication plan');
    if (plan.kind === 'refused') throw refusalError(plan.refusal, ctx);
    const repairs = plan.kind === 'full' ? [] : plan.repairs;
    const catchUps = plan.kind === 'full' ? [] : plan.catchUps;
    if (receiver.appendOnly && repairs.length > 0) throw appendOnlyRefusal(repairs, ctx);
    for (const step of repairs) log.warn(`${options.dryRun ? 'dry run: would repair' : 'repairing'} ${where}: ${describeRepair(step, options.receiveDataset)}`);
    const flags = plan.kind === 'up-to-date' && catchUps.length === 0 ? [] : streamFlags(caps, receiver.caps, await encrypted);
    const base = plan.kind === 'full' ? undefined : plan.base;
    const target = plan.kind === 'up-to-date' ? plan.base : plan.target;
    const args = plan.kind === 'up-to-date' ? undefined : sendArgs(options.dataset, base, target, flags);
    const what = `${options.dataset}@${target}${base ? ` (incremental from @${base})` : ' (full)'}`;
    const started = await early;
    const taken = started && args && sameArgs(started.sendArgs, args) ? started : undefined;
    if (started && !taken) {
      log.debug('the plan does not ask for the stream the roots called for: the zfs send started before it is stopped');
      started.discard();
    }

    const outcome: PushOutcome = { kind: plan.kind === 'full' ? 'full' : args ? 'incremental' : 'up-to-date', target, base, bytes: 0, seconds: 0, receiver: receiver.kind };
    if (options.dryRun) {
      for (const step of catchUps) log.info(`dry run: would bring ${describeCatchUp(step, options.receiveDataset)}: zfs ${catchUpSendArgs(joinDataset(options.dataset, step.relative), step, flags).join(' ')}`);
      if (!args) {
        log.info(`dry run: ${where} is up to date at @${target}${catchUps.length > 0 ? ' once those datasets catch up' : ''}`);
        return { ...outcome, kind: 'dry-run' };
      }
      const size = await estimateSize(deps, caps, args);
      log.info(`dry run: would send ${what} to ${where}${size === undefined ? '' : `, about ${mib(size)} MiB`}: zfs ${args.join(' ')}`);
      return { ...outcome, kind: 'dry-run', bytes: size ?? 0 };
    }
    link.phase = 'repair';
    if (repairs.length > 0) await receiver.repair(repairs.map((s) => repairItem(s, options.receiveDataset)));
    // The target is held once zfs send has handed on its last byte, while the receiver finishes and
    // the copy is checked (on OpenZFS a hold waits for a transaction group). The old bases are
    // released only after the check. A push that fails from there waits for the hold, so no zfs
    // command of it outlives it, and leaves the old base held too: the next push releases the extra.
    const tag = holdTag(options);
    let holding: Promise<unknown> | undefined;
    const hold = () => (holding ??= holdBase(deps, tag, options.dataset, target).then(() => undefined, (error: unknown) => error));
    let after = remote;
    try {
      const sent = await sendAll(deps, receiver, options, { catchUps, args, flags, what, where, mountpoint, early: taken }, link, hold);
      outcome.bytes = sent.bytes;
      outcome.seconds = sent.seconds;
      link.phase = 'check';
      if (sent.reply !== undefined) {
        after = await receiver.settle(mountpoint, sent.reply);
        const startedAt = new Map(catchUps.map((c): [string, string | undefined] => [c.relative, c.kind === 'catch-up' ? c.from : undefined]));
        checkReceived(deps, { dataset: options.dataset, receiveDataset: options.receiveDataset, where }, local, after, args ? base : target, target, startedAt);
      }
    } catch (error) {
      await holding;
      throw error;
    }
    const holdFailure = await hold();
    if (holdFailure) throw holdFailure;
    if (after) outcome.offsite = sideOfTree(after);
    await releaseOldBases(deps, tag, options.dataset, target, local);
    if (!args) log.info(`${where} is up to date at @${target}`);
    return outcome;
  } catch (error) {
    throw onLink(session, options.sshDestination, link, error);
  } finally {
    session.close();
  }
}

/**
 * The catch-ups, then the tree's stream (`onTreeSent` once zfs send has handed on its last byte); returns what the last receive printed (serve's reply, or
 * undefined when nothing was sent) and the bytes and seconds of all of them. After a failure, what did arrive is made inert before the error
 * goes up: it must not mount over the offsite host's own filesystems at its next boot.
 */
async function sendAll(
  deps: TransferDeps,
  receiver: Receiver,
  options: PushOptions,
  stream: { catchUps: CatchUpStep[]; args: string[] | undefined; flags: string[]; what: string; where: string; mountpoint: string; early: EarlySend | undefined },
  link: LinkProgress,
  onTreeSent: () => void,
): Promise<{ reply: string | undefined; bytes: number; seconds: number }> {
  let reply: string | undefined;
  let bytes = 0;
  let seconds = 0;
  const count = (result: { bytes: number; seconds: number; receiveStdout: string }) => {
    bytes += result.bytes;
    seconds += result.seconds;
    reply = result.receiveStdout;
  };
  // Each stream is 'stream' until its last byte has gone out, then 'check' while the receiver finishes it.
  const streamOptions = (thenSent?: () => void) => {
    link.phase = 'stream';
    link.streamed = 0;
    const onSent = () => {
      link.phase = 'check';
      thenSent?.();
    };
    return { bytesPerSecond: options.bwlimit, onSent, onBytes: (n: number) => (link.streamed = n) };
  };
  try {
    for (const step of stream.catchUps) {
      const dataset = joinDataset(options.dataset, step.relative);
      const stepWhat = `${dataset}@${step.to} (${step.kind === 'catch-up' ? `catch-up from @${step.from}` : 'whole, missing on the receiver'})`;
      deps.log.warn(`bringing ${describeCatchUp(step, options.receiveDataset)}`);
      link.phase = 'stream';
      const channel = await receiver.openReceive(joinDataset(options.receiveDataset, step.relative), 'catch-up', stream.mountpoint);
      count(await transfer(deps, channel, catchUpSendArgs(dataset, step, stream.flags), stepWhat, stream.where, streamOptions()));
    }
    if (stream.args) {
      link.phase = 'stream';
      const channel = await receiver.openReceive(options.receiveDataset, 'tree', stream.mountpoint);
      count(await transfer(deps, channel, stream.args, stream.what, stream.where, { ...streamOptions(onTreeSent), early: stream.early }));
    }
  } catch (error) {
    if (error instanceof BackupError && error.exitCode !== ExitCode.unavailable) await receiver.secure(stream.mountpoint).catch(() => undefined);
    throw error;
  }
  return { reply, bytes, seconds };
}
