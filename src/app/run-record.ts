// Records each run's outcome: merges it into the tree's state file and rewrites the metrics file, without ever changing the run's exit code.
import { BackupError, ExitCode, ReportedFailures } from '../core/exit-codes';
import { renderMetrics } from '../core/metrics';
import { mergeRun, sideFromNames, type PushRecord, type SideFacts } from '../core/run-state';
import { rootSnapshotsArgs } from '../core/zfs-argv';
import { ZfsOutputError } from '../core/zfs-errors';
import type { StateFiles } from '../io/state-files';
import type { Deps } from './deps';
import type { RunOptions } from './options';

/** What a run knows of itself as it goes: filled in by runBackup. */
export interface RunFacts {
  startedAt: number;
  pushes: PushRecord[];
  /** The lines of failures reported as they happened (several destinations, an expire refusal before a push). */
  reported: string[];
  /** The root's snapshots as the run last listed them, after its last destroy (else they are listed for the record). */
  local?: SideFacts;
}

export interface RecordDeps extends Deps {
  files: StateFiles;
  /** The Prometheus textfile to rewrite, if any. */
  metricsFile: string | undefined;
}

/** The exit status a failure ends the run with (as the CLI maps it) and its one line. */
export function failureOf(error: unknown): { exitCode: number; message: string } | undefined {
  if (error === undefined) return undefined;
  if (error instanceof BackupError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof ZfsOutputError) return { exitCode: ExitCode.internal, message: `cannot read what zfs printed (${error.message})` };
  return { exitCode: ExitCode.internal, message: `internal error: ${(error as Error)?.message ?? String(error)}` };
}

async function localFacts(deps: RecordDeps, dataset: string): Promise<SideFacts | undefined> {
  try {
    const listed = await deps.zfs.tryRun(rootSnapshotsArgs(dataset));
    if (listed.exitCode !== 0) return undefined;
    const names = listed.stdout.split('\n').filter((l) => l.startsWith(`${dataset}@`)).map((l) => l.slice(dataset.length + 1));
    return sideFromNames(names);
  } catch {
    return undefined;
  }
}

/** A user without write access (not root, delegated zfs permissions) is told with -v; anything else is a warning. */
function notRecorded(deps: RecordDeps, error: unknown, message: string): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') deps.log.info(`${message} (set STATE_DIRECTORY and --metrics-file to places this user may write)`);
  else deps.log.warn(message);
}

/**
 * Writes the run's outcome to the state file (atomically), then the metrics of every tree whose runs
 * write the same metrics file. A failure to record is a warning: the backup's own outcome stands.
 */
export async function recordRun(deps: RecordDeps, options: Pick<RunOptions, 'dataset' | 'actions'>, facts: RunFacts, failure: unknown): Promise<void> {
  const failed = failureOf(failure);
  // Failures already reported one by one are recorded by their own lines, not by their count.
  if (failed && failure instanceof ReportedFailures && facts.reported.length > 0) failed.message = facts.reported.join('; ');
  const local = facts.local ?? (await localFacts(deps, options.dataset));
  try {
    let previous;
    try {
      previous = deps.files.read(options.dataset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw error;
      deps.log.warn(`the state file of ${options.dataset} in ${deps.files.dir} cannot be read (${(error as Error).message}); starting it afresh`);
    }
    const state = mergeRun(previous, {
      dataset: options.dataset,
      actions: options.actions,
      startedAt: facts.startedAt,
      endedAt: deps.now(),
      exitCode: failed?.exitCode ?? ExitCode.ok,
      ...(failed ? { error: failed.message } : {}),
      ...(local ? { local } : {}),
      pushes: facts.pushes,
      ...(deps.metricsFile === undefined ? {} : { metricsFile: deps.metricsFile }),
    });
    deps.files.write(state);
    deps.log.debug(`recorded the run's outcome in ${deps.files.dir}`);
  } catch (error) {
    notRecorded(deps, error, `could not record this run's outcome in ${deps.files.dir}: ${(error as Error).message}; status and the metrics still show the run before`);
    return;
  }
  if (deps.metricsFile === undefined) return;
  try {
    const states = deps.files.readAll().filter((s) => s.metricsFile === deps.metricsFile);
    deps.files.writeMetrics(deps.metricsFile, renderMetrics(states));
  } catch (error) {
    notRecorded(deps, error, `could not write the metrics file ${deps.metricsFile}: ${(error as Error).message}; node_exporter still shows the run before`);
  }
}
