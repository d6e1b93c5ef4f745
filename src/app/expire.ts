// The expire action: plan retention on the tree's root, apply the valves, destroy recursively in batches.
import { BackupError, ExitCode } from '../core/exit-codes';
import { planExpire } from '../core/expire-plan';
import type { RetentionPolicy } from '../core/retention';
import { withoutSnapshots, type DatasetTree } from '../core/tree';
import { destroyBatches, type DestroyBatch } from '../core/zfs-argv';
import { classifyZfsError, destroyBlockedReason, firstErrorLine } from '../core/zfs-errors';
import type { Deps } from './deps';

export interface ExpireOutcome {
  destroyed: string[];
  kept: number;
  refusedTooMany: boolean;
  /** The tree as expire listed it, less what it destroyed: the same run's push plans on it instead of listing again. */
  remaining: DatasetTree;
}

export async function expireSnapshots(
  deps: Deps,
  dataset: string,
  policy: RetentionPolicy,
  options: { dryRun: boolean; forceDestroyLots: boolean },
): Promise<ExpireOutcome> {
  const { zfs, log } = deps;
  const tree = await zfs.tree(dataset);
  if (!tree) throw new BackupError(ExitCode.noInput, `dataset ${dataset} does not exist; check --dataset against "zfs list"`);
  const plan = planExpire(tree, policy, deps.now(), options.forceDestroyLots);
  if (plan.kind === 'future') {
    throw new BackupError(
      ExitCode.dataRefused,
      `refusing to expire ${dataset}: ${plan.snapshots.length} snapshot(s) are dated after now (${plan.now}), e.g. @${plan.snapshots[0]}; fix the system clock or rename those snapshots; nothing was destroyed`,
    );
  }
  for (const name of plan.held) log.info(`keeping ${dataset}@${name}: it is held (the replication base, or another hold)`);
  for (const name of plan.newest) log.info(`keeping ${dataset}@${name}: it is the newest snapshot of a dataset in the tree (where the next push goes on from)`);
  if (plan.foreign.length > 0) log.debug({ foreign: plan.foreign.length }, 'snapshots not named by this tool are never expired');
  if (plan.tooMany) {
    log.warn(
      `not expiring ${dataset}: the policy would destroy ${plan.tooMany.wanted} of ${plan.tooMany.of} snapshots (over 25%); check the policy and the clock, then run with --force-destroy-lots to allow it`,
    );
    return { destroyed: [], kept: plan.ours.length, refusedTooMany: true, remaining: tree };
  }
  if (plan.destroy.length === 0) {
    log.info(`expire ${dataset}: nothing to destroy (${plan.keep.length} kept)`);
    return { destroyed: [], kept: plan.keep.length, refusedTooMany: false, remaining: tree };
  }
  if (options.dryRun) {
    for (const name of plan.destroy) log.info(`dry run: would destroy ${dataset}@${name} recursively`);
    return { destroyed: [], kept: plan.keep.length, refusedTooMany: false, remaining: tree };
  }
  const caps = await zfs.capabilities();
  const destroyed: string[] = [];
  const kept: Array<{ name: string; why: string }> = [];
  const destroy = async (batch: DestroyBatch): Promise<void> => {
    const result = await zfs.tryRun(batch.argv);
    if (result.exitCode === 0) return void destroyed.push(...batch.snapshots);
    const why = destroyBlockedReason(result.stderr);
    if (why === undefined) {
      const failure = classifyZfsError(result.stderr, 'local');
      const done = destroyed.length > 0 ? ` (${destroyed.length} destroyed before it)` : '';
      const more = batch.snapshots.length > 1 ? ` (and ${batch.snapshots.length - 1} more in one command)` : '';
      throw new BackupError(failure.exitCode, `zfs destroy -r ${dataset}@${batch.snapshots[0]}${more} failed${done}: ${firstErrorLine(result.stderr)}; ${failure.hint}`);
    }
    // One blocked snapshot fails a whole comma list: destroy the others one by one.
    if (batch.snapshots.length > 1) {
      for (const one of destroyBatches(dataset, batch.snapshots, { destroyCommaList: false })) await destroy(one);
    } else kept.push({ name: batch.snapshots[0] as string, why });
  };
  for (const batch of destroyBatches(dataset, plan.destroy, caps)) await destroy(batch);
  for (const { name, why } of kept) {
    const next = why === 'cloned' ? 'promote or destroy the clone (zfs get clones) to let it expire' : 'it is expired on a later run once released';
    log.warn(`kept ${dataset}@${name}: zfs will not destroy it (${why}); ${next}`);
  }
  log.info(`expire ${dataset}: destroyed ${destroyed.length}, kept ${plan.ours.length - destroyed.length}`);
  return { destroyed, kept: plan.ours.length - destroyed.length, refusedTooMany: false, remaining: withoutSnapshots(tree, destroyed) };
}
