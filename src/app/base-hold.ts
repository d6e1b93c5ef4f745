// The replication base pin: a recursive `zfs hold` whose tag names the destination, moved forward after each push or restore.
import { BackupError } from '../core/exit-codes';
import type { DatasetTree } from '../core/tree';
import { holdArgs, releaseArgs } from '../core/zfs-argv';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { Deps } from './deps';

/** The hold tag that pins the replication base; it names the destination and the receive dataset. */
export function holdTag(target: { sshDestination: string; receiveDataset: string }): string {
  return `cyber-zfs-backup:${target.sshDestination}:${target.receiveDataset}`;
}

/** Pins `snapshot` (recursively) for this destination and releases our tag from every other snapshot. */
export async function moveHold(deps: Deps, tag: string, dataset: string, snapshot: string, tree: DatasetTree, after = 'the push succeeded'): Promise<void> {
  const hold = await deps.zfs.tryRun(holdArgs(tag, dataset, snapshot));
  if (hold.exitCode !== 0 && !/tag already exists/i.test(hold.stderr)) {
    throw new BackupError(classifyZfsError(hold.stderr, 'local').exitCode, `${after}, but holding ${dataset}@${snapshot} failed: ${firstErrorLine(hold.stderr)}; expire could destroy the base: run the push again`);
  }
  const candidates = new Set<string>();
  for (const ds of tree.datasets.values()) for (const s of ds.snapshots) if (s.userrefs > 0 && s.name !== snapshot) candidates.add(s.name);
  for (const name of candidates) {
    const release = await deps.zfs.tryRun(releaseArgs(tag, dataset, name));
    if (release.exitCode === 0) deps.log.info(`released the old base hold on ${dataset}@${name}`);
    else if (!/no such tag/i.test(release.stderr)) deps.log.warn(`could not release ${tag} from ${dataset}@${name}: ${firstErrorLine(release.stderr)}`);
  }
}
