// The snapshot action: one recursive `zfs snapshot -r` named for the current UTC second.
import { snapshotNameFor } from '../core/names';
import { snapshotArgs } from '../core/zfs-argv';
import type { Deps } from './deps';

export async function takeSnapshot(deps: Deps, dataset: string, dryRun: boolean): Promise<string> {
  const name = snapshotNameFor(deps.now());
  if (dryRun) {
    deps.log.info(`dry run: would take ${dataset}@${name} recursively`);
    return name;
  }
  await deps.zfs.run(snapshotArgs(dataset, name), `zfs snapshot -r ${dataset}@${name}`);
  deps.log.info(`took ${dataset}@${name} recursively`);
  return name;
}
