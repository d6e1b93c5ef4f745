// The push decision: full, incremental (with any repair of a cut push), up to date, or a refusal with evidence.
import { joinDataset, parseSnapshotTime } from './names';
import { onlyRoot, partialReceives, rootOf, type DatasetInfo, type DatasetTree, type SnapshotInfo } from './tree';

/** A step that brings the receiver back to a state a `send -R -I @base` stream applies to. */
export type RepairStep =
  /** The receiver's dataset holds snapshots newer than the base (a cut push): roll it back to the base. */
  | { kind: 'rollback'; relative: string; to: string; discards: string[] }
  /** A dataset created after the base arrived only in part: remove it; the stream carries it whole. */
  | { kind: 'destroy'; relative: string; snapshots: string[] };

/**
 * A receiver dataset brought forward to the base on its own, before the tree's stream: what a cut
 * or resumed push already delivered to the datasets that got ahead is kept, never sent twice.
 */
export type CatchUpStep =
  /** The receiver's copy stops at an older snapshot of the sender's: `send -I @from DS@to`. */
  | { kind: 'catch-up'; relative: string; from: string; to: string }
  /** The receiver lacks the dataset (and everything below it): `send -R DS@to`. */
  | { kind: 'whole'; relative: string; to: string };

export type ReplicationPlan =
  | { kind: 'full'; target: string }
  | { kind: 'incremental'; base: string; target: string; repairs: RepairStep[]; catchUps: CatchUpStep[] }
  | { kind: 'up-to-date'; base: string; repairs: RepairStep[]; catchUps: CatchUpStep[] }
  | { kind: 'refused'; refusal: Refusal };

export type Refusal =
  | { reason: 'no-local-snapshot'; dataset: string }
  | { reason: 'remote-absent'; target: string }
  | { reason: 'remote-empty'; receiveDataset: string; target: string }
  | { reason: 'no-common-snapshot'; evidence: NoCommonEvidence }
  | { reason: 'tree-diverged'; base: string; problems: string[] }
  /** A rollback to the base would discard snapshots the sender does not have: they could never be sent again. */
  | { reason: 'receiver-ahead'; base: string; datasets: Array<{ relative: string; snapshots: string[] }> };

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

/** Both sides of one dataset, indexed once: candidate bases are then checked in constant time each. */
interface Pair {
  relative: string;
  local: DatasetInfo;
  localByName: Map<string, SnapshotInfo>;
  remote: DatasetInfo | undefined;
  remoteByName: Map<string, SnapshotInfo>;
  /** Every snapshot of the receiver's copy exists on the sender with the same GUID (computed on first use). */
  remoteWithinLocal: () => boolean;
}

function pairUp(local: DatasetTree, remote: DatasetTree): Pair[] {
  return [...local.datasets].map(([relative, localDs]) => {
    const remoteDs = remote.datasets.get(relative);
    const localByName = byName(localDs);
    let within: boolean | undefined;
    return {
      relative,
      local: localDs,
      localByName,
      remote: remoteDs,
      remoteByName: byName(remoteDs),
      remoteWithinLocal: () => (within ??= (remoteDs?.snapshots ?? []).every((s) => localByName.get(s.name)?.guid === s.guid)),
    };
  });
}

/**
 * Why `base` cannot start a `send -R -I` stream for this tree (empty when it can). Every dataset on
 * both sides must hold the base with the same GUID, or be a newcomer the receiver holds only part of.
 * With `all` false it stops at the first problem, and moves that dataset to the front of `pairs`:
 * the dataset that ruled out one candidate usually rules out the next, so a tree that shares no
 * usable base is rejected in time linear in its snapshots, not their square.
 */
