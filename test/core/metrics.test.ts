// Table tests of the Prometheus text the runs write: families, labels and their escaping, absent values.
import test from 'ava';
import { escapeLabelValue, renderMetrics } from '../../src/core/metrics';
import type { TreeState } from '../../src/core/run-state';

const escapes: Array<[string, string]> = [
  ['zippy/zippy', 'zippy/zippy'],
  ['a"b', 'a\\"b'],
  ['a\\b', 'a\\\\b'],
  ['a\nb', 'a\\nb'],
  ['\\"\n', '\\\\\\"\\n'],
];
for (const [raw, escaped] of escapes) {
  test(`label value ${JSON.stringify(raw)} is written ${JSON.stringify(escaped)}`, (t) => t.is(escapeLabelValue(raw), escaped));
}

const ok: TreeState = {
  version: 1,
  dataset: 'zippy/zippy',
  lastRun: { startedAt: '2026-11-02T22:45:00.000Z', endedAt: '2026-11-02T22:45:12.500Z', exitCode: 0, actions: ['snapshot', 'expire', 'push'], bytes: 4096 },
  lastSuccessAt: '2026-11-02T22:45:12.500Z',
  local: { snapshots: 40, newest: '2026-11-02T22:45:00Z' },
  destinations: [
    {
      sshDestination: 'offsite',
      receiveDataset: 'offsite/zippy',
      lastPush: { endedAt: '2026-11-02T22:45:12.500Z', exitCode: 0, kind: 'incremental', target: '2026-11-02T22:45:00Z', bytes: 4096, seconds: 1.25, receiver: 'serve' },
      lastSuccessAt: '2026-11-02T22:45:12.500Z',
      offsite: { snapshots: 39, newest: '2026-11-02T22:45:00Z' },
    },
  ],
};

test('a successful run: every family once with HELP and TYPE gauge, labels dataset/destination/receive_dataset, times in seconds', (t) => {
  const text = renderMetrics([ok]);
  const lines = text.trimEnd().split('\n');
  const samples = lines.filter((l) => !l.startsWith('#'));
  t.deepEqual(samples, [
    'cyber_zfs_backup_last_run_start_timestamp_seconds{dataset="zippy/zippy"} 1793659500',
    'cyber_zfs_backup_last_run_end_timestamp_seconds{dataset="zippy/zippy"} 1793659512.5',
    'cyber_zfs_backup_last_run_exit_code{dataset="zippy/zippy"} 0',
    'cyber_zfs_backup_last_run_pushed_bytes{dataset="zippy/zippy"} 4096',
    'cyber_zfs_backup_last_success_timestamp_seconds{dataset="zippy/zippy"} 1793659512.5',
    'cyber_zfs_backup_local_snapshots{dataset="zippy/zippy"} 40',
    'cyber_zfs_backup_local_newest_snapshot_timestamp_seconds{dataset="zippy/zippy"} 1793659500',
    'cyber_zfs_backup_push_last_end_timestamp_seconds{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 1793659512.5',
    'cyber_zfs_backup_push_last_exit_code{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 0',
    'cyber_zfs_backup_push_last_bytes{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 4096',
    'cyber_zfs_backup_push_last_duration_seconds{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 1.25',
    'cyber_zfs_backup_push_last_success_timestamp_seconds{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 1793659512.5',
    'cyber_zfs_backup_offsite_snapshots{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 39',
    'cyber_zfs_backup_offsite_newest_snapshot_timestamp_seconds{dataset="zippy/zippy",destination="offsite",receive_dataset="offsite/zippy"} 1793659500',
  ]);
  for (const name of new Set(samples.map((s) => s.slice(0, s.indexOf('{'))))) {
    t.is(lines.filter((l) => l.startsWith(`# HELP ${name} `)).length, 1, name);
    t.true(lines.includes(`# TYPE ${name} gauge`), name);
  }
  t.true(text.endsWith('\n'));
});

test('a tree that never succeeded has no last-success sample, and its failed push no offsite sample; two trees are grouped per family', (t) => {
  const failed: TreeState = {
    version: 1,
    dataset: 'aa/"odd"',
    lastRun: { startedAt: '2026-11-02T22:45:00.000Z', endedAt: '2026-11-02T22:45:01.000Z', exitCode: 69, actions: ['push'], bytes: 0, error: 'cannot connect' },
    destinations: [{ sshDestination: 'vault', receiveDataset: 'b/c', lastPush: { endedAt: '2026-11-02T22:45:01.000Z', exitCode: 69, bytes: 0, seconds: 0, error: 'cannot connect' } }],
  };
  const lines = renderMetrics([ok, failed]).trimEnd().split('\n');
  t.false(lines.some((l) => l.startsWith('cyber_zfs_backup_last_success_timestamp_seconds{dataset="aa/\\"odd\\""}')));
  t.true(lines.includes('cyber_zfs_backup_last_run_exit_code{dataset="aa/\\"odd\\""} 69'));
  t.true(lines.includes('cyber_zfs_backup_push_last_exit_code{dataset="aa/\\"odd\\"",destination="vault",receive_dataset="b/c"} 69'));
  t.false(lines.some((l) => l.startsWith('cyber_zfs_backup_offsite_snapshots{dataset="aa/')));
  // The text format wants each family's samples together: one TYPE line, then its samples.
  const exit = lines.findIndex((l) => l === '# TYPE cyber_zfs_backup_last_run_exit_code gauge');
  t.deepEqual(lines.slice(exit + 1, exit + 3), ['cyber_zfs_backup_last_run_exit_code{dataset="aa/\\"odd\\""} 69', 'cyber_zfs_backup_last_run_exit_code{dataset="zippy/zippy"} 0']);
});

test('no tree, no text', (t) => t.is(renderMetrics([]), ''));
