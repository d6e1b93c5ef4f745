// The replication base pin: a recursive `zfs hold` whose tag names the destination, moved forward after each push or restore.
import { BackupError } from '../core/exit-codes';
import { heldSnapshotNames, type DatasetTree } from '../core/tree';
import { holdArgs, releaseArgs } from '../core/zfs-argv';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { Deps } from './deps';

/** The hold tag that pins the replication base; it names the destination and the receive dataset. */
export function holdTag(target: { sshDestination: string; receiveDataset: string }): string {
  return `cyber-zfs-backup:${target.sshDestination}:${target.receiveDataset}`;
}

/**
 * Pins `snapshot` (recursively) for this destination. A push starts it once zfs send has handed on
 * its last byte, beside the receiver finishing and the check (each hold waits for a transaction
 * group on OpenZFS); a hold on a snapshot the push then fails to deliver only keeps it a run
 * longer, and the next move releases it.
 */
export async function holdBase(deps: Deps, tag: string, dataset: string, snapshot: string, after = 'the push succeeded'): Promise<void> {
  const hold = await deps.zfs.tryRun(holdArgs(tag, dataset, snapshot));
  if (hold.exitCode !== 0 && !/tag already exists/i.test(hold.stderr)) {
    throw new BackupError(classifyZfsError(hold.stderr, 'local').exitCode, `${after}, but holding ${dataset}@${snapshot} failed: ${firstErrorLine(hold.stderr)}; expire could destroy the base: run the push again`);
  }
}

/** Releases our tag from every held snapshot of `tree` but `snapshot`, all at once; only once `snapshot` is held and known to be offsite. */
export async function releaseOldBases(deps: Deps, tag: string, dataset: string, snapshot: string, tree: DatasetTree): Promise<void> {
  const others = [...heldSnapshotNames(tree)].filter((name) => name !== snapshot);
  await Promise.all(
    others.map(async (name) => {
      const release = await deps.zfs.tryRun(releaseArgs(tag, dataset, name));
      if (release.exitCode === 0) deps.log.info(`released the old base hold on ${dataset}@${name}`);
      else if (!/no such tag/i.test(release.stderr)) deps.log.warn(`could not release ${tag} from ${dataset}@${name}: ${firstErrorLine(release.stderr)}`);
    }),
  );
}

/** Pins `snapshot` (recursively) for this destination, then releases our tag from every other snapshot. */
export async function moveHold(deps: Deps, tag: string, dataset: string, snapshot: string, tree: DatasetTree, after = 'the push succeeded'): Promise<void> {
  await holdBase(deps, tag, dataset, snapshot, after);
  await releaseOldBases(deps, tag, dataset, snapshot, tree);
}
