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
import { countRows, runCounts, type CountsResult } from './counts';
import { formatTable, loadAverage, round, verdict } from './lib';
import { plannerRows, runPlanners, type PlannersResult } from './planners';
import { runStartup, startupRows, type StartupResult } from './startup';
import { runThroughput, throughputRows, type ThroughputResult } from './throughput';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const CLI = join(ROOT, 'dist', 'cyber-zfs-backup.mjs');
const HOOK = join(BENCH_DIR, 'rusage-hook.mjs');
const SECTIONS = ['startup', 'planners', 'throughput', 'counts'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: SECTIONS.join(',') },
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    'startup-runs': { type: 'string', default: '15' },
    'planner-datasets': { type: 'string', default: '100' },
    'planner-snapshots': { type: 'string', default: '10000' },
    'planner-limit': { type: 'string', default: '20' },
    'count-sizes': { type: 'string', default: '100,200' },
    'count-datasets': { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run bench -- [--only startup,planners,throughput,counts] [--size-mib 1024] [--runs 3] [--startup-runs 15]\n' +
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

async function main(): Promise<number> {
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${CLI} is missing; run "npm run build" first (npm run bench does)\n`);
    return 1;
  }
  const needsZfs = only.has('throughput') || only.has('counts');
  if (needsZfs && process.getuid?.() !== 0) {
    process.stderr.write('bench: the throughput and counts sections need root (zfs-fuse pools and an sshd): sudo npm run bench, or --only startup,planners\n');
    return 77;
  }
  const started = new Date();
  const scratch = mkdtempSync(join(tmpdir(), 'czbbench-'));
  const pools: TestPool[] = [];
  let sshd: TestSshd | undefined;
  let startedZfs = false;
  const cleanup = () => {
    for (const p of pools.splice(0)) p.destroy();
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
      output.push(formatTable('4. Start-up (wall ms)', ['command', 'median', 'min', 'max', 'runs'], startupRows(result.startup)));
      const ms = result.startup.medianHelpSeconds * 1000;
      result.goals.push({ goal: '--help ≤ 150 ms (median)', measured: `${round(ms, 0)} ms (node -e 0: ${round(result.startup.medianNodeSeconds * 1000, 0)} ms)`, met: ms <= 150 });
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
    if (needsZfs) {
      startedZfs = ensureZfs();
      sshd = await startSshd();
    }
    if (only.has('throughput') && sshd) {
      result.throughput = await runThroughput({ sizeMiB: num(values['size-mib']), runs: num(values.runs), sshd, cli: CLI, hook: HOOK, scratch, pools, say });
      const t = result.throughput;
      output.push(
        formatTable(
          `1. Push throughput, ${round(t.streamBytes / 1048576, 1)} MiB stream (${t.dataMiB} MiB random data, compression=off, 3 datasets), median of ${num(values.runs)} interleaved runs`,
          ['method', 'MiB/s', 'range', 'wall s', 'client CPU s', 'sshd CPU s', 'zfs-fuse CPU s', 'busy %', 'ok'],
          throughputRows(t),
        ) +
          `   c/b = ${round(t.ratioCliToOpenssh, 2)}   c/a = ${round(t.ratioCliToLocal, 2)}   MiB/s = stream bytes / wall time of the whole command\n` +
          `   (c) streaming alone (as the CLI logs it): ${round(t.summary.cli.medianTransferMibPerSecond ?? NaN, 1)} MiB/s; outside the stream (start-up, listing, ssh -G, connect, 2 probes, zfs set, hold): ${round(t.summary.cli.medianOutsideTransferSeconds ?? NaN, 2)} s; "ssh offsite true" takes ${round(t.sshTrueSeconds, 3)} s here\n` +
          '   client CPU: ssh for (b); our node process alone (process.resourceUsage at exit, zfs send not included) for (c). sshd CPU: session processes the test sshd reaped (sshd, the login shell, zfs receive client). busy %: whole machine, all cores.\n',
      );
      result.goals.push({ goal: 'c/b ≥ 1.10', measured: `${round(t.ratioCliToOpenssh, 2)} (${round(t.summary.cli.medianMibPerSecond, 1)} vs ${round(t.summary.openssh.medianMibPerSecond, 1)} MiB/s)`, met: t.ratioCliToOpenssh >= 1.1 });
      result.goals.push({ goal: 'c/a ≥ 0.80', measured: `${round(t.ratioCliToLocal, 2)} (${round(t.summary.cli.medianMibPerSecond, 1)} vs ${round(t.summary.local.medianMibPerSecond, 1)} MiB/s)`, met: t.ratioCliToLocal >= 0.8 });
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
