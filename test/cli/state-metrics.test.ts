// Integration: every run records its outcome in $STATE_DIRECTORY and rewrites the Prometheus textfile; promtool accepts it; a run killed mid-write leaves a valid file.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRun, renderTreeState, stateFileName, type TreeState } from '../../src/core/run-state';
import { CLI, runCli, type CliResult } from '../bed/cli';
import { useBed } from '../bed/fixture';
import { zfs } from '../bed/pools';
import { scratchDir } from '../bed/scratch';
import { freePort } from '../bed/sshd';

const bed = useBed(test);

/** `promtool check metrics` on the text; the test fails (never skips) when promtool is missing. */
function promtool(t: ExecutionContext, text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) {
    t.fail(`promtool cannot run (${r.error.message}): install Debian's prometheus package (sudo bash test/setup.sh does)`);
    return;
  }
  t.is(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  t.is(r.stdout + r.stderr, '', 'promtool has no lint complaint');
}

/** Runs the CLI with the umask the service has (UMask=0077). */
function withServiceUmask<T>(run: () => T): T {
  const old = process.umask(0o077);
  try {
    return run();
  } finally {
    process.umask(old);
  }
}

const sample = (text: string, metric: string): string | undefined => text.split('\n').find((l) => l.startsWith(metric))?.split(' ').pop();

