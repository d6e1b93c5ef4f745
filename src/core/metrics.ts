// Prometheus text-format metrics for node_exporter's textfile collector, rendered from the trees' state files.
import { parseSnapshotTime } from './names';
import type { DestinationState, TreeState } from './run-state';

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

const seconds = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
};

const snapshotSeconds = (name: string | undefined): number | undefined => {
  const ms = name === undefined ? undefined : parseSnapshotTime(name);
  return ms === undefined ? undefined : ms / 1000;
};

interface Family<T> {
  name: string;
  help: string;
  value: (item: T) => number | undefined;
}

const TREE: Family<TreeState>[] = [
  { name: 'last_run_start_timestamp_seconds', help: 'When the last run (snapshot, expire and/or push) of the tree started.', value: (s) => seconds(s.lastRun.startedAt) },
  { name: 'last_run_end_timestamp_seconds', help: 'When the last run of the tree ended.', value: (s) => seconds(s.lastRun.endedAt) },
  { name: 'last_run_exit_code', help: 'Exit status of the last run of the tree (0 ok; see cyber-zfs-backup(8)).', value: (s) => s.lastRun.exitCode },
  { name: 'last_run_pushed_bytes', help: 'Bytes the last run pushed, over all destinations.', value: (s) => s.lastRun.bytes },
  { name: 'last_success_timestamp_seconds', help: 'When the last run of the tree that exited 0 ended.', value: (s) => seconds(s.lastSuccessAt) },
  { name: 'local_snapshots', help: "Snapshots of the tree's root dataset on this host, after the last run.", value: (s) => s.local?.snapshots },
  { name: 'local_newest_snapshot_timestamp_seconds', help: 'Time of the newest snapshot of ours on this host (from its name), after the last run.', value: (s) => snapshotSeconds(s.local?.newest) },
];

const DESTINATION: Family<DestinationState>[] = [
  { name: 'push_last_end_timestamp_seconds', help: 'When the last push to the destination ended.', value: (d) => seconds(d.lastPush.endedAt) },
  { name: 'push_last_exit_code', help: 'Exit status of the last push to the destination (0 ok).', value: (d) => d.lastPush.exitCode },
  { name: 'push_last_bytes', help: 'Bytes sent by the last push to the destination.', value: (d) => d.lastPush.bytes },
  { name: 'push_last_duration_seconds', help: 'Seconds the last push to the destination spent streaming.', value: (d) => d.lastPush.seconds },
  { name: 'push_last_success_timestamp_seconds', help: 'When the last successful push to the destination ended.', value: (d) => seconds(d.lastSuccessAt) },
  { name: 'offsite_snapshots', help: "Snapshots of the offsite copy's root dataset, after the last successful push.", value: (d) => d.offsite?.snapshots },
  { name: 'offsite_newest_snapshot_timestamp_seconds', help: "Time of the offsite copy's newest snapshot of ours (from its name), after the last successful push.", value: (d) => snapshotSeconds(d.offsite?.newest) },
];

const PREFIX = 'cyber_zfs_backup_';

/** The metrics of every tree, one family after the other (HELP and TYPE once each), trees by name. */
export function renderMetrics(states: readonly TreeState[]): string {
  const trees = [...states].sort((a, b) => a.dataset.localeCompare(b.dataset));
  const lines: string[] = [];
  const family = <T>(f: Family<T>, items: ReadonlyArray<readonly [T, string]>): void => {
    const samples = items.flatMap(([item, l]) => {
      const value = f.value(item);
      return value === undefined ? [] : [`${PREFIX}${f.name}${l} ${value}`];
    });
    if (samples.length === 0) return;
    lines.push(`# HELP ${PREFIX}${f.name} ${f.help}`, `# TYPE ${PREFIX}${f.name} gauge`, ...samples);
  };
  const treeItems = trees.map((s) => [s, labels([['dataset', s.dataset]])] as const);
  const destinationItems = trees.flatMap((s) =>
    s.destinations.map((d) => [d, labels([['dataset', s.dataset], ['destination', d.sshDestination], ['receive_dataset', d.receiveDataset]])] as const),
  );
  for (const f of TREE) family(f, treeItems);
  for (const f of DESTINATION) family(f, destinationItems);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