function baseProblems(pairs: Pair[], local: DatasetTree, remote: DatasetTree, base: string, all: boolean): string[] {
  const problems: string[] = [];
  for (let i = 0; i < pairs.length; i += 1) {
    const p = pairs[i] as Pair;
    const localBase = p.localByName.get(base);
    let problem: string | undefined;
    if (!p.remote) {
      if (localBase) problem = `${joinDataset(remote.root, p.relative)} is missing on the receiver although ${joinDataset(local.root, p.relative)}@${base} exists`;
    } else if (localBase) {
      const remoteBase = p.remoteByName.get(base);
      if (!remoteBase) problem = `${joinDataset(remote.root, p.relative)} lacks @${base}`;
      else if (remoteBase.guid !== localBase.guid) problem = `${joinDataset(remote.root, p.relative)}@${base} has GUID ${remoteBase.guid}, the sender's has ${localBase.guid}`;
    } else if (!p.remoteWithinLocal()) {
      const foreign = p.remote.snapshots.filter((s) => p.localByName.get(s.name)?.guid !== s.guid);
      problem = `${joinDataset(remote.root, p.relative)} holds ${foreign.map((s) => '@' + s.name).join(', ')} that the sender does not have`;
    }
    if (problem !== undefined) {
      problems.push(problem);
      if (!all) {
        pairs.splice(i, 1);
        pairs.unshift(p);
        break;
      }
    }
  }
  return problems;
}

/**
 * A rollback may discard only what a cut push left: snapshots the sender still has (same name and
 * GUID), which the stream sends again. Anything else (the offsite copy holds newer snapshots this
 * host never had, as after a restore of an older snapshot) would be lost for good.
 */
function unknownDiscards(pairs: readonly Pair[], repairs: readonly RepairStep[]): Array<{ relative: string; snapshots: string[] }> {
  const out: Array<{ relative: string; snapshots: string[] }> = [];
  for (const step of repairs) {
    if (step.kind !== 'rollback') continue;
    const p = pairs.find((x) => x.relative === step.relative);
    const unknown = step.discards.filter((name) => p?.localByName.get(name)?.guid !== p?.remoteByName.get(name)?.guid || !p?.localByName.has(name));
    if (unknown.length > 0) out.push({ relative: step.relative, snapshots: unknown });
  }
  return out;
}

/** What the receiver needs before a stream from `base` applies: roll back what got ahead, remove half-received newcomers. */
function repairsFor(pairs: readonly Pair[], base: string): RepairStep[] {
  const repairs: RepairStep[] = [];
  for (const p of pairs) {
    if (!p.remote) continue;
    if (p.localByName.has(base)) {
      const remoteBase = p.remoteByName.get(base) as SnapshotInfo;
      const discards = p.remote.snapshots.filter((s) => s.createtxg > remoteBase.createtxg).map((s) => s.name);
      if (discards.length > 0) repairs.push({ kind: 'rollback', relative: p.relative, to: base, discards });
    } else repairs.push({ kind: 'destroy', relative: p.relative, snapshots: p.remote.snapshots.map((s) => s.name) });
  }
  // A dataset below one that is destroyed goes with it.
  const destroyed = repairs.filter((r) => r.kind === 'destroy').map((r) => r.relative);
  return repairs.filter((r) => !destroyed.some((d) => r.relative !== d && r.relative.startsWith(d + '/')));
}

function parentOf(relative: string): string {
  const cut = relative.lastIndexOf('/');
  return cut < 0 ? '' : relative.slice(0, cut);
}

/**
 * Can every dataset reach `front` (the newest snapshot the receiver's root shares with the sender)
 * by sending forward only? Datasets that stop at an older shared snapshot catch up on their own,
 * a dataset missing on the receiver is sent whole, newcomers since `front` follow the usual rules.
 * Undefined when some dataset cannot (another lineage, a foreign snapshot, nothing in common).
 */
