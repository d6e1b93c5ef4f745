// One backup run: take the lock, check zfs and the dataset, then snapshot, expire and push in that order.
import { BackupError, ExitCode, ReportedFailures, worstExitCode } from '../core/exit-codes';
import { sideOfTree } from '../core/run-state';
import type { DatasetTree } from '../core/tree';
import { acquireLock } from '../io/lock';
import type { Deps } from './deps';
import { expireSnapshots } from './expire';
import type { RunOptions } from './options';
import { pushTree, type PushDeps } from './push';
import { failureOf, type RunFacts } from './run-record';
import { runRestore } from './restore';
import { takeSnapshot } from './snapshot';

export interface RunDeps extends Deps, PushDeps {
  lockDir: string;
  /** Prints one failure's line(s) at once (with several destinations, each failure has its own). */
  report: (error: BackupError) => void;
  /** Records the run's outcome (state file, metrics) while the lock is still held; never throws. */
  record?: (facts: RunFacts, failure: unknown) => Promise<void>;
}

/**
 * Pushes to every destination in turn, all from one listing of the local tree (expire's when it
 * ran); one failing does not stop the others. With one destination its failure goes up as it is;
 * with several, each is reported as it happens and the run ends with the worst exit code.
 */
async function pushEverywhere(deps: RunDeps, options: RunOptions, facts: RunFacts, listed: DatasetTree | undefined): Promise<BackupError | undefined> {
  const failures: BackupError[] = [];
  // The local tree is listed once per run: by expire, or by the first push (beside its connection).
  // The pushes change nothing in it but holds, and a hold move tolerates stale hold counts.
  let local: Promise<DatasetTree | undefined> | undefined = listed ? Promise.resolve(listed) : undefined;
  for (const destination of options.destinations) {
    if (!local) {
      local = deps.zfs.tree(options.dataset);
      // A push that fails before it reads the listing must not leave its failure unhandled.
      local.catch(() => undefined);
    }
    try {
      const outcome = await pushTree(deps, { ...options, ...destination }, local);
      facts.pushes.push({ ...destination, exitCode: ExitCode.ok, outcome });
    } catch (error) {
      const failed = failureOf(error) as { exitCode: number; message: string };
      facts.pushes.push({ ...destination, exitCode: failed.exitCode, error: failed.message });
      if (!(error instanceof BackupError) || options.destinations.length === 1) throw error;
      // Each line says which copy it is about, also when the failure itself names only the host.
      const where = `${destination.sshDestination}:${destination.receiveDataset}`;
      const named = error.message.includes(where) ? error : new BackupError(error.exitCode, `push to ${where}: ${error.message}`, error.details);
      deps.report(named);
      failures.push(named);
    }
  }
  // The pushes destroy nothing: their listing is the root as the run leaves it, for the record.
  const tree = await local?.catch(() => undefined);
  if (tree) facts.local = sideOfTree(tree);
  return failures.length === 0 ? undefined : new ReportedFailures(worstExitCode(failures.map((f) => f.exitCode)), failures.length);
}

/**
 * Runs the chosen actions. A refusal by expire (future snapshots) does not stop the push, so the
 * offsite copy stays current; the run still ends with that refusal's exit code.
 */
export async function runBackup(deps: RunDeps, options: RunOptions): Promise<void> {
  if (options.actions.includes('restore')) {
    await runRestore(deps, options);
    return;
  }
  const lock = acquireLock(deps.lockDir, options.dataset);
  const facts: RunFacts = { startedAt: deps.now(), pushes: [], reported: [] };
  let failure: unknown;
  // What each failure said, for the record (the run's own error then only counts them).
  const report = deps.report;
  deps = { ...deps, report: (error) => (facts.reported.push(error.message), report(error)) };
  try {
    // Both at once (each zfs command costs a process and a round trip to the kernel or zfs-fuse);
    // a zfs that does not work is reported before a dataset that is missing.
    const [caps, exists] = await Promise.allSettled([deps.zfs.capabilities(), deps.zfs.exists(options.dataset)]);
    if (caps.status === 'rejected') throw caps.reason;
    if (exists.status === 'rejected') throw exists.reason;
    if (!exists.value) {
      throw new BackupError(ExitCode.noInput, `dataset ${options.dataset} does not exist on this host; check --dataset against "zfs list"`);
    }
    let deferred: BackupError | undefined;
    let listed: DatasetTree | undefined;
    if (options.actions.includes('snapshot')) await takeSnapshot(deps, options.dataset, options.dryRun);
    if (options.actions.includes('expire')) {
      try {
        listed = (await expireSnapshots(deps, options.dataset, options.retention, options)).remaining;
        facts.local = sideOfTree(listed);
      } catch (error) {
        if (!(error instanceof BackupError) || error.exitCode !== ExitCode.dataRefused || !options.actions.includes('push')) throw error;
        deps.report(error);
        deferred = error;
      }
    }
    let pushed: BackupError | undefined;
    if (options.actions.includes('push')) {
      try {
        pushed = await pushEverywhere(deps, options, facts, listed);
      } catch (error) {
        if (!deferred || !(error instanceof BackupError)) throw error;
        deps.report(error);
        pushed = new ReportedFailures(error.exitCode, 1);
      }
    }
    if (deferred) throw new ReportedFailures(worstExitCode([deferred.exitCode, pushed?.exitCode ?? ExitCode.ok]), pushed ? 2 : 1);
    if (pushed) throw pushed;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      // A dry run changed nothing, so it leaves the record of the last real run as it was.
      if (deps.record && !options.dryRun) await deps.record(facts, failure);
    } finally {
      lock.release();
    }
  }
}
