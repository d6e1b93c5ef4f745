// The expire action: plan retention on the tree's root, apply the valves, destroy recursively in batches.
import { BackupError, ExitCode } from '../core/exit-codes';
import { planExpire } from '../core/expire-plan';
import type { RetentionPolicy } from '../core/retention';
import { destroyArgs } from '../core/zfs-argv';
import type { Deps } from './deps';

export interface ExpireOutcome {
  destroyed: string[];
  kept: number;
  refusedTooMany: boolean;
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
  if (plan.foreign.length > 0) log.debug({ foreign: plan.foreign.length }, 'snapshots not named by this tool are never expired');
  if (plan.tooMany) {
    log.warn(
      `not expiring ${dataset}: the policy would destroy ${plan.tooMany.wanted} of ${plan.tooMany.of} snapshots (over 25%); check the policy and the clock, then run with --force-destroy-lots to allow it`,
    );
    return { destroyed: [], kept: plan.ours.length, refusedTooMany: true };
  }
  if (plan.destroy.length === 0) {
    log.info(`expire ${dataset}: nothing to destroy (${plan.keep.length} kept)`);
    return { destroyed: [], kept: plan.keep.length, refusedTooMany: false };
  }
  if (options.dryRun) {
    for (const name of plan.destroy) log.info(`dry run: would destroy ${dataset}@${name} recursively`);
    return { destroyed: [], kept: plan.keep.length, refusedTooMany: false };
  }
  const caps = await zfs.capabilities();
  const busy: string[] = [];
  for (const argv of destroyArgs(dataset, plan.destroy, caps)) {
    const result = await zfs.tryRun(argv);
    if (result.exitCode === 0) continue;
    // A hold placed since the listing (zfs-fuse leaves temporary ones after a killed send): keep it.
    if (/dataset is busy|snapshot is held|it has user holds/i.test(result.stderr)) busy.push(argv[argv.length - 1] as string);
    else await zfs.run(argv, `zfs ${argv.join(' ')}`);
  }
  for (const name of busy) log.warn(`kept ${name}: zfs says it is busy or held; it is expired on a later run once released`);
  const destroyed = busy.length === 0 ? plan.destroy : plan.destroy.filter((n) => !busy.some((b) => b.includes(n)));
  log.info(`expire ${dataset}: destroyed ${destroyed.length}, kept ${plan.ours.length - destroyed.length}`);
  return { destroyed, kept: plan.ours.length - destroyed.length, refusedTooMany: false };
}
