// Where a run records its outcome: $STATE_DIRECTORY (else /var/lib/cyber-zfs-backup) and the metrics file; wired from the environment.
import { recordRun, type RunFacts } from '../app/run-record';
import type { Deps } from '../app/deps';
import { defaultMetricsFile, makeStateFiles, stateDirectory } from '../io/state-files';
import type { CliOptions } from './args';

export function recorder(deps: Deps, options: CliOptions): (facts: RunFacts, failure: unknown) => Promise<void> {
  const files = makeStateFiles(stateDirectory(process.env.STATE_DIRECTORY), deps.now);
  const metricsFile = options.metricsFile ?? defaultMetricsFile();
  return (facts, failure) => recordRun({ ...deps, files, metricsFile }, options, facts, failure);
}
