// Benchmark helpers: timed child processes, medians, CPU counters from /proc, and a plain-text table printer.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

export interface Timed {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a program (argv, no shell) to the end and times it with a monotonic clock. */
export function timedSync(file: string, args: readonly string[], options: SpawnSyncOptions = {}): Timed {
  const start = process.hrtime.bigint();
  const r = spawnSync(file, args as string[], { encoding: 'utf8', maxBuffer: 512 * MiB, ...options });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error) throw r.error;
  return { status: r.status ?? 128, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), seconds };
}

/** Like timedSync, but asynchronous, so the caller can sample /proc while the child runs. */
export function timedAsync(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args as string[], { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr, seconds });
    });
  });
}

/** Runs a program and throws with its stderr when it fails: for setup steps that must work. */
export function must(file: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const r = timedSync(file, args, options);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User+system CPU seconds of one process, and of its waited-for descendants (cutime+cstime). */
export function procCpu(pid: number): { self: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17.
    const n = (i: number) => Number(fields[i - 3]);
    return { self: (n(14) + n(15)) / TICKS_PER_SECOND, children: (n(16) + n(17)) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Waits (up to `ms`) until `pid` has no child processes, so their CPU time has been reaped into its cutime. */
export function waitForNoChildren(pid: number, ms = 3000): void {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    } catch {
      return;
    }
    if (children === '') return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** The PID of the running zfs-fuse daemon, read only to sample its CPU time. */
export function zfsFusePid(): number | undefined {
  const r = spawnSync('pgrep', ['-x', 'zfs-fuse'], { encoding: 'utf8' });
  const pids = String(r.stdout ?? '').split('\n').filter(Boolean).map(Number);
  return pids.length === 1 ? pids[0] : undefined;
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export type Cell = string | number;

/** Prints rows as a table with a title; numbers are right-aligned. */
export function formatTable(title: string, header: readonly string[], rows: readonly Cell[][]): string {
  const text = [header, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? (Number.isFinite(c) ? String(c) : '-') : c)));
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || r[i] === '-' || r[i] === ''));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [`== ${title}`, line(text[0] as string[]), rule, ...text.slice(1).map(line), ''].join('\n');
}

export function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}
