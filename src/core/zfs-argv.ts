// argv builders for every zfs command the tool runs, local or remote; no shell is involved locally.
import type { ZfsCapabilities } from './capabilities';
import type { CatchUpStep } from './replication-plan';

/** Snapshots per `zfs destroy ds@a,b,c` command, to stay far below the kernel's argument limit. */
export const DESTROY_BATCH = 200;

/** The properties the tree listing reads: enough to match snapshots by GUID and see holds. */
export const TREE_PROPERTIES = 'guid,createtxg,userrefs';

/** With `resumable`, also the partial-receive tokens (a property only OpenZFS knows). */
export function listTreeArgs(dataset: string, resumable = false): string[] {
  return ['get', '-H', '-p', '-o', 'name,property,value', '-r', resumable ? `${TREE_PROPERTIES},receive_resume_token` : TREE_PROPERTIES, dataset];
}

/** The root dataset with its own snapshots (and its children, unlisted below them): what the tree's stream will most likely be, read in a moment on a large tree. */
export function listRootArgs(dataset: string): string[] {
  return ['get', '-H', '-p', '-o', 'name,property,value', '-d', '1', TREE_PROPERTIES, dataset];
}

/** Only the partial-receive tokens, of filesystems and volumes (OpenZFS; zfs-fuse refuses the property). */
export function listResumeTokensArgs(dataset: string): string[] {
  return ['get', '-H', '-p', '-o', 'name,property,value', '-t', 'filesystem,volume', '-r', 'receive_resume_token', dataset];
}

/** Whether an interrupted receive on this receiver keeps its partial state (`receive -s`). */
export function receiverResumable(receiver: ZfsCapabilities): boolean {
  return receiver.flavour === 'openzfs' && receiver.receiveFlags.has('s');
}

/** One line, no recursion: whether the dataset exists, without listing its tree. */
export function existsArgs(dataset: string): string[] {
  return ['list', '-H', '-o', 'name', dataset];
}

export function snapshotArgs(dataset: string, snapshot: string): string[] {
  return ['snapshot', '-r', `${dataset}@${snapshot}`];
}

/** One recursive destroy command and the snapshot names it removes. */
export interface DestroyBatch {
  snapshots: string[];
  argv: string[];
}

/** Recursive destroys of `snapshots` on the tree: batched where the platform takes comma lists. */
export function destroyBatches(dataset: string, snapshots: readonly string[], caps: Pick<ZfsCapabilities, 'destroyCommaList'>): DestroyBatch[] {
  const size = caps.destroyCommaList ? DESTROY_BATCH : 1;
  const batches: DestroyBatch[] = [];
  for (let i = 0; i < snapshots.length; i += size) {
    const names = snapshots.slice(i, i + size);
    batches.push({ snapshots: names, argv: ['destroy', '-r', `${dataset}@${names.join(',')}`] });
  }
  return batches;
}

export function destroyArgs(dataset: string, snapshots: readonly string[], caps: Pick<ZfsCapabilities, 'destroyCommaList'>): string[][] {
  return destroyBatches(dataset, snapshots, caps).map((b) => b.argv);
}

export function holdArgs(tag: string, dataset: string, snapshot: string): string[] {
  return ['hold', '-r', tag, `${dataset}@${snapshot}`];
}

export function releaseArgs(tag: string, dataset: string, snapshot: string): string[] {
  return ['release', '-r', tag, `${dataset}@${snapshot}`];
}

/** Stream flags both ends support: -L -e -c where the sender has them and the receiver is OpenZFS. */
export function streamFlags(sender: ZfsCapabilities, receiver: ZfsCapabilities, encrypted: boolean): string[] {
  const flags: string[] = [];
  if (receiver.flavour !== 'openzfs') return flags;
  for (const f of ['L', 'e', 'c']) if (sender.sendFlags.has(f)) flags.push(`-${f}`);
  if (encrypted && sender.sendFlags.has('w')) flags.push('-w');
  return flags;
}

export function sendArgs(dataset: string, base: string | undefined, target: string, flags: readonly string[]): string[] {
  return ['send', '-R', ...flags, ...(base === undefined ? [] : ['-I', `@${base}`]), `${dataset}@${target}`];
}

/** One dataset brought forward on its own: an incremental of it alone, or it and its children whole. */
export function catchUpSendArgs(dataset: string, step: CatchUpStep, flags: readonly string[]): string[] {
  return step.kind === 'catch-up' ? ['send', ...flags, '-I', `@${step.from}`, `${dataset}@${step.to}`] : ['send', '-R', ...flags, `${dataset}@${step.to}`];
}

/**
 * Receives a catch-up into one dataset below the receive dataset; it inherits the received properties.
 * Without `force` (an append-only receiver) nothing on the receiver is rolled back or destroyed.
 */
