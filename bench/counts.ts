// zfs invocations per CLI run (local through a PATH wrapper, remote through an env wrapper on the sshd's PATH) at two snapshot counts.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotNameFor } from '../src/core/names';
import { destroyArgs } from '../src/core/zfs-argv';
import { parseCapabilities } from '../src/core/capabilities';
import { createPool, type TestPool } from '../test/bed/pools';
import type { TestSshd } from '../test/bed/sshd';
import { datasetNames } from './planner-child';
import { must, round, timedSync, type Cell } from './lib';

const DAY = 86_400_000;
/** Same-day extra snapshots per tree: what expire (policy: one per day) destroys in a run. */
const EXTRA_SAME_DAY = 5;

export type CountedAction = 'snapshot' | 'expire' | 'probe' | 'push' | 'all';

export interface CountedRun {
  action: CountedAction;
  args: string[];
  exitCode: number;
  wallSeconds: number;
  local: string[];
  remote: string[];
  error?: string;
}

export interface CountTree {
  datasets: number;
  snapshotsPerDataset: number;
  setupSeconds: number;
  /** One `zfs get -r guid,createtxg,userrefs` of the tree, as the CLI runs it. */
  listingSeconds: number;
  runs: CountedRun[];
}

export interface CountsResult {
  method: string;
  trees: CountTree[];
  /** What the 5 destroys would take where `zfs destroy ds@a,b,c` works (OpenZFS), from the same argv builder. */
  openzfsDestroyCommandsFor5: number;
  zfsFuseDestroyCommandsFor5: number;
}

export interface CountsOptions {
  sizes: number[];
  datasets: number;
  sshd: TestSshd;
  cli: string;
  benchDir: string;
  scratch: string;
  pools: TestPool[];
  /** Where the remote wrapper logs (enableRemoteWrappers was called with it). */
  remoteLog: string;
  say: (line: string) => void;
}

/**
 * Makes the loopback sshd put bench/wrap/remote first on PATH and pass the wrappers' variables
 * (SetEnv; config appended once, SIGHUP re-executes it under the same PID), then waits until a
 * session sees them: the wrapper logs a probe line to `log` (CZB_BENCH_REMOTE_LOG).
 */
export function enableRemoteWrappers(sshd: TestSshd, wrapDir: string, log: string, vars: Record<string, string> = {}): void {
  const config = join(sshd.dir, 'sshd_config');
  if (!readFileSync(config, 'utf8').includes('CZB_BENCH_REMOTE_LOG')) {
    const extra = Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ');
    appendFileSync(config, `SetEnv PATH=${wrapDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CZB_BENCH_REMOTE_LOG=${log}${extra ? ' ' + extra : ''}\n`);
    const pid = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGHUP');
  }
  for (let i = 0; i < 50; i += 1) {
    writeFileSync(log, '');
    const r = timedSync('ssh', ['-F', sshd.config, 'offsite', 'env', 'X=1', 'zfs', 'list', '-H', '-o', 'name', '-d', '0']);
    if (r.status === 0 && readFileSync(log, 'utf8').includes('zfs list')) return;
    timedSync('sleep', ['0.2']);
  }
  throw new Error('the sshd did not pick up the wrappers\' PATH after SIGHUP');
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

/** "get", "snapshot", "(usage)" … for one logged local `zfs ARGS` line or remote `PATH=… zfs ARGS` line. */
export function subcommand(line: string): string {
  const at = line.startsWith('zfs') ? 0 : line.indexOf(' zfs') + 1;
  return line.slice(at + 3).trim().split(' ')[0] || '(usage)';
}

function breakdown(commands: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const c of commands) counts.set(subcommand(c), (counts.get(subcommand(c)) ?? 0) + 1);
  return [...counts].map(([k, v]) => (v > 1 ? `${k}×${v}` : k)).join(' ');
}

function dayName(ms: number): string {
  return snapshotNameFor(ms);
}

/** A tree of `datasets` datasets with one snapshot a day (plus same-day extras), and a receiver that shares its newest snapshot. */
function buildTree(o: CountsOptions, src: TestPool, dst: TestPool, n: number): { tree: string; receive: string; seconds: number } {
  const start = Date.now();
  const tree = `${src.name}/t${n}`;
  const receive = `${dst.name}/r${n}`;
  const names = datasetNames(o.datasets);
  for (const rel of names) must('zfs', ['create', rel === '' ? tree : `${tree}/${rel}`]);
  const today = Math.floor(Date.now() / DAY) * DAY;
  const first = today - (n + 10) * DAY;
  const extras = new Set(Array.from({ length: EXTRA_SAME_DAY }, (_, i) => Math.floor(((i + 0.5) * n) / EXTRA_SAME_DAY)));
  let last = '';
  for (let i = 0; i < n; i += 1) {
    last = dayName(first + i * DAY);
    must('zfs', ['snapshot', '-r', `${tree}@${last}`]);
    if (extras.has(i)) must('zfs', ['snapshot', '-r', `${tree}@${dayName(first + i * DAY + 3_600_000)}`]);
  }
  // The receiver gets each dataset's newest snapshot alone (a full -R stream of 50×N snapshots takes
  // zfs-fuse ~30 ms per snapshot); the probe and the plan only need a common base with the same GUIDs.
  for (const rel of names) {
    const suffix = rel === '' ? '' : `/${rel}`;
    must('sh', ['-c', 'zfs send "$1" | zfs receive -u "$2"', 'sh', `${tree}${suffix}@${last}`, `${receive}${suffix}`]);
  }
  return { tree, receive, seconds: (Date.now() - start) / 1000 };
}

