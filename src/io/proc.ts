// What /proc tells about a process: its start time (a reused PID is never mistaken for it), its read counter, the sshd of its connection, and a signal sent only to the process meant.
import { readFileSync } from 'node:fs';
import type { LeasedProcess } from '../core/receive-lease';

interface Stat {
  comm: string;
  ppid: number;
  /** Field 22, in clock ticks since boot: with the PID it names one process for ever. */
  start: string;
  state: string;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** The process start time from /proc, so that a reused PID is not mistaken for the one meant. */
export function startTime(pid: number): string | undefined {
  return stat(pid)?.start;
}

/** Whether `p` still runs (the same process: same PID and start time, not a zombie). */
export function isAlive(p: LeasedProcess): boolean {
  const s = stat(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
}

/**
 * Bytes the process has read so far (rchar of /proc/PID/io), or undefined where that cannot be
 * read: another user's process, or a process that hides it (sshd is not dumpable: root only).
 */
export function readChars(p: LeasedProcess): number | undefined {
  if (!isAlive(p)) return undefined;
  try {
    const m = /^rchar:\s*(\d+)$/m.exec(readFileSync(`/proc/${p.pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The process itself, named for a lease. */
export function leased(pid: number): LeasedProcess | undefined {
  const start = startTime(pid);
  return start === undefined || start === '' ? undefined : { pid, start };
}

/**
 * The sshd process that serves `pid`'s connection: the nearest ancestor named sshd (or
 * sshd-session), at most a few steps up (a login shell may sit in between). Ending it closes the
 * connection and with it the pipes of every command it runs.
 */
export function sshdOf(pid: number): LeasedProcess | undefined {
  let current = stat(pid)?.ppid;
  for (let step = 0; step < 4 && current !== undefined && current > 1; step += 1) {
    const s = stat(current);
    if (!s) return undefined;
    if (/^sshd/.test(s.comm)) return { pid: current, start: s.start };
    current = s.ppid;
  }
  return undefined;
}

/** Sends `signal` to `p` only if it is still the same process (PID and start time); returns whether it was sent. */
export function signalProcess(p: LeasedProcess, signal: NodeJS.Signals): boolean {
  if (!isAlive(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}
