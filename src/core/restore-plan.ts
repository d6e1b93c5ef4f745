// The restore decided on the offsite copy's listing: which snapshot, what its -R stream brings, what is newer, the stream flags, and how a cut restore goes on.
import type { ZfsCapabilities } from './capabilities';
import { joinDataset } from './names';
import type { DatasetInfo, DatasetTree, SnapshotInfo } from './tree';

/** A restore is received under this sibling name and renamed to its own only once it is whole and checked. */
export const RESTORING_SUFFIX = '.czb-restoring';

export function restoringName(dataset: string): string {
  return `${dataset}${RESTORING_SUFFIX}`;
}

export type SnapshotChoice =
  | {
      ok: true;
      snapshot: SnapshotInfo;
      /** Datasets of the offsite copy that existed then but lack the snapshot: the stream skips them. */
      lacking: string[];
      /** Newer snapshots of the root that were passed over because datasets lack them (a cut push there). */
      passedOver: string[];
    }
  | { ok: false; reason: 'no-snapshots' | 'not-found'; newest: string[] };

const NEWEST_SHOWN = 5;

function newestNames(ds: DatasetInfo): string[] {
  return ds.snapshots.slice(-NEWEST_SHOWN).reverse().map((s) => s.name);
}

/** Datasets (relative paths) whose first snapshot is older than `snap` (by the offsite host's txg) but that lack it. */
function lackingAt(tree: DatasetTree, root: DatasetInfo, snap: SnapshotInfo): string[] {
  const lacking: string[] = [];
  for (const ds of tree.datasets.values()) {
    if (ds === root || ds.snapshots.some((s) => s.name === snap.name)) continue;
    const first = ds.snapshots[0];
    if (first !== undefined && first.createtxg < snap.createtxg) lacking.push(ds.relative);
  }
  return lacking;
}

/**
 * The snapshot to restore. Named: it must be on the offsite root. By default: the root's newest
 * snapshot that every dataset existing by then also holds (a push cut there leaves a child behind
 * the root; restoring the root's newest would silently leave that child out); if none does, the newest.
 */
export function chooseSnapshot(tree: DatasetTree, requested: string | undefined): SnapshotChoice {
  const root = tree.datasets.get('');
  if (!root || root.snapshots.length === 0) return { ok: false, reason: 'no-snapshots', newest: [] };
  if (requested !== undefined) {
    const snap = root.snapshots.find((s) => s.name === requested);
    if (!snap) return { ok: false, reason: 'not-found', newest: newestNames(root) };
    return { ok: true, snapshot: snap, lacking: lackingAt(tree, root, snap), passedOver: [] };
  }
  const passedOver: string[] = [];
  for (let i = root.snapshots.length - 1; i >= 0; i -= 1) {
    const snap = root.snapshots[i] as SnapshotInfo;
    if (lackingAt(tree, root, snap).length === 0) return { ok: true, snapshot: snap, lacking: [], passedOver };
    passedOver.push(snap.name);
  }
  const newest = root.snapshots[root.snapshots.length - 1] as SnapshotInfo;
  return { ok: true, snapshot: newest, lacking: lackingAt(tree, root, newest), passedOver: [] };
}

/** What `zfs send -R ROOT@SNAPSHOT` carries: each dataset holding the snapshot, with its snapshots up to it. */
export function treeAt(tree: DatasetTree, snapshot: string): DatasetTree {
  const datasets = new Map<string, DatasetInfo>();
  for (const [relative, ds] of tree.datasets) {
    const at = ds.snapshots.find((s) => s.name === snapshot);
    if (!at) continue;
    datasets.set(relative, { relative, guid: ds.guid, snapshots: ds.snapshots.filter((s) => s.createtxg <= at.createtxg) });
  }
  return { root: tree.root, datasets };
}

/** Per dataset, the snapshots newer than `snapshot` (those the restored host will not have). */
export function newerThan(tree: DatasetTree, snapshot: string): Array<{ relative: string; snapshots: string[] }> {
  const out: Array<{ relative: string; snapshots: string[] }> = [];
  for (const [relative, ds] of tree.datasets) {
    const at = ds.snapshots.find((s) => s.name === snapshot);
    if (!at) continue;
    const newer = ds.snapshots.filter((s) => s.createtxg > at.createtxg).map((s) => s.name);
    if (newer.length > 0) out.push({ relative, snapshots: newer });
  }
  return out;
}

