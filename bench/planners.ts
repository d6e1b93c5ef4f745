// Planners at scale: each scenario runs in its own node process (bench/planner-child.ts) so time and peak RSS are its own.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ChildResult, Scenario } from './planner-child';
import { round, type Cell } from './lib';

export interface PlannerRow {
  label: string;
  scenario: Scenario;
  datasets: number;
  snapshots: number;
  /** Judged against the goals (1 s, 300 MB). */
  goal: boolean;
  result?: ChildResult;
  /** Set when the child was stopped at its time limit or failed. */
  stopped?: string;
}

export interface PlannersResult {
  rows: PlannerRow[];
  /** Fitted exponent t ~ n^k of the diverged refusal over the scaling points. */
  divergedExponent?: number;
  divergedExtrapolatedSeconds?: number;
}

export interface PlannersOptions {
  datasets: number;
  snapshots: number;
  benchDir: string;
  timeLimitSeconds: number;
  say: (line: string) => void;
}

function runChild(benchDir: string, scenario: Scenario, datasets: number, snapshots: number, repeat: number, limitSeconds: number): { result?: ChildResult; stopped?: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', join(benchDir, 'planner-child.ts'), scenario, String(datasets), String(snapshots), String(repeat)], {
    cwd: join(benchDir, '..'),
    encoding: 'utf8',
    timeout: limitSeconds * 1000,
    killSignal: 'SIGKILL',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { stopped: `stopped after ${limitSeconds} s` };
  if (r.status !== 0) return { stopped: `failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}` };
  return { result: JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult };
}

export function runPlanners(o: PlannersOptions): PlannersResult {
  const { datasets: d, snapshots: s } = o;
  const total = d * s;
  const plan: Array<Omit<PlannerRow, 'result' | 'stopped'> & { repeat: number; limit: number }> = [
    { label: `planRetention, ${total.toLocaleString('en')} names`, scenario: 'retention-names', datasets: d, snapshots: s, goal: true, repeat: 3, limit: 120 },
    { label: `planExpire, tree ${d}×${s}`, scenario: 'expire-tree', datasets: d, snapshots: s, goal: true, repeat: 3, limit: 120 },
    { label: `planReplication incremental, ${d}×${s} each side`, scenario: 'replication-incremental', datasets: d, snapshots: s, goal: true, repeat: 3, limit: 120 },
    { label: `planReplication no common snapshot, ${d}×${s}`, scenario: 'replication-no-common', datasets: d, snapshots: s, goal: true, repeat: 3, limit: 120 },
    { label: `planReplication diverged (receiver lost a dataset), ${d}×${s}`, scenario: 'replication-diverged', datasets: d, snapshots: s, goal: true, repeat: 1, limit: o.timeLimitSeconds },
    { label: `  same, ${d}×250`, scenario: 'replication-diverged', datasets: d, snapshots: 250, goal: false, repeat: 1, limit: 120 },
    { label: `  same, ${d}×500`, scenario: 'replication-diverged', datasets: d, snapshots: 500, goal: false, repeat: 1, limit: 120 },
    { label: `parseTree of zfs get text, ${d}×${s} (input, not a planner)`, scenario: 'parse-tree', datasets: d, snapshots: s, goal: false, repeat: 2, limit: 180 },
  ];
  const rows: PlannerRow[] = [];
  for (const p of plan) {
    const { result, stopped } = runChild(o.benchDir, p.scenario, p.datasets, p.snapshots, p.repeat, p.limit);
    rows.push({ label: p.label, scenario: p.scenario, datasets: p.datasets, snapshots: p.snapshots, goal: p.goal, ...(result ? { result } : {}), ...(stopped ? { stopped } : {}) });
    o.say(`planners: ${p.label.trim()}: ${result ? `${round(result.firstSeconds, 3)} s, +${round(result.plannerIncrementMiB, 0)} MiB (${result.outcome})` : stopped}`);
  }
  const points = rows.filter((r) => r.scenario === 'replication-diverged' && r.result).map((r) => [r.snapshots, r.result!.firstSeconds] as const);
  const out: PlannersResult = { rows };
  if (points.length >= 2) {
    const [a, b] = [points[0]!, points[points.length - 1]!];
    const k = Math.log(b[1] / a[1]) / Math.log(b[0] / a[0]);
    out.divergedExponent = k;
    out.divergedExtrapolatedSeconds = b[1] * (s / b[0]) ** k;
  }
  return out;
}

export function plannerRows(p: PlannersResult): Cell[][] {
  return p.rows.map((r) => {
    const x = r.result;
    if (!x) return [r.label, r.stopped ?? '-', '-', '-', '-', '-', r.goal ? 'MISSED' : '', ''];
    const ok = x.firstSeconds <= 1 && x.plannerIncrementMiB <= 300;
    return [r.label, round(x.firstSeconds, 3), round(x.warmSeconds, 3), round(x.plannerIncrementMiB, 0), round(x.inputRssMiB - x.baselineRssMiB, 0), round(x.peakRssMiB, 0), r.goal ? (ok ? 'met' : 'MISSED') : '', x.outcome];
  });
}
