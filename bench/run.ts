// The benchmark command (npm run bench): start-up, planners at scale, push throughput and zfs invocation counts; prints tables, writes bench-results/*.json.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TestPool } from '../test/bed/pools';
import { startSshd, type TestSshd } from '../test/bed/sshd';
import { ensureZfs, stopZfs } from '../test/bed/zfs-daemon';
import { countRows, enableRemoteWrappers, runCounts, type CountsResult } from './counts';
import { createCpuGroups, type CpuGroups } from './cpu-groups';
import { DEFAULT_RUN_ARGS, dailySummary, runDaily, type DailyResult } from './daily';
import { formatTable, loadAverage, median, MiB, round, timedSync, verdict } from './lib';
import { plannerRows, runPlanners, type PlannersResult } from './planners';
import { runStartup, startupOverhead, startupRows, type StartupResult } from './startup';
import { METHODS, runThroughput, THROUGHPUT_HEADER, throughputRows, type Method, type ThroughputResult } from './throughput';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const CLI = join(ROOT, 'dist', 'cyber-zfs-backup.mjs');
const HOOK = join(BENCH_DIR, 'rusage-hook.mjs');
const SECTIONS = ['startup', 'planners', 'throughput', 'counts', 'daily', 'daily-openzfs'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: SECTIONS.join(',') },
    'size-mib': { type: 'string', default: '1024,4096' },
    methods: { type: 'string', default: 'local,openssh,openssh-gcm,cli,cli-alt,ssh2,ssh2-tuned,openssh-fd,openssh-relay' },
    'large-methods': { type: 'string', default: 'openssh,cli,cli-alt' },
    'alt-cli': { type: 'string' },
    'alt-env': { type: 'string', default: '' },
    'alt2-env': { type: 'string', default: '' },
    runs: { type: 'string', default: '3' },
    'startup-runs': { type: 'string', default: '15' },
    'planner-datasets': { type: 'string', default: '100' },
    'planner-snapshots': { type: 'string', default: '10000' },
    'planner-limit': { type: 'string', default: '20' },
    'count-sizes': { type: 'string', default: '100,200' },
    'count-datasets': { type: 'string', default: '50' },
    'daily-datasets': { type: 'string', default: '50' },
    'daily-snapshots': { type: 'string', default: '200' },
    'daily-rounds': { type: 'string', default: '3' },
    /** Each daily round also times the service's default run (snapshot, expire, push), by this CLI and by --daily-alt-cli if given. */
    'daily-default-run': { type: 'boolean', default: false },
    'daily-alt-cli': { type: 'string' },
    'login-rc': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run bench -- [--only startup,planners,throughput,counts] [--size-mib 1024,4096] [--runs 3] [--startup-runs 15]\n' +
      `       [--methods ${METHODS.join(',')}] [--large-methods openssh,cli,cli-alt]\n` +
      '       [--alt-cli OTHER/dist/cyber-zfs-backup.mjs [--alt-env K=V,K=V] [--alt2-env K=V,K=V]] [--daily-datasets 50] [--daily-snapshots 200] [--daily-rounds 3]\n' +
      '       [--daily-default-run [--daily-alt-cli OTHER/dist/cyber-zfs-backup.mjs]] [--login-rc]\n' +
      '       [--planner-datasets 100] [--planner-snapshots 10000] [--planner-limit 20] [--count-sizes 100,200] [--count-datasets 50]\n' +
      'Needs root (zfs-fuse pools, sshd). Prints tables and writes bench-results/bench-<time>.json and bench-results/latest.json.\n',
  );
  process.exit(0);
}