export function catchUpReceiveArgs(dataset: string, receiver: ZfsCapabilities, force = true): string[] {
  return ['receive', ...(force ? ['-F'] : []), '-u', ...(receiverResumable(receiver) ? ['-s'] : []), dataset];
}

/** Properties the received tree gets so it never mounts over the receiver's own filesystems. */
export function receivedProperties(mountpoint: string): Array<[string, string]> {
  return [
    ['canmount', 'noauto'],
    ['readonly', 'on'],
    ['mountpoint', mountpoint],
  ];
}

export function receiveArgs(receiveDataset: string, receiver: ZfsCapabilities, mountpoint: string, force = true): string[] {
  const props = receiver.receiveSetsProperties ? receivedProperties(mountpoint).flatMap(([k, v]) => ['-o', `${k}=${v}`]) : [];
  return ['receive', ...(force ? ['-F'] : []), '-u', ...(receiverResumable(receiver) ? ['-s'] : []), ...props, receiveDataset];
}

/** The receive of each mode: the tree's stream, a dataset brought forward on its own, a resumed partial receive. */
export function receiveModeArgs(mode: 'tree' | 'catch-up' | 'resume', dataset: string, receiver: ZfsCapabilities, mountpoint: string, force: boolean): string[] {
  if (mode === 'tree') return receiveArgs(dataset, receiver, mountpoint, force);
  if (mode === 'catch-up') return catchUpReceiveArgs(dataset, receiver, force);
  return resumeReceiveArgs(dataset);
}

export function resumeSendArgs(token: string): string[] {
  return ['send', '-t', token];
}

export function resumeReceiveArgs(dataset: string): string[] {
  return ['receive', '-s', '-u', dataset];
}

export function abortReceiveArgs(dataset: string): string[] {
  return ['receive', '-A', dataset];
}

export function rollbackArgs(dataset: string, snapshot: string): string[] {
  return ['rollback', '-r', `${dataset}@${snapshot}`];
}

export function destroyDatasetArgs(dataset: string): string[] {
  return ['destroy', '-r', dataset];
}

/** The read-only send a restore pulls: the whole tree up to `snapshot`, with flags from RESTORE_SEND_FLAGS. */
export function treeSendArgs(dataset: string, snapshot: string, flags: readonly string[]): string[] {
  return ['send', '-R', ...flags.map((f) => `-${f}`), `${dataset}@${snapshot}`];
}

/** The snapshots of one dataset only (not its children), oldest first: what a run records of the tree's root. */
export function rootSnapshotsArgs(dataset: string): string[] {
  return ['list', '-H', '-o', 'name', '-t', 'snapshot', '-d', '1', '-s', 'createtxg', dataset];
}

/** The user holds on some snapshots of one dataset (OpenZFS; zfs-fuse lists the command but cannot run it). */
export function holdsArgs(dataset: string, snapshots: readonly string[]): string[] {
  return ['holds', '-H', ...snapshots.map((s) => `${dataset}@${s}`)];
}

/** A restore bringing one dataset forward on its own: its snapshots after @from up to @snapshot (no -R). */
export function incrementalSendArgs(dataset: string, from: string, snapshot: string, flags: readonly string[]): string[] {
  return ['send', ...flags.map((f) => `-${f}`), '-I', `@${from}`, `${dataset}@${snapshot}`];
}

/** How many bytes treeSendArgs would stream, without sending (OpenZFS `send -n -P`). */
export function sendSizeArgs(dataset: string, snapshot: string, flags: readonly string[]): string[] {
  return ['send', '-n', '-P', '-R', ...flags.map((f) => `-${f}`), `${dataset}@${snapshot}`];
}

/** Where `send -n -P` is missing: the space the tree uses, a rough upper bound of its stream. */
export function usedArgs(dataset: string): string[] {
  return ['get', '-H', '-p', '-o', 'value', 'used', dataset];
}

/** Whether this zfs can estimate a send's size. */
export function canEstimateSend(caps: ZfsCapabilities): boolean {
  return caps.sendFlags.has('n') && caps.sendFlags.has('P');
}

/** Bytes from sendSizeArgs' output (a "size N" line) or usedArgs' (one number); undefined when neither. */
export function parseSendSize(stdout: string): number | undefined {
  const m = /^size\s+(\d+)\s*$/m.exec(stdout) ?? /^\s*(\d+)\s*$/.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

/**
 * The local receive of a restore, never mounted (-u), resumable where this zfs can (-s); where it
 * takes -o, mountpoint=none keeps every filesystem of the half-restored tree from mounting at a
 * reboot in between (a child's own mount point is masked too); the real ones are set back after.
 */
export function restoreReceiveArgs(dataset: string, local: ZfsCapabilities, whole: boolean): string[] {
  return ['receive', '-u', ...(receiverResumable(local) ? ['-s'] : []), ...(whole && local.receiveSetsProperties ? ['-o', 'mountpoint=none'] : []), dataset];
}

export function renameArgs(from: string, to: string): string[] {
  return ['rename', from, to];
}
