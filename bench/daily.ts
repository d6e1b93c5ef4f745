// The daily run: snapshot + push of a small change on a large tree, against the least any tool must do (zfs snapshot -r, then send -R -I | ssh zfs receive), with every zfs call and remote command timed.
//
// Runs in the bench (zfs-fuse) and, standalone, inside the OpenZFS guest (bench/daily-openzfs.sh):
//   node --import tsx bench/daily.ts --json OUT.json [--datasets 50] [--snapshots 200] [--rounds 3] [--cli-node /usr/bin/node]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { snapshotNameFor } from '../src/core/names';
import { createPool, type TestPool } from '../test/bed/pools';
import { startSshd, type TestSshd } from '../test/bed/sshd';
import { enableRemoteWrappers } from './counts';
import { formatTable, median, must, round, timedSync, type Cell } from './lib';
import { datasetNames } from './planner-child';

const DAY = 86_400_000;

export interface TimedCommand {
  /** Seconds from the start of the command being measured. */
  at: number;
  seconds: number;
  status: number;
  where: 'local' | 'remote';
  argv: string;
}

export interface CliEvent {
  at: number;
  line: string;
}

export interface DailyRound {
  round: number;
  oursSeconds: number;
  oursExit: number;
  /** zfs snapshot -r, and the send | ssh receive, of the least-work pipeline. */
  leastSnapshotSeconds: number;
  leastPushSeconds: number;
  leastSeconds: number;
  leastExit: number;
  /** Every zfs command our run made, local and remote, with its start and duration. */
  commands: TimedCommand[];
  /** The CLI's --debug lines, stamped as they arrived. */
  events: CliEvent[];
  /** Remote commands (SSH exec channels) our run opened. */
  remoteExecs: number;
  /** Seconds of each extra run of this round (DailyOptions.extraRuns), by label. */
  extra: Record<string, number>;
  error?: string;
}

export interface DailyResult {
  platform: string;
  datasets: number;
  snapshotsPerDataset: number;
  setupSeconds: number;
  /** One `ssh offsite true`: what each remote command costs before it does anything. */
  sshTrueSeconds: number;
  rounds: DailyRound[];
  medianOursSeconds: number;
  medianLeastSeconds: number;
  ratio: number;
}

export interface DailyOptions {
  datasets: number;
  snapshots: number;
  rounds: number;
  cli: string;
  /** The node that runs the CLI (Debian's node 18 in the guest). */
  cliNode: string;
  sshd: TestSshd;
  benchDir: string;
  scratch: string;
  pools: TestPool[];
  /** The file the remote env wrapper logs timed commands to while it exists (enableRemoteWrappers). */
  remoteTimes: string;
  platform: string;
  say: (line: string) => void;
  /**
   * Runs made after ours in each round, each with a small change and a snapshot of its own, pushing
   * into our receiver (e.g. the service's default actions, by this CLI and by another build).
   */
  extraRuns?: ExtraRun[];
}

/** A CLI run timed beside ours: `args` come before the common --dataset/--ssh-… ones. */
export interface ExtraRun {
  label: string;
  cli: string;
  args: string[];
}

/** The service's default run (snapshot, expire, push), with a policy that keeps every snapshot of the bench's tree. */
export const DEFAULT_RUN_ARGS = ['--action', 'snapshot', 'expire', 'push', '--retention-policy', '100000', '0', '0'];

/** The hold on the least-work pipeline's base (the extra runs' expire keeps one snapshot a day and would take it). */
const LEAST_HOLD = 'czb-bench-least';

const epoch = () => Date.now() / 1000;

function waitForNextSecond(after: number): void {
  while (Math.floor(Date.now() / 1000) <= after) timedSync('sleep', ['0.05']);
}

/** `zfs ARGS` lines the wrappers logged: "START END STATUS ARGV…". */
function readTimes(file: string, where: 'local' | 'remote', start: number): TimedCommand[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [a, b, s, ...rest] = l.split(' ');
      const argv = rest.join(' ').replace(/^env PATH=\S+ /, '');
      return { at: Number(a) - start, seconds: Number(b) - Number(a), status: Number(s), where, argv };
    });
}

/** Runs the CLI, stamping each stderr line as it arrives. */
function runStamped(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; seconds: number; events: CliEvent[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const at = () => Number(process.hrtime.bigint() - start) / 1e9;
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const events: CliEvent[] = [];
    let partial = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      const text = partial + c.toString();
      stderr += c.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const t = at();
      for (const line of lines) events.push({ at: t, line });
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? 128, seconds: at(), events, stderr }));
  });
}

