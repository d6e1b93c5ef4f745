// One backup run: take the lock, check zfs and the dataset, then snapshot, expire and push in that order.
import { BackupError, ExitCode } from '../core/exit-codes';
import { acquireLock } from '../io/lock';
import type { Deps } from './deps';
import { expireSnapshots } from './expire';
import type { RunOptions } from './options';
import { pushTree, type PushDeps } from './push';
import { takeSnapshot } from './snapshot';

export interface RunDeps extends Deps, PushDeps {
  lockDir: string;
}

/**
 * Runs the chosen actions. A refusal by expire (future snapshots) does not stop the push, so the
 * offsite copy stays current; the run still ends with that refusal's exit code.
 */
export async function runBackup(deps: RunDeps, options: RunOptions): Promise<void> {
  const lock = acquireLock(deps.lockDir, options.dataset);
  try {
    await deps.zfs.capabilities();
    if (!(await deps.zfs.exists(options.dataset))) {
      throw new BackupError(ExitCode.noInput, `dataset ${options.dataset} does not exist on this host; check --dataset against "zfs list"`);
    }
    let deferred: BackupError | undefined;
    if (options.actions.includes('snapshot')) await takeSnapshot(deps, options.dataset, options.dryRun);
    if (options.actions.includes('expire')) {
      try {
        await expireSnapshots(deps, options.dataset, options.retention, options);
      } catch (error) {
        if (!(error instanceof BackupError) || error.exitCode !== ExitCode.dataRefused || !options.actions.includes('push')) throw error;
        deps.log.error(error.message);
        deferred = error;
      }
    }
    if (options.actions.includes('push')) await pushTree(deps, options);
    if (deferred) throw deferred;
  } finally {
    lock.release();
  }
}
