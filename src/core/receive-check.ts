// After a push: did every snapshot the stream carried arrive on the receiver with the sender's GUID?
import { joinDataset } from './names';
import type { DatasetTree, SnapshotInfo } from './tree';

/**
 * What a `send -R [-I @base] @target` stream should have left on the receiver but did not. For
 * each sending dataset that holds @target: every snapshot after its own @base (all of them when it
 * has no @base, i.e. it is new or the send was full) up to @target. Returns one line per problem.
 */
export function receiveProblems(
  local: DatasetTree,
  remote: DatasetTree,
  base: string | undefined,
  target: string,
  /** Datasets that were brought forward on their own first: where each one started (undefined: sent whole). */
  startedAt: ReadonlyMap<string, string | undefined> = new Map(),
): string[] {
  const problems: string[] = [];
  for (const [relative, localDs] of local.datasets) {
    const targetSnap = localDs.snapshots.find((s) => s.name === target);
    if (!targetSnap) continue;
    const from = startedAt.has(relative) ? startedAt.get(relative) : base;
    const baseSnap = from === undefined ? undefined : localDs.snapshots.find((s) => s.name === from);
    const sent = localDs.snapshots.filter((s) => s.createtxg <= targetSnap.createtxg && (!baseSnap || s.createtxg > baseSnap.createtxg));
    const where = joinDataset(remote.root, relative);
    const remoteDs = remote.datasets.get(relative);
    if (!remoteDs) {
      problems.push(`${where} is missing; the sender has ${sent.length} snapshot(s) of it up to @${target}`);
      continue;
    }
    const received = new Map<string, SnapshotInfo>(remoteDs.snapshots.map((s) => [s.name, s]));
    for (const s of sent) {
      const got = received.get(s.name);
      if (!got) problems.push(`${where}@${s.name} is missing`);
      else if (got.guid !== s.guid) problems.push(`${where}@${s.name} has GUID ${got.guid}, the sender's has ${s.guid}`);
    }
  }
  return problems;
}
