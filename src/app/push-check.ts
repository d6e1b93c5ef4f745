// The check after a push: every snapshot the stream carried is on the receiver with the sender's GUID, or the run fails and the base stays.
import { BackupError, ExitCode } from '../core/exit-codes';
import { receiveProblems } from '../core/receive-check';
import type { DatasetTree } from '../core/tree';
import type { Deps } from './deps';

/**
 * Both exit statuses 0 is not proof: list the receiver again and compare every snapshot the stream
 * carried, by name and GUID. On a mismatch the base hold stays where it was.
 */
export function checkReceived(
  deps: Deps,
  sides: { dataset: string; receiveDataset: string; where: string },
  local: DatasetTree,
  after: DatasetTree | undefined,
  base: string | undefined,
  target: string,
  startedAt: ReadonlyMap<string, string | undefined>,
): void {
  const problems = after ? receiveProblems(local, after, base, target, startedAt) : [`${sides.receiveDataset} does not exist`];
  if (problems.length === 0) {
    deps.log.debug(`checked ${sides.where}: every snapshot up to @${target} is there with the sender's GUID`);
    return;
  }
  const kept = base === undefined ? 'no base hold was placed' : `the base hold stays on ${sides.dataset}@${base}`;
  throw new BackupError(
    ExitCode.internal,
    `zfs send and receive both reported success, but ${sides.where} does not match the sender: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; ${kept}; compare "zfs list -t snapshot -o name,guid -r" on both hosts before the next run`,
    problems.slice(1, 20),
  );
}