export function runCounts(o: CountsOptions): CountsResult {
  const dir = mkdtempSync(join(o.scratch, 'counts-'));
  const localLog = join(dir, 'local.log');
  const remoteLog = o.remoteLog;
  const localWrap = join(o.benchDir, 'wrap', 'local');
  const src = createPool('czbbench', '1G');
  o.pools.push(src);
  const dst = createPool('czbbench', '1G');
  o.pools.push(dst);
  const env = {
    ...process.env,
    PATH: `${localWrap}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    CYBER_ZFS_BACKUP_ZFS: join(localWrap, 'zfs'),
    CZB_BENCH_ZFS_LOG: localLog,
    CYBER_ZFS_BACKUP_LOCK_DIR: dir,
  };
  const trees: CountTree[] = [];
  for (const n of o.sizes) {
    o.say(`counts: building ${o.datasets} datasets × ${n} snapshots (+${EXTRA_SAME_DAY} same-day extras) and its receiver`);
    const { tree, receive, seconds } = buildTree(o, src, dst, n);
    const listing = timedSync('zfs', ['get', '-H', '-p', '-o', 'name,property,value', '-r', 'guid,createtxg,userrefs', tree]);
    const common = ['--dataset', tree, '--verbose'];
    const remoteArgs = ['--zfs-receive-dataset', receive, '--ssh-config', o.sshd.config, '--ssh-destination', 'offsite'];
    const plan: Array<[CountedAction, string[]]> = [
      ['snapshot', ['--action', 'snapshot', ...common]],
      ['expire', ['--action', 'expire', '--retention-policy', '100000', '0', '0', ...common]],
      ['probe', ['--action', 'push', '--dry-run', ...common, ...remoteArgs]],
      ['push', ['--action', 'push', ...common, ...remoteArgs]],
      ['all', ['--retention-policy', '100000', '0', '0', ...common, ...remoteArgs]],
    ];
    const runs: CountedRun[] = [];
    let lastSecond = 0;
    for (const [action, args] of plan) {
      // Two snapshot runs in one second would pick the same name.
      while (Math.floor(Date.now() / 1000) === lastSecond) timedSync('sleep', ['0.1']);
      writeFileSync(localLog, '');
      writeFileSync(remoteLog, '');
      const r = timedSync(process.execPath, [o.cli, ...args], { env });
      lastSecond = Math.floor(Date.now() / 1000);
      const run: CountedRun = { action, args, exitCode: r.status, wallSeconds: r.seconds, local: lines(localLog), remote: lines(remoteLog) };
      if (r.status !== 0) run.error = r.stderr.trim().split('\n').pop();
      runs.push(run);
      o.say(`counts: ${n} snapshots, ${action.padEnd(8)} exit ${r.status}, local ${run.local.length} (${breakdown(run.local)}), remote ${run.remote.length} (${breakdown(run.remote)}), ${round(r.seconds, 2)} s`);
    }
    trees.push({ datasets: o.datasets, snapshotsPerDataset: n, setupSeconds: seconds, listingSeconds: listing.seconds, runs });
  }
  rmSync(dir, { recursive: true, force: true });
  const usage = timedSync('zfs', []);
  const fuseCaps = parseCapabilities(usage.stdout + usage.stderr);
  const five = Array.from({ length: EXTRA_SAME_DAY }, (_, i) => `s${i}`);
  return {
    method:
      'local: bench/wrap/local/zfs first on PATH and as CYBER_ZFS_BACKUP_ZFS logs each argv; remote: the loopback sshd gets `SetEnv PATH=bench/wrap/remote:…` (config appended, SIGHUP), so the `env` of each remote `env PATH=… zfs ARGS` is a wrapper that logs the line and execs /usr/bin/env',
    trees,
    openzfsDestroyCommandsFor5: destroyArgs('p/t', five, { ...fuseCaps, destroyCommaList: true }).length,
    zfsFuseDestroyCommandsFor5: destroyArgs('p/t', five, fuseCaps).length,
  };
}

export function countRows(c: CountsResult): { header: string[]; rows: Cell[][] } {
  const header = ['action'];
  for (const t of c.trees) header.push(`${t.datasets}×${t.snapshotsPerDataset}: local`, 'remote', 'wall s');
  header.push(`commands at ${c.trees.at(-1)?.snapshotsPerDataset ?? ''} (local | remote)`);
  const actions: CountedAction[] = ['snapshot', 'expire', 'probe', 'push', 'all'];
  const label: Record<CountedAction, string> = {
    snapshot: 'snapshot',
    expire: `expire (${EXTRA_SAME_DAY} to destroy)`,
    probe: 'probe (push --dry-run)',
    push: 'push (incremental)',
    all: 'all three (0 to destroy)',
  };
  const rows = actions.map((a) => {
    const row: Cell[] = [label[a]];
    for (const t of c.trees) {
      const run = t.runs.find((r) => r.action === a);
      row.push(run ? (run.exitCode === 0 ? run.local.length : `exit ${run.exitCode}`) : '-', run ? run.remote.length : '-', run ? round(run.wallSeconds, 2) : '-');
    }
    const last = c.trees.at(-1)?.runs.find((r) => r.action === a);
    row.push(last ? `${breakdown(last.local)} | ${breakdown(last.remote) || '-'}` : '-');
    return row;
  });
  return { header, rows };
}
