// The push decision: full, incremental (with any repair of a cut push), up to date, or a refusal with evidence.
import { joinDataset, parseSnapshotTime } from './names';
import { rootOf, type DatasetInfo, type DatasetTree, type SnapshotInfo } from './tree';

/** A step that brings the receiver back to a state a `send -R -I @base` stream applies to. */
export type RepairStep =
  /** The receiver's dataset holds snapshots newer than the base (a cut push): roll it back to the base. */
  | { kind: 'rollback'; relative: string; to: string; discards: string[] }
  /** A dataset created after the base arrived only in part: remove it; the stream carries it whole. */
  | { kind: 'destroy'; relative: string; snapshots: string[] };

export type ReplicationPlan =
  | { kind: 'full'; target: string }
  | { kind: 'incremental'; base: string; target: string; repairs: RepairStep[] }
  | { kind: 'up-to-date'; base: string; repairs: RepairStep[] }
  | { kind: 'refused'; refusal: Refusal };

export type Refusal =
  | { reason: 'no-local-snapshot'; dataset: string }
  | { reason: 'remote-absent'; target: string }
  | { reason: 'remote-empty'; receiveDataset: string; target: string }
  | { reason: 'no-common-snapshot'; evidence: NoCommonEvidence }
  | { reason: 'tree-diverged'; base: string; problems: string[] };

export interface SnapshotRef {
  name: string;
  guid: string;
}

export interface NoCommonEvidence {
  localNewest: SnapshotRef[];
  remoteNewest: SnapshotRef[];
  /** Names present on both sides whose GUIDs differ: the receiver holds another lineage. */
  sameNameOtherGuid: string[];
  localCount: number;
  remoteCount: number;
}

const EVIDENCE_ROWS = 5;

/** The newest snapshot of ours on the root: what a push sends up to. */
export function pushTarget(local: DatasetTree): string | undefined {
  const root = rootOf(local);
  if (!root) return undefined;
  for (let i = root.snapshots.length - 1; i >= 0; i -= 1) {
    const s = root.snapshots[i] as SnapshotInfo;
    if (parseSnapshotTime(s.name) !== undefined) return s.name;
  }
  return undefined;
}

function byName(ds: DatasetInfo | undefined): Map<string, SnapshotInfo> {
  return new Map((ds?.snapshots ?? []).map((s) => [s.name, s]));
}

function newest(ds: DatasetInfo): SnapshotRef[] {
  return ds.snapshots.slice(-EVIDENCE_ROWS).reverse().map(({ name, guid }) => ({ name, guid }));
}

/**
 * What the tree needs so that `send -R -I @base` applies, or the problems that make `base` unusable.
 * Every dataset on both sides must hold the base with the same GUID, or be a half-received newcomer.
 */
function checkBase(local: DatasetTree, remote: DatasetTree, base: string): { repairs: RepairStep[]; problems: string[] } {
  const repairs: RepairStep[] = [];
  const problems: string[] = [];
  for (const [relative, localDs] of local.datasets) {
    const remoteDs = remote.datasets.get(relative);
    const localSnaps = byName(localDs);
    const localBase = localSnaps.get(base);
    const label = joinDataset(remote.root, relative);
    if (!remoteDs) {
      if (localBase) problems.push(`${label} is missing on the receiver although ${joinDataset(local.root, relative)}@${base} exists`);
      continue;
    }
    const remoteSnaps = byName(remoteDs);
    const remoteBase = remoteSnaps.get(base);
    if (localBase) {
      if (!remoteBase) problems.push(`${label} lacks @${base}`);
      else if (remoteBase.guid !== localBase.guid) problems.push(`${label}@${base} has GUID ${remoteBase.guid}, the sender's has ${localBase.guid}`);
      else {
        const discards = remoteDs.snapshots.filter((s) => s.createtxg > remoteBase.createtxg).map((s) => s.name);
        if (discards.length > 0) repairs.push({ kind: 'rollback', relative, to: base, discards });
      }
      continue;
    }
    // Created on the sender after the base: the receiver's copy must be a part of the sender's.
    const foreign = remoteDs.snapshots.filter((s) => localSnaps.get(s.name)?.guid !== s.guid);
    if (foreign.length > 0) problems.push(`${label} holds ${foreign.map((s) => '@' + s.name).join(', ')} that the sender does not have`);
    else repairs.push({ kind: 'destroy', relative, snapshots: remoteDs.snapshots.map((s) => s.name) });
  }
  // A dataset of the sender's tree whose parent is repaired by destroy is removed with it.
  const destroyed = repairs.filter((r) => r.kind === 'destroy').map((r) => r.relative);
  const kept = repairs.filter((r) => !destroyed.some((d) => r.relative !== d && r.relative.startsWith(d + '/')));
  return { repairs: kept, problems };
}

export function planReplication(local: DatasetTree, remote: DatasetTree | undefined, forceNonIncremental: boolean): ReplicationPlan {
  const target = pushTarget(local);
  if (target === undefined) return { kind: 'refused', refusal: { reason: 'no-local-snapshot', dataset: local.root } };
  const remoteRoot = remote ? rootOf(remote) : undefined;
  if (!remote || !remoteRoot) {
    if (forceNonIncremental) return { kind: 'full', target };
    return { kind: 'refused', refusal: { reason: 'remote-absent', target } };
  }
  if (remoteRoot.snapshots.length === 0) {
    if (forceNonIncremental) return { kind: 'full', target };
    return { kind: 'refused', refusal: { reason: 'remote-empty', receiveDataset: remote.root, target } };
  }
  const localRoot = rootOf(local) as DatasetInfo;
  const remoteByName = byName(remoteRoot);
  let firstProblems: { base: string; problems: string[] } | undefined;
  for (let i = localRoot.snapshots.length - 1; i >= 0; i -= 1) {
    const candidate = localRoot.snapshots[i] as SnapshotInfo;
    if (remoteByName.get(candidate.name)?.guid !== candidate.guid) continue;
    const { repairs, problems } = checkBase(local, remote, candidate.name);
    if (problems.length === 0) {
      const targetTxg = localRoot.snapshots.find((s) => s.name === target)?.createtxg ?? 0;
      if (candidate.name === target || candidate.createtxg >= targetTxg) return { kind: 'up-to-date', base: candidate.name, repairs };
      return { kind: 'incremental', base: candidate.name, target, repairs };
    }
    firstProblems ??= { base: candidate.name, problems };
  }
  if (firstProblems) return { kind: 'refused', refusal: { reason: 'tree-diverged', ...firstProblems } };
  const localGuids = byName(localRoot);
  return {
    kind: 'refused',
    refusal: {
      reason: 'no-common-snapshot',
      evidence: {
        localNewest: newest(localRoot),
        remoteNewest: newest(remoteRoot),
        sameNameOtherGuid: remoteRoot.snapshots.filter((s) => localGuids.has(s.name)).map((s) => s.name),
        localCount: localRoot.snapshots.length,
        remoteCount: remoteRoot.snapshots.length,
      },
    },
  };
}