/** Snapshot count of a tree, for the log. */
export function snapshotCount(tree: DatasetTree): number {
  let n = 0;
  for (const ds of tree.datasets.values()) n += ds.snapshots.length;
  return n;
}

/**
 * The letters of the restore's `zfs send` (RESTORE_SEND_FLAGS): -L -e -c where the offsite zfs has
 * them and this host's is OpenZFS (zfs-fuse cannot read such streams); -w for a tree with encrypted
 * datasets (the offsite host has no key: they come back raw, as they are there); -b (received values
 * only: the properties the original had) where the offsite zfs has it, but not with -w: OpenZFS
 * 2.1.11's receive of a raw -R -b stream aborts on an assertion and breaks the encryption hierarchy
 * (measured), so such a tree gets its properties set from the offsite copy's received values instead.
 */
export function restoreSendFlags(offsite: ZfsCapabilities, local: ZfsCapabilities, encrypted: boolean): string[] {
  const flags: string[] = [];
  if (local.flavour === 'openzfs') for (const f of ['L', 'e', 'c']) if (offsite.sendFlags.has(f)) flags.push(f);
  if (encrypted && offsite.sendFlags.has('w')) flags.push('w');
  if (!encrypted && offsite.sendFlags.has('b')) flags.push('b');
  return flags;
}

/** One stream that brings a cut restore forward: a dataset's missing snapshots, or a missing dataset whole with what is below it. */
export type ForwardStep = { kind: 'incremental'; relative: string; from: string; to: string } | { kind: 'whole'; relative: string; to: string };

export type ForwardPlan = { kind: 'complete' } | { kind: 'steps'; steps: ForwardStep[] } | { kind: 'restart'; reason: string };

/**
 * How a restore that was cut goes on (after any partial receive was resumed): `wanted` is what the
 * -R stream brings (treeAt), `partial` the restoring tree as it is. Every dataset there must hold a
 * prefix of the offsite copy's snapshots (same names and GUIDs); each is brought to the snapshot on
 * its own, and a missing dataset comes whole. Anything else (a snapshot the offsite copy lacks,
 * another GUID, a dataset that is not there, partial state left) means starting again.
 */
export function planRestoreForward(wanted: DatasetTree, partial: DatasetTree, snapshot: string): ForwardPlan {
  for (const ds of partial.datasets.values()) {
    const name = joinDataset(partial.root, ds.relative);
    if (ds.resumeToken !== undefined) return { kind: 'restart', reason: `${name} still holds a partial receive` };
    if (!wanted.datasets.has(ds.relative)) return { kind: 'restart', reason: `${name} is not in the offsite copy at @${snapshot}` };
  }
  if (!partial.datasets.has('')) return { kind: 'restart', reason: `${partial.root} is missing` };
  const steps: ForwardStep[] = [];
  const whole: string[] = [];
  for (const [relative, ds] of wanted.datasets) {
    if (whole.some((w) => relative.startsWith(`${w}/`))) continue;
    const have = partial.datasets.get(relative);
    if (!have) {
      steps.push({ kind: 'whole', relative, to: snapshot });
      whole.push(relative);
      continue;
    }
    const name = joinDataset(partial.root, relative);
    if (have.snapshots.length === 0) return { kind: 'restart', reason: `${name} holds no snapshot` };
    for (const [i, s] of have.snapshots.entries()) {
      const theirs = ds.snapshots[i];
      if (!theirs || theirs.name !== s.name || theirs.guid !== s.guid) return { kind: 'restart', reason: `${name}@${s.name} is not the offsite copy's (name or GUID)` };
    }
    const newest = have.snapshots[have.snapshots.length - 1] as SnapshotInfo;
    if (newest.name !== snapshot) steps.push({ kind: 'incremental', relative, from: newest.name, to: snapshot });
  }
  return steps.length === 0 ? { kind: 'complete' } : { kind: 'steps', steps };
}

/** The temporary tree is ours to destroy only when all it holds came from the offsite copy (same names and GUIDs). */
export function strangerSnapshots(offsite: DatasetTree, partial: DatasetTree): string[] {
  const known = new Set<string>();
  for (const ds of offsite.datasets.values()) for (const s of ds.snapshots) known.add(`${s.name}\t${s.guid}`);
  const strangers: string[] = [];
  for (const ds of partial.datasets.values()) for (const s of ds.snapshots) if (!known.has(`${s.name}\t${s.guid}`)) strangers.push(`${joinDataset(partial.root, ds.relative)}@${s.name}`);
  return strangers;
}