function catchUpsFor(pairs: readonly Pair[], front: string): { catchUps: CatchUpStep[]; settled: Pair[] } | undefined {
  const catchUps: CatchUpStep[] = [];
  const settled: Pair[] = [];
  const onReceiver = new Set<string>();
  const sentWhole = new Set<string>();
  for (const p of pairs) {
    const parent = parentOf(p.relative);
    if (p.relative !== '' && sentWhole.has(parent)) {
      sentWhole.add(p.relative);
      continue;
    }
    const localFront = p.localByName.get(front);
    if (!p.remote) {
      if (localFront) {
        if (p.relative === '' || !onReceiver.has(parent)) return undefined;
        catchUps.push({ kind: 'whole', relative: p.relative, to: front });
        sentWhole.add(p.relative);
      }
      continue;
    }
    onReceiver.add(p.relative);
    if (!localFront) {
      if (!p.remoteWithinLocal()) return undefined;
      settled.push(p);
      continue;
    }
    const remoteFront = p.remoteByName.get(front);
    if (remoteFront) {
      if (remoteFront.guid !== localFront.guid) return undefined;
      settled.push(p);
      continue;
    }
    // `send -I` needs only the receiver's newest snapshot on the sender; older ones the sender has
    // expired since are dropped by the next -R stream, as on every other dataset.
    const newest = p.remote.snapshots[p.remote.snapshots.length - 1];
    const ours = newest ? p.localByName.get(newest.name) : undefined;
    if (!newest || !ours || ours.guid !== newest.guid || ours.createtxg >= localFront.createtxg) return undefined;
    catchUps.push({ kind: 'catch-up', relative: p.relative, from: newest.name, to: front });
  }
  return { catchUps, settled };
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
  const pairs = pairUp(local, remote);
  const order = [...pairs];
  const targetTxg = localRoot.snapshots.find((s) => s.name === target)?.createtxg ?? 0;
  const decide = (base: SnapshotInfo, repairs: RepairStep[], catchUps: CatchUpStep[]): ReplicationPlan => {
    const unknown = unknownDiscards(pairs, repairs);
    if (unknown.length > 0) return { kind: 'refused', refusal: { reason: 'receiver-ahead', base: base.name, datasets: unknown } };
    return base.name === target || base.createtxg >= targetTxg ? { kind: 'up-to-date', base: base.name, repairs, catchUps } : { kind: 'incremental', base: base.name, target, repairs, catchUps };
  };
  let firstProblem: string | undefined;
  for (let i = localRoot.snapshots.length - 1; i >= 0; i -= 1) {
    const candidate = localRoot.snapshots[i] as SnapshotInfo;
    if (remoteByName.get(candidate.name)?.guid !== candidate.guid) continue;
    if (baseProblems(order, local, remote, candidate.name, false).length > 0) {
      if (firstProblem === undefined) {
        // The receiver's root got furthest; bring the rest forward to it rather than roll it back.
        const forward = catchUpsFor(pairs, candidate.name);
        if (forward) return decide(candidate, repairsFor(forward.settled, candidate.name), forward.catchUps);
      }
      firstProblem ??= candidate.name;
      continue;
    }
    return decide(candidate, repairsFor(pairs, candidate.name), []);
  }
  if (firstProblem !== undefined) {
    return { kind: 'refused', refusal: { reason: 'tree-diverged', base: firstProblem, problems: baseProblems(pairs, local, remote, firstProblem, true) } };
  }
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

/**
 * The tree's incremental stream as the plan will most likely have it, judged from the roots alone
 * (the sender's root with its snapshots, the receiver's root): a push may start `zfs send` on it
 * while the whole tree is still being listed, and use it only if the plan then asks for exactly
 * that stream. Undefined unless the roots alone call for an incremental stream, and while the
 * receiver holds a partial receive anywhere in the tree.
 */
export function likelyIncrement(localRoot: DatasetTree, remote: DatasetTree | undefined): { base: string; target: string } | undefined {
  // A receiver with a partial receive is settled first (resumed or aborted) and listed again: the
  // plan is made on what it is then, so nothing is guessed from what it is now.
  if (remote && partialReceives(remote).length > 0) return undefined;
  const plan = planReplication(onlyRoot(localRoot), remote ? onlyRoot(remote) : undefined, false);
  return plan.kind === 'incremental' ? { base: plan.base, target: plan.target } : undefined;
}