/** A tree of `datasets` datasets with one snapshot a day, one of them mounted (the small change goes there), and two receivers that hold each dataset's newest snapshot. */
function buildTree(o: DailyOptions): { tree: string; mounted: string; ours: string; least: string; base: string; seconds: number } {
  const started = epoch();
  const src = createPool('czbdaily', '2G');
  o.pools.push(src);
  const dst = createPool('czbdaily', '2G');
  o.pools.push(dst);
  const tree = `${src.name}/host`;
  const names = datasetNames(o.datasets);
  for (const rel of names) must('zfs', ['create', rel === '' ? tree : `${tree}/${rel}`]);
  const mounted = join(mkdtempSync(join(o.scratch, 'daily-mnt-')), 'data');
  must('zfs', ['set', `mountpoint=${mounted}`, names[1] === undefined ? tree : `${tree}/${names[1]}`]);
  const first = Math.floor(Date.now() / DAY) * DAY - (o.snapshots + 2) * DAY;
  let last = '';
  for (let i = 0; i < o.snapshots; i += 1) {
    last = snapshotNameFor(first + i * DAY);
    must('zfs', ['snapshot', '-r', `${tree}@${last}`]);
    if (i % 50 === 49) o.say(`daily: ${i + 1} of ${o.snapshots} snapshots of ${o.datasets} datasets`);
  }
  // Each receiver gets every dataset's newest snapshot alone (a full -R stream of the whole history
  // takes zfs-fuse ~30 ms a snapshot); the push needs only a common base with the same GUIDs.
  const ours = `${dst.name}/ours`;
  const least = `${dst.name}/least`;
  for (const receive of [ours, least]) {
    for (const rel of names) {
      const suffix = rel === '' ? '' : `/${rel}`;
      must('sh', ['-c', 'zfs send "$1" | zfs receive -u "$2"', 'sh', `${tree}${suffix}@${last}`, `${receive}${suffix}`]);
    }
  }
  return { tree, mounted, ours, least, base: last, seconds: epoch() - started };
}