const only = new Set(String(values.only).split(',').map((s) => s.trim()) as Section[]);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; choose from ${SECTIONS.join(', ')}`);
const num = (v: string | boolean | undefined) => Number(v);
const say = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

/** Boots the OpenZFS guest (under its lock), runs bench/daily.ts in it, and reads its JSON back; undefined if that failed. */
function runDailyInGuest(datasets: number, snapshots: number, rounds: number, scratch: string, say: (line: string) => void): DailyResult | undefined {
  const out = join(scratch, 'daily-openzfs.json');
  say('daily (OpenZFS guest): waiting for /var/tmp/czb-openzfs.lock, then booting the guest');
  const r = spawnSync('flock', ['/var/tmp/czb-openzfs.lock', 'bash', join(BENCH_DIR, 'daily-openzfs.sh'), out, String(datasets), String(snapshots), String(rounds)], { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
  if (r.status !== 0 || !existsSync(out)) {
    say(`daily (OpenZFS guest): failed (exit ${r.status})`);
    return undefined;
  }
  return JSON.parse(readFileSync(out, 'utf8')) as DailyResult;
}

/** "K=V,K=V" as an environment. */
function envList(text: string): Record<string, string> {
  return Object.fromEntries(text.split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function main(): Promise<number> {
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${CLI} is missing; run "npm run build" first (npm run bench does)\n`);
    return 1;
  }
  const needsZfs = only.has('throughput') || only.has('counts') || only.has('daily');
  if (needsZfs && process.getuid?.() !== 0) {
    process.stderr.write('bench: the throughput and counts sections need root (zfs-fuse pools and an sshd): sudo npm run bench, or --only startup,planners\n');
    return 77;
  }
  const started = new Date();
  const scratch = mkdtempSync(join(tmpdir(), 'czbbench-'));
  const pools: TestPool[] = [];
  let sshd: TestSshd | undefined;
  let startedZfs = false;
  let groups: CpuGroups | undefined;
  const cleanup = () => {
    for (const p of pools.splice(0)) p.destroy();
    groups?.remove();
    rmSync(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    say('interrupted: destroying the bench pools and stopping its sshd');
    if (sshd) {
      try {
        process.kill(Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim()), 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    cleanup();
    if (startedZfs) stopZfs();
    process.exit(130);
  });

  const result: {
    startedAt: string;
    finishedAt?: string;
    environment: Record<string, unknown>;
    startup?: StartupResult;
    planners?: PlannersResult;
    throughput?: ThroughputResult;
    counts?: CountsResult;
    daily?: DailyResult[];
    goals: Goal[];
  } = {
    startedAt: started.toISOString(),
    environment: {
      node: process.version,
      kernel: release(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadAverageAtStart: loadAverage(),
      ssh: spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim(),
      commit: spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || undefined,
    },
    goals: [],
  };
  const output: string[] = [];
  try {
    if (only.has('startup')) {
      say(`startup: ${num(values['startup-runs'])} runs each of node -e 0 and --help`);
      result.startup = runStartup(CLI, num(values['startup-runs']));
      output.push(
        formatTable('4. Start-up (ms)', ['command', 'wall median', 'min', 'max', 'CPU median', 'runs'], startupRows(result.startup)) +
          '   CPU: user+system of the child (10 ms ticks). chrt -f 10: each run scheduled ahead of the other work on the machine (root only), so a busy machine\'s run queue is not counted as start-up.\n',
      );
      const s = result.startup;
      const over = startupOverhead(s);
      const series = s.realtime ?? s;
      result.goals.push({
        goal: '--help ≤ node -e 0 + 60 ms',
        measured: `+${round(over.seconds * 1000, 0)} ms (${over.how}: ${round(series.medianHelpSeconds * 1000, 0)} vs ${round(series.medianNodeSeconds * 1000, 0)} ms; plain +${round(s.medianOverheadSeconds * 1000, 0)} ms; CPU +${round((s.medianHelpCpuSeconds - s.medianNodeCpuSeconds) * 1000, 0)} ms)`,
        met: over.seconds <= 0.06,
      });
    }
    if (only.has('planners')) {
      result.planners = runPlanners({
        datasets: num(values['planner-datasets']),
        snapshots: num(values['planner-snapshots']),
        benchDir: BENCH_DIR,
        timeLimitSeconds: num(values['planner-limit']),
        say,
      });
      const p = result.planners;
      let table = formatTable(
        '2. Planners at scale (one fresh node process each; time of the first call, RSS from /proc/self)',
        ['planner and input', 'first s', 'warm s', 'planner +MiB', 'input MiB', 'peak RSS MiB', 'goal', 'outcome'],
        plannerRows(p),
      );
      if (p.divergedExponent !== undefined && p.rows.some((r) => r.scenario === 'replication-diverged' && r.goal && r.stopped)) {
        table += `   diverged refusal grows as n^${round(p.divergedExponent, 2)}; extrapolated to ${num(values['planner-snapshots'])} snapshots: ~${round(p.divergedExtrapolatedSeconds ?? NaN, 0)} s\n`;
      }
      output.push(table);
      for (const r of p.rows.filter((x) => x.goal)) {
        const x = r.result;
        result.goals.push({
          goal: `${r.label.trim()}: ≤ 1 s and ≤ 300 MB`,
          measured: x ? `${round(x.firstSeconds, 3)} s, planner +${round(x.plannerIncrementMiB, 0)} MiB (process peak ${round(x.peakRssMiB, 0)} MiB)` : (r.stopped ?? 'failed'),
          met: x !== undefined && x.firstSeconds <= 1 && x.plannerIncrementMiB <= 300,
        });
      }
    }
    const remoteLog = join(scratch, 'remote.log');
    if (needsZfs) {
      startedZfs = ensureZfs();
      sshd = await startSshd();
      // Every process the bench's sshd forks is charged to one cgroup, zfs receive to another.
      groups = createCpuGroups('run');
      if (!groups) throw new Error('cannot make cgroups under /sys/fs/cgroup (cpuacct or v2) to account CPU per process');
      groups.group('sshd').add(Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim()));
      // What one login costs here with root's own shell start-up files, before the bench's sshd skips them.
      const rc = [1, 2].map(() => timedSync('ssh', ['-F', sshd!.config, 'offsite', 'true']).seconds);
      enableRemoteWrappers(sshd, join(BENCH_DIR, 'wrap', 'remote'), remoteLog, {
        CZB_BENCH_RECV_CGROUP: groups.group('recv').dir,
        CZB_BENCH_REMOTE_TIMES: join(scratch, 'remote-times.log'),
        // bash sources ~/.bashrc for a command run by sshd only at shell level 1: SHLVL=1 makes it 2.
        ...(values['login-rc'] ? {} : { SHLVL: '1' }),
      });
      const lean = [1, 2, 3].map(() => timedSync('ssh', ['-F', sshd!.config, 'offsite', 'true']).seconds);
      result.environment.login = { withRootShellStartupSeconds: median(rc), benchSeconds: median(lean), skipsRootShellStartup: !values['login-rc'] };
      output.push(
        `Logins: "ssh offsite true" takes ${round(median(rc), 2)} s here with root's shell start-up files (~/.bashrc), ${round(median(lean), 2)} s as the bench's sshd runs it` +
          (values['login-rc'] ? ' (--login-rc: the same)\n' : ' (SetEnv SHLVL=1: bash skips ~/.bashrc; --login-rc keeps it).\n   Every remote command of a push pays one login: the tool makes 2 (serve) or 3 (plain shell), the OpenSSH pipeline 1.\n'),
      );
    }
    if (only.has('throughput') && sshd && groups) {
      const methods = String(values.methods).split(',').map((m) => m.trim()) as Method[];
      for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}; choose from ${METHODS.join(', ')}`);
      const altCli = values['alt-cli'] === undefined ? undefined : String(values['alt-cli']);
      result.throughput = await runThroughput({
        sizesMiB: String(values['size-mib']).split(',').map(Number),
        runs: num(values.runs),
        methods: methods.filter((m) => !m.startsWith('cli-alt') || altCli !== undefined),
        largeMethods: String(values['large-methods']).split(',').map((m) => m.trim()) as Method[],
        sshd,
        cli: CLI,
        ...(altCli ? { altCli, altEnv: envList(String(values['alt-env'])), alt2Env: envList(String(values['alt2-env'])) } : {}),
        hook: HOOK,
        benchDir: BENCH_DIR,
        scratch,
        pools,
        groups: { kind: groups.kind, ssh: groups.group('ssh'), send: groups.group('send'), sshd: groups.group('sshd'), recv: groups.group('recv'), relay: groups.group('relay') },
        say,
      });
      const t = result.throughput;
      for (const size of t.sizes) {
        output.push(
          formatTable(
            `1. Push throughput, ${round(size.streamBytes / MiB, 1)} MiB stream (${size.sizeMiB} MiB random data, compression=off, 3 datasets), median of ${num(values.runs)} interleaved runs; CPU seconds per GiB of stream`,
            THROUGHPUT_HEADER,
            throughputRows(t, size),
          ) +
            (size.summary.cli ? `   (c) outside the stream (start-up, listings, ssh -G, connect, probe, check, hold): ${round(size.summary.cli.medianOutsideStreamSeconds ?? NaN, 2)} s\n` : '') +
            (size.summary['cli-alt'] ? `   (c') outside the stream: ${round(size.summary['cli-alt'].medianOutsideStreamSeconds ?? NaN, 2)} s (${String(values['alt-cli'])} ${String(values['alt-env'])})\n` : '') +
            (size.summary['cli-alt2'] ? `   (c'') outside the stream: ${round(size.summary['cli-alt2'].medianOutsideStreamSeconds ?? NaN, 2)} s (${String(values['alt-cli'])} ${String(values['alt2-env'])})\n` : ''),
        );
      }
      output.push(
        `   a second SSH connection ("ssh offsite true", median of ${t.handshake.runs}): ${round(t.handshake.wallSeconds, 3)} s, ssh ${round(t.handshake.sshCpuSeconds, 3)} CPU s, sshd ${round(t.handshake.sshdCpuSeconds, 3)} CPU s\n` +
          `   MiB/s = stream bytes / wall time of the whole command ([s]: of the stream child, connection included). node: our process (the CLI, or the stream child) with its perl children (the pipes' enlarging), not its zfs or ssh.\n` +
          `   ssh: the ssh client; sshd: the test sshd with every session process except zfs receive; zfs recv / zfs send: the zfs client processes; zfs-fuse: the daemon (both ends). CPU by ${t.cpuAccounting}.\n`,
      );
      for (const size of t.sizes) {
        const b = size.summary.openssh;
        const gib = `${round(size.sizeMiB / 1024, 0)} GiB`;
        for (const m of ['cli', 'cli-alt', 'cli-alt2'] as Method[]) {
          const c = size.summary[m];
          if (!b || !c) continue;
          const ratio = c.medianMibPerSecond / b.medianMibPerSecond;
          const tag = m === 'cli' ? '' : m === 'cli-alt' ? " (c')" : " (c'')";
          result.goals.push({ goal: `whole command ≥ 1.10× OpenSSH pipeline, ${gib}${tag}`, measured: `${round(ratio, 2)} (${round(c.medianMibPerSecond, 1)} vs ${round(b.medianMibPerSecond, 1)} MiB/s)`, met: ratio >= 1.1 });
        }
      }
      const first = t.sizes[0];
      const b = first?.summary.openssh;
      for (const m of ['cli', 'cli-alt', 'cli-alt2'] as Method[]) {
        const c = first?.summary[m];
        if (!b || !c) continue;
        const tag = m === 'cli' ? '' : m === 'cli-alt' ? " (c')" : " (c'')";
        const node = c.perGiB.node ?? NaN;
        const ssh = b.perGiB.ssh ?? NaN;
        const carried = c.perGiB.ssh ?? 0;
        result.goals.push({
          goal: `our CPU/GiB ≤ the ssh client's${tag}`,
          measured: `${round(node + carried, 2)}${carried > 0 ? ` (node ${round(node, 2)} + ssh ${round(carried, 2)})` : ''} vs ${round(ssh, 2)} s/GiB`,
          met: node + carried <= ssh,
        });
        const ratio = (c.perGiB.sshd ?? NaN) / (b.perGiB.sshd ?? NaN);
        result.goals.push({ goal: `receiving sshd CPU/GiB ≤ 1.1× with OpenSSH's${tag}`, measured: `${round(ratio, 2)}× (${round(c.perGiB.sshd ?? NaN, 2)} vs ${round(b.perGiB.sshd ?? NaN, 2)} s/GiB)`, met: ratio <= 1.1 });
      }
    }
    if (only.has('counts') && sshd) {
      result.counts = runCounts({
        sizes: String(values['count-sizes']).split(',').map(Number),
        datasets: num(values['count-datasets']),
        sshd,
        cli: CLI,
        benchDir: BENCH_DIR,
        scratch,
        pools,
        remoteLog,
        say,
      });
      const c = result.counts;
      const { header, rows } = countRows(c);
      const listing = c.trees.map((t) => `${t.datasets}×${t.snapshotsPerDataset}: ${round(t.listingSeconds, 2)} s`).join(', ');
      output.push(
        formatTable('3. zfs invocations per CLI run (local | remote)', header, rows) +
          `   one "zfs get -r guid,createtxg,userrefs" of the tree takes ${listing}\n` +
          `   destroys: zfs-fuse has no "destroy ds@a,b,c", so 5 expired snapshots take ${c.zfsFuseDestroyCommandsFor5} commands; where it exists (OpenZFS) the same argv builder makes ${c.openzfsDestroyCommandsFor5}\n` +
          `   counting: ${c.method}\n`,
      );
    }
    const dailyGoal = (d: DailyResult) =>
      result.goals.push({ goal: `daily run ≤ 1.25× the least-work pipeline (${d.platform})`, measured: `${round(d.ratio, 2)} (${round(d.medianOursSeconds, 2)} vs ${round(d.medianLeastSeconds, 2)} s)`, met: d.ratio <= 1.25 });
    if (only.has('daily') && sshd) {
      const d = await runDaily({
        datasets: num(values['daily-datasets']),
        snapshots: num(values['daily-snapshots']),
        rounds: num(values['daily-rounds']),
        cli: CLI,
        cliNode: process.execPath,
        sshd,
        benchDir: BENCH_DIR,
        scratch,
        pools,
        remoteTimes: join(scratch, 'remote-times.log'),
        platform: 'zfs-fuse',
        say,
        extraRuns: values['daily-default-run']
          ? [
              { label: 'default run (snapshot, expire, push)', cli: CLI, args: DEFAULT_RUN_ARGS },
              ...(values['daily-alt-cli'] ? [{ label: `default run, ${String(values['daily-alt-cli'])}`, cli: String(values['daily-alt-cli']), args: DEFAULT_RUN_ARGS }] : []),
            ]
          : [],
      });
      (result.daily ??= []).push(d);
      output.push(dailySummary(d));
      dailyGoal(d);
    }
    if (only.has('daily-openzfs')) {
      const d = runDailyInGuest(num(values['daily-datasets']), num(values['daily-snapshots']), num(values['daily-rounds']), scratch, say);
      if (d) {
        (result.daily ??= []).push(d);
        output.push(dailySummary(d));
        dailyGoal(d);
      } else result.goals.push({ goal: 'daily run ≤ 1.25× the least-work pipeline (OpenZFS guest)', measured: 'the guest run failed (see above)', met: false });
    }
  } finally {
    if (sshd) await sshd.stop();
    cleanup();
    if (startedZfs) stopZfs();
  }

  result.finishedAt = new Date().toISOString();
  result.environment.loadAverageAtEnd = loadAverage();
  result.environment.minutes = round((Date.now() - started.getTime()) / 60000, 1);
  output.push(formatTable('Goals', ['goal', 'measured', 'verdict'], result.goals.map((g) => [g.goal, g.measured, verdict(g.met)])));
  output.push(`node ${process.version}, ${cpus().length} × ${String(result.environment.cpuModel)}, load average ${String(result.environment.loadAverageAtStart)} at start, ${loadAverage()} at end, ${String(result.environment.minutes)} min\n`);
  process.stdout.write('\n' + output.join('\n'));

  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${started.toISOString().replace(/[:.]/g, '').slice(0, 15)}Z.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  copyFileSync(file, join(dir, 'latest.json'));
  process.stdout.write(`results: ${file}\n`);
  // A missed goal is reported, never an error: the benchmark does not fail CI.
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