test('each run records its outcome (state file and metrics, mode 0644 under UMask=0077); promtool accepts the metrics after a successful and after a failed run; a dry run records nothing', async (t) => {
  const localPool = bed.pool('czbsm');
  const receiverPool = bed.pool('czbsmr');
  const local = `${localPool.name}/host`;
  zfs('create', local);
  zfs('create', `${local}/a`);
  zfs('create', `${receiverPool.name}/offsite`);
  zfs('snapshot', '-r', `${local}@2026-11-01T22:45:00Z`);
  const receive = `${receiverPool.name}/offsite/host`;
  const stateDir = scratchDir(t, 'czb-sm-state-');
  const metricsFile = join(scratchDir(t, 'czb-sm-metrics-'), 'cyber-zfs-backup.prom');
  const run = (config: string, ...args: string[]): CliResult =>
    withServiceUmask(() => runCli(['--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', config, '--metrics-file', metricsFile, ...args], { env: { STATE_DIRECTORY: stateDir } }));
  const stateFile = join(stateDir, stateFileName(local));
  const readState = () => JSON.parse(readFileSync(stateFile, 'utf8')) as TreeState;

  const ok = run(bed.sshd.config, '--force-non-incremental');
  t.is(ok.code, 0, ok.stderr);
  const first = readState();
  t.is(first.dataset, local);
  t.deepEqual([first.lastRun.exitCode, first.lastRun.actions, first.lastSuccessAt], [0, ['snapshot', 'expire', 'push'], first.lastRun.endedAt]);
  t.true(Date.parse(first.lastRun.endedAt) >= Date.parse(first.lastRun.startedAt));
  t.is(first.local?.snapshots, 2, 'the listing after the run: the old snapshot and the one this run took');
  const taken = first.local?.newest ?? '';
  t.regex(taken, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const pushed = first.destinations[0];
  t.deepEqual([pushed?.sshDestination, pushed?.receiveDataset, pushed?.lastPush.exitCode, pushed?.lastPush.kind, pushed?.lastPush.target], ['offsite', receive, 0, 'full', taken]);
  t.true((pushed?.lastPush.bytes ?? 0) > 0);
  t.deepEqual(pushed?.offsite, { snapshots: 2, newest: taken });
  t.is(statSync(stateFile).mode & 0o777, 0o644);
  t.is(statSync(metricsFile).mode & 0o777, 0o644, 'readable by user prometheus despite UMask=0077');
  const okMetrics = readFileSync(metricsFile, 'utf8');
  promtool(t, okMetrics);
  const labels = `{dataset="${local}"}`;
  const destLabels = `{dataset="${local}",destination="offsite",receive_dataset="${receive}"}`;
  t.is(sample(okMetrics, `cyber_zfs_backup_last_run_exit_code${labels}`), '0');
  t.is(sample(okMetrics, `cyber_zfs_backup_last_success_timestamp_seconds${labels}`), String(Date.parse(first.lastRun.endedAt) / 1000));
  t.is(sample(okMetrics, `cyber_zfs_backup_local_snapshots${labels}`), '2');
  t.is(sample(okMetrics, `cyber_zfs_backup_local_newest_snapshot_timestamp_seconds${labels}`), String(Date.parse(taken) / 1000));
  t.is(sample(okMetrics, `cyber_zfs_backup_offsite_snapshots${destLabels}`), '2');
  t.is(sample(okMetrics, `cyber_zfs_backup_push_last_bytes${destLabels}`), String(pushed?.lastPush.bytes));

  const down = bed.sshd.writeConfig('cfg.down', [`Port ${await freePort()}`]);
  const failed = run(down, '--action', 'push');
  t.is(failed.code, 69, failed.stderr);
  const second = readState();
  t.deepEqual([second.lastRun.exitCode, second.lastRun.actions, second.lastSuccessAt], [69, ['push'], first.lastSuccessAt]);
  t.regex(second.lastRun.error ?? '', /cannot connect/);
  t.deepEqual([second.destinations[0]?.lastPush.exitCode, second.destinations[0]?.lastSuccessAt, second.destinations[0]?.offsite], [69, pushed?.lastSuccessAt, pushed?.offsite]);
  const failedMetrics = readFileSync(metricsFile, 'utf8');
  promtool(t, failedMetrics);
  t.is(sample(failedMetrics, `cyber_zfs_backup_last_run_exit_code${labels}`), '69');
  t.is(sample(failedMetrics, `cyber_zfs_backup_push_last_exit_code${destLabels}`), '69');
  t.is(sample(failedMetrics, `cyber_zfs_backup_last_success_timestamp_seconds${labels}`), sample(okMetrics, `cyber_zfs_backup_last_success_timestamp_seconds${labels}`));
  t.is(sample(failedMetrics, `cyber_zfs_backup_offsite_snapshots${destLabels}`), '2');

  // Status reads the last run from the same state file: the copy is current, the last run failed.
  const status = runCli(['--action', 'status', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config], { env: { STATE_DIRECTORY: stateDir } });
  t.is(status.code, 1, status.stdout + status.stderr);
  t.regex(status.stdout.split('\n')[0] ?? '', new RegExp(`^CYBER-ZFS-BACKUP WARNING - the last run \\(${second.lastRun.endedAt.replace(/\./g, '\\.')}\\) ended with exit 69: cannot connect`));

  // Two destinations, one down: each has its own record and labels; the run's line is the failure's own.
  const both = join(bed.sshd.dir, 'cfg.both');
  writeFileSync(both, readFileSync(bed.sshd.config, 'utf8') + readFileSync(bed.sshd.writeConfig('cfg.vault', [`Port ${await freePort()}`], 'vault'), 'utf8'));
  const two = run(both, '--action', 'push', '--ssh-destination', 'offsite', 'vault');
  t.is(two.code, 69, two.stderr);
  const third = readState();
  t.deepEqual(third.destinations.map((d) => [d.sshDestination, d.lastPush.exitCode]), [['offsite', 0], ['vault', 69]]);
  t.regex(third.lastRun.error ?? '', /^push to vault:\S+: cannot connect to vault \(root@\S+\): /);
  const twoMetrics = readFileSync(metricsFile, 'utf8');
  promtool(t, twoMetrics);
  t.is(sample(twoMetrics, `cyber_zfs_backup_push_last_exit_code${destLabels}`), '0');
  t.is(sample(twoMetrics, `cyber_zfs_backup_push_last_exit_code{dataset="${local}",destination="vault",receive_dataset="${receive}"}`), '69');

  const before = [readFileSync(stateFile, 'utf8'), readFileSync(metricsFile, 'utf8')];
  const dry = run(bed.sshd.config, '--dry-run');
  t.is(dry.code, 0, dry.stderr);
  t.deepEqual([readFileSync(stateFile, 'utf8'), readFileSync(metricsFile, 'utf8')], before, 'a dry run changed nothing, so it records nothing');
});

test('a run killed while it writes the metrics file leaves a whole file, the old one or the new, never a part; a temp file a dead run left is removed later', async (t) => {
  const pool = bed.pool('czbsk');
  const dataset = `${pool.name}/host`;
  zfs('create', dataset);
  const stateDir = scratchDir(t, 'czb-sk-state-');
  const metricsDir = scratchDir(t, 'czb-sk-metrics-');
  const metricsFile = join(metricsDir, 'cyber-zfs-backup.prom');
  // Many trees write the same metrics file, so that it is some megabytes and its write takes a while.
  const template = mergeRun(undefined, {
    dataset: 'x',
    actions: ['snapshot', 'expire', 'push'],
    startedAt: Date.UTC(2026, 10, 1),
    endedAt: Date.UTC(2026, 10, 1, 0, 1),
    exitCode: 0,
    local: { snapshots: 40, newest: '2026-11-01T00:00:00Z' },
    pushes: [{ sshDestination: 'offsite', receiveDataset: 'offsite/x', exitCode: 0, outcome: { kind: 'incremental', target: '2026-11-01T00:00:00Z', base: undefined, bytes: 1, seconds: 1, receiver: 'plain', offsite: { snapshots: 40, newest: '2026-11-01T00:00:00Z' } } }],
    metricsFile,
  });
  for (let i = 0; i < 4000; i += 1) {
    const dataset = `pool${i}/some/long/dataset/name/for/the/tree/number/${i}`;
    writeFileSync(join(stateDir, stateFileName(dataset)), renderTreeState({ ...template, dataset, destinations: template.destinations.map((d) => ({ ...d, receiveDataset: `offsite/host${i}` })) }));
  }
  const args = ['--action', 'snapshot', '--dataset', dataset, '--metrics-file', metricsFile];
  const good = runCli(args, { env: { STATE_DIRECTORY: stateDir } });
  t.is(good.code, 0, good.stderr);
  const versions = new Set([readFileSync(metricsFile, 'utf8')]);
  t.true([...versions][0]!.length > 3_000_000, `the metrics file is ${[...versions][0]!.length} bytes`);

  const temps = () => readdirSync(metricsDir).filter((n) => n.endsWith('.tmp'));
  let midWrite = 0;
  for (let attempt = 0; attempt < 6 && midWrite === 0; attempt += 1) {
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new snapshot name
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, STATE_DIRECTORY: stateDir }, stdio: 'ignore' });
    const watcher = watch(metricsDir, (_event, name) => {
      if (name && String(name).endsWith('.tmp')) child.kill('SIGKILL');
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, s) => resolve(s)));
    watcher.close();
    const text = readFileSync(metricsFile, 'utf8');
    t.true(text.endsWith('\n') && /^# HELP /.test(text), 'the file is whole');
    const left = temps();
    t.log(`attempt ${attempt + 1}: ${signal ?? 'not killed'}, ${left.length} temp file(s) left, file ${versions.has(text) ? 'as before' : 'new'}`);
    if (signal === 'SIGKILL' && left.length > 0) {
      midWrite += 1;
      t.true(versions.has(text), 'killed mid-write: the file is the previous one, byte for byte');
      promtool(t, text);
    }
    versions.add(text);
  }
  t.is(midWrite, 1, 'one run was killed while its temp file was being written');

  // A dead run's temp file is removed by a later run once it is old.
  const left = temps();
  for (const name of left) utimesSync(join(metricsDir, name), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
  await new Promise((r) => setTimeout(r, 1100));
  const after = runCli(args, { env: { STATE_DIRECTORY: stateDir } });
  t.is(after.code, 0, after.stderr);
  t.deepEqual(temps(), []);
  promtool(t, readFileSync(metricsFile, 'utf8'));
});

test('a run that cannot write its record says so in one warning and keeps its own exit status', (t) => {
  const pool = bed.pool('czbsw');
  zfs('create', `${pool.name}/host`);
  const nowhere = join(scratchDir(t, 'czb-sw-'), 'no', 'such', 'dir');
  const r = runCli(['--action', 'snapshot', '--dataset', `${pool.name}/host`, '--metrics-file', join(nowhere, 'x.prom')], { env: { STATE_DIRECTORY: nowhere } });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^warning: could not record this run's outcome in \S+\/no\/such\/dir: ENOENT.*; status and the metrics still show the run before\n$/);
});