export async function runDaily(o: DailyOptions): Promise<DailyResult> {
  o.say(`daily (${o.platform}): building ${o.datasets} datasets × ${o.snapshots} snapshots and two receivers`);
  const { tree, mounted, ours, least, base: firstBase, seconds: setupSeconds } = buildTree(o);
  const dir = mkdtempSync(join(o.scratch, 'daily-'));
  const localTimes = join(dir, 'local-times.log');
  const localWrap = join(o.benchDir, 'wrap', 'local');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${localWrap}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    CYBER_ZFS_BACKUP_ZFS: join(localWrap, 'zfs'),
    CZB_BENCH_ZFS_TIMES: localTimes,
    CYBER_ZFS_BACKUP_LOCK_DIR: dir,
  };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  const sshTrue = median([1, 2, 3].map(() => timedSync('ssh', ['-F', o.sshd.config, 'offsite', 'true']).seconds));
  let leastBase = firstBase;
  must('zfs', ['hold', '-r', LEAST_HOLD, `${tree}@${leastBase}`]);
  let lastSecond = Math.floor(Date.now() / 1000);
  const change = (round: number, who: string) => must('dd', ['if=/dev/urandom', `of=${join(mounted, `${who}-${round}`)}`, 'bs=64k', 'count=1', 'status=none']);
  const rounds: DailyRound[] = [];
  // Round 0 warms up: the first push makes the received tree inert (zfs set), later ones need not.
  for (let n = 0; n <= o.rounds; n += 1) {
    change(n, 'ours');
    waitForNextSecond(lastSecond);
    writeFileSync(localTimes, '');
    writeFileSync(o.remoteTimes, '');
    const start = epoch();
    const common = ['--dataset', tree, '--zfs-receive-dataset', ours, '--ssh-config', o.sshd.config, '--ssh-destination', 'offsite'];
    const r = await runStamped(o.cliNode, [o.cli, '--action', 'snapshot', 'push', ...common, '--debug'], env);
    lastSecond = Math.floor(Date.now() / 1000);
    const commands = [...readTimes(localTimes, 'local', start), ...readTimes(o.remoteTimes, 'remote', start)].sort((a, b) => a.at - b.at);
    rmSync(localTimes, { force: true });
    rmSync(o.remoteTimes, { force: true });
    const extra: Record<string, number> = {};
    for (const [i, x] of (o.extraRuns ?? []).entries()) {
      change(n, `extra${i}`);
      waitForNextSecond(lastSecond);
      const e = await runStamped(o.cliNode, [x.cli, ...x.args, ...common], env);
      lastSecond = Math.floor(Date.now() / 1000);
      if (e.status !== 0) throw new Error(`daily: ${x.label} exited ${e.status}: ${e.stderr.trim().split('\n').pop() ?? ''}`);
      extra[x.label] = e.seconds;
    }

    change(n, 'least');
    waitForNextSecond(lastSecond);
    const name = snapshotNameFor(Date.now());
    const snap = timedSync('zfs', ['snapshot', '-r', `${tree}@${name}`]);
    const push = timedSync('sh', ['-c', 'zfs send -R -I "@$1" "$2@$3" | ssh -F "$4" offsite zfs receive -F -u "$5"', 'sh', leastBase, tree, name, o.sshd.config, least]);
    lastSecond = Math.floor(Date.now() / 1000);
    if (snap.status === 0 && push.status === 0) {
      // The least-work pipeline's base is held like ours, so a default run's expire keeps it.
      must('zfs', ['hold', '-r', LEAST_HOLD, `${tree}@${name}`]);
      must('zfs', ['release', '-r', LEAST_HOLD, `${tree}@${leastBase}`]);
      leastBase = name;
    }
    const sample: DailyRound = {
      round: n,
      oursSeconds: r.seconds,
      oursExit: r.status,
      leastSnapshotSeconds: snap.seconds,
      leastPushSeconds: push.seconds,
      leastSeconds: snap.seconds + push.seconds,
      leastExit: snap.status || push.status,
      commands,
      events: r.events,
      remoteExecs: r.events.filter((e) => /running on the receiving host|streaming into the receiving host/.test(e.line)).length,
      extra,
    };
    if (r.status !== 0) sample.error = `ours exited ${r.status}: ${r.stderr.trim().split('\n').filter((l) => !l.startsWith('debug:')).pop() ?? ''}`;
    else if (sample.leastExit !== 0) sample.error = `least-work pipeline failed: ${snap.stderr.trim()} ${push.stderr.trim()}`;
    rounds.push(sample);
    o.say(
      `daily (${o.platform}): round ${n}${n === 0 ? ' (warm-up)' : ''}: ours ${round(r.seconds, 2)} s (exit ${r.status}, ${sample.remoteExecs} remote commands, ${commands.filter((c) => c.where === 'local').length} local zfs), least ${round(sample.leastSeconds, 2)} s (snapshot ${round(snap.seconds, 2)} + push ${round(push.seconds, 2)})${Object.entries(extra).map(([label, sec]) => `; ${label} ${round(sec, 2)} s`).join('')}${sample.error ? ` (${sample.error})` : ''}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  const measured = rounds.filter((r) => r.round > 0 && !r.error);
  const medianOurs = median(measured.map((r) => r.oursSeconds));
  const medianLeast = median(measured.map((r) => r.leastSeconds));
  return { platform: o.platform, datasets: o.datasets, snapshotsPerDataset: o.snapshots, setupSeconds, sshTrueSeconds: sshTrue, rounds, medianOursSeconds: medianOurs, medianLeastSeconds: medianLeast, ratio: medianOurs / medianLeast };
}

/** The round whose time is the median: its timeline is shown. */
export function medianRound(d: DailyResult): DailyRound | undefined {
  const measured = d.rounds.filter((r) => r.round > 0 && !r.error).sort((a, b) => a.oursSeconds - b.oursSeconds);
  return measured[Math.floor((measured.length - 1) / 2)];
}

/** Where our time went in one round: the CLI's own events and every timed zfs command, in order. */
export function timelineRows(r: DailyRound): Cell[][] {
  const rows: Array<{ at: number; cells: Cell[] }> = [];
  for (const c of r.commands) rows.push({ at: c.at, cells: [round(c.at, 2), round(c.seconds, 2), c.where === 'local' ? 'local zfs' : 'remote zfs', `${c.argv.slice(0, 110)}${c.status === 0 ? '' : ` (exit ${c.status})`}`] });
  for (const e of r.events) {
    const m = /^debug: (running on the receiving host|streaming into the receiving host) remote="(.*)"$/.exec(e.line);
    if (m) rows.push({ at: e.at, cells: [round(e.at, 2), '', m[1] === 'running on the receiving host' ? 'remote exec' : 'remote stream', (m[2] ?? '').replace(/env PATH=\S+ /g, '').slice(0, 110)] });
    else if (/^(pushed|took|released)/.test(e.line)) rows.push({ at: e.at, cells: [round(e.at, 2), '', 'cli', e.line.slice(0, 110)] });
  }
  rows.sort((a, b) => a.at - b.at);
  rows.push({ at: r.oursSeconds, cells: [round(r.oursSeconds, 2), '', 'cli', `exit ${r.oursExit}`] });
  return rows.map((x) => x.cells);
}

export function dailySummary(d: DailyResult): string {
  const r = medianRound(d);
  const local = r ? r.commands.filter((c) => c.where === 'local') : [];
  const remote = r ? r.commands.filter((c) => c.where === 'remote') : [];
  const sum = (xs: TimedCommand[]) => round(xs.reduce((a, c) => a + c.seconds, 0), 2);
  const rows: Cell[][] = d.rounds.map((x) => [x.round === 0 ? '0 (warm-up)' : String(x.round), round(x.oursSeconds, 2), x.remoteExecs, round(x.leastSnapshotSeconds, 2), round(x.leastPushSeconds, 2), round(x.leastSeconds, 2), round(x.oursSeconds / x.leastSeconds, 2), x.error ?? 'ok']);
  let text = formatTable(
    `5. Daily run (${d.platform}): snapshot + push of a small change, ${d.datasets} datasets × ${d.snapshotsPerDataset} snapshots, against zfs snapshot -r; zfs send -R -I @BASE | ssh zfs receive -F -u`,
    ['round', 'ours s', 'remote cmds', 'least: snapshot s', 'send|ssh recv s', 'least s', 'ratio', ''],
    rows,
  );
  text += `   median: ours ${round(d.medianOursSeconds, 2)} s, least ${round(d.medianLeastSeconds, 2)} s, ratio ${round(d.ratio, 2)}; "ssh offsite true" ${round(d.sshTrueSeconds, 2)} s; setup ${round(d.setupSeconds, 0)} s\n`;
  const measured = d.rounds.filter((x) => x.round > 0 && !x.error);
  for (const label of Object.keys(d.rounds[0]?.extra ?? {})) {
    const seconds = median(measured.map((x) => x.extra[label] ?? Number.NaN));
    text += `   ${label}: median ${round(seconds, 2)} s (${round(seconds / d.medianLeastSeconds, 2)}x the least-work pipeline, which does not expire)\n`;
  }
  if (r) {
    text += `   round ${r.round}: ${local.length} local zfs commands (${sum(local)} s), ${remote.length} remote zfs commands (${sum(remote)} s), ${r.remoteExecs} remote commands (each one SSH channel and a login shell)\n`;
    text += formatTable(`5a. Where our time went in round ${r.round} (${d.platform}; s from the start of the command)`, ['at s', 'took s', 'what', 'command'], timelineRows(r));
  }
  return text;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      datasets: { type: 'string', default: '50' },
      snapshots: { type: 'string', default: '200' },
      rounds: { type: 'string', default: '3' },
      'cli-node': { type: 'string', default: process.execPath },
      platform: { type: 'string', default: 'OpenZFS guest' },
    },
  });
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const scratch = mkdtempSync(join(tmpdir(), 'czbdaily-'));
  const pools: TestPool[] = [];
  const sshd = await startSshd();
  const say = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  try {
    const remoteTimes = join(scratch, 'remote-times.log');
    enableRemoteWrappers(sshd, join(benchDir, 'wrap', 'remote'), join(scratch, 'remote.log'), { CZB_BENCH_REMOTE_TIMES: remoteTimes });
    const result = await runDaily({
      datasets: Number(values.datasets),
      snapshots: Number(values.snapshots),
      rounds: Number(values.rounds),
      cli: join(benchDir, '..', 'dist', 'cyber-zfs-backup.mjs'),
      cliNode: String(values['cli-node']),
      sshd,
      benchDir,
      scratch,
      pools,
      remoteTimes,
      platform: String(values.platform),
      say,
    });
    process.stdout.write(dailySummary(result));
    if (values.json) {
      mkdirSync(dirname(String(values.json)), { recursive: true });
      writeFileSync(String(values.json), JSON.stringify(result, null, 2) + '\n');
    }
  } finally {
    await sshd.stop();
    for (const p of pools) p.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('daily.ts')) await main();
