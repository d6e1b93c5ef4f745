// The expire decision for a tree: retention on the root's snapshots, then the safety valves.
import { parseSnapshotTime } from './names';
import { planRetention, type RetentionPolicy } from './retention';
import { heldSnapshotNames, rootOf, type DatasetTree } from './tree';

/** Above this share of our snapshots, a run destroys nothing without --force-destroy-lots. */
export const DESTROY_LOTS_FRACTION = 0.25;

export type ExpirePlan =
  | {
      kind: 'plan';
      /** Our snapshots of the root, newest first. */
      ours: string[];
      keep: string[];
      /** Names to destroy recursively, newest first. Held ones are never here. */
      destroy: string[];
      /** Names the rule would expire but a hold protects. */
      held: string[];
      /**
       * Names the rule would expire but that are the newest snapshot of some dataset of the tree (on a
       * received tree after a cut push, a child's newest is where the next push goes on from).
       */
      newest: string[];
      /** Snapshots not named like ours: never touched. */
      foreign: string[];
      /** Set when the valve stopped this run: destroy is then empty. */
      tooMany?: { wanted: number; of: number };
    }
  | { kind: 'future'; snapshots: string[]; now: string };

export function planExpire(tree: DatasetTree, policy: RetentionPolicy, nowMs: number, forceDestroyLots: boolean): ExpirePlan {
  const root = rootOf(tree);
  const names = root ? root.snapshots.map((s) => s.name) : [];
  const ours = names.filter((n) => parseSnapshotTime(n) !== undefined);
  const foreign = names.filter((n) => parseSnapshotTime(n) === undefined);
  const future = ours.filter((n) => (parseSnapshotTime(n) as number) > nowMs);
  if (future.length > 0) return { kind: 'future', snapshots: future, now: new Date(nowMs).toISOString() };

  const retention = planRetention(ours, policy);
  const heldNames = heldSnapshotNames(tree);
  const newestNames = new Set<string>();
  for (const ds of tree.datasets.values()) {
    const last = ds.snapshots[ds.snapshots.length - 1];
    if (last) newestNames.add(last.name);
  }
  const held = retention.destroy.filter((n) => heldNames.has(n));
  const newest = retention.destroy.filter((n) => !heldNames.has(n) && newestNames.has(n));
  const destroy = retention.destroy.filter((n) => !heldNames.has(n) && !newestNames.has(n));
  const plan = { kind: 'plan' as const, ours: retention.keep.concat(retention.destroy).sort().reverse(), keep: retention.keep, destroy, held, newest, foreign };
  if (destroy.length > ours.length * DESTROY_LOTS_FRACTION && !forceDestroyLots) {
    return { ...plan, destroy: [], tooMany: { wanted: destroy.length, of: ours.length } };
  }
  return plan;
}
