// serve's lease on a running receive: what it records (processes, client, read counters), and when an earlier receive counts as left behind by a client that is gone.
import { DEFAULT_KEEPALIVE_INTERVAL_SECONDS, EARLIER_RECEIVE_MARK } from './link';
import { parseJson } from './json';

/** A process named by PID and the start time /proc gives it, so that a reused PID is never mistaken for it. */
export interface LeasedProcess {
  pid: number;
  start: string;
}

/**
 * The lease file of one received tree, written by the serve that holds the tree's lock for a
 * receive, refreshed while the receive reads, and removed when it ends.
 */
export interface ReceiveLease {
  lease: 1;
  /** The serve process that holds the tree's lock. */
  serve: LeasedProcess;
  /** Its `zfs receive`, once started. */
  zfs: LeasedProcess | undefined;
  /** The sshd process of its connection (closing it ends the receive on every platform), when found. */
  session: LeasedProcess | undefined;
  client: string;
  dataset: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** Read counters (/proc/PID/io rchar) of the watched processes, by PID, as last seen to move. */
  counters: Record<string, number>;
  /** When a counter was last seen to move (or the receive started). */
  progressAt: number;
}

/**
 * An earlier receive that has read nothing for longer than this has lost its sender: a sender of
 * this tool ends a silent link within its keepalive bound (by default one keepalive every 10 s, 3
 * unanswered: 40 s), and the sender's own lock keeps it from starting another run before that.
 */
export const STALE_RECEIVE_SECONDS = DEFAULT_KEEPALIVE_INTERVAL_SECONDS * 4;

/** How often the holder looks at its read counters and refreshes the lease. */
export const LEASE_HEARTBEAT_SECONDS = 2;

/** The range serve --stale-receive-after accepts: above a few heartbeats, at most a day. */
const STALE_RECEIVE_RANGE = { min: 10, max: 86_400 } as const;

/** serve --stale-receive-after's value as whole seconds, or what is wrong with it. */
export function parseStaleAfter(text: string): { seconds: number } | { problem: string } {
  if (!/^\d+$/.test(text.trim())) return { problem: `${JSON.stringify(text)} is not a whole number of seconds` };
  const seconds = Number(text.trim());
  if (seconds < STALE_RECEIVE_RANGE.min || seconds > STALE_RECEIVE_RANGE.max) {
    return { problem: `${seconds} s is outside ${STALE_RECEIVE_RANGE.min}..${STALE_RECEIVE_RANGE.max} s (serve reads a receive's counters every ${LEASE_HEARTBEAT_SECONDS} s)` };
  }
  return { seconds };
}

export function serializeLease(lease: ReceiveLease): string {
  return `${JSON.stringify(lease)}\n`;
}

function isProcess(value: unknown): value is LeasedProcess {
  const v = value as LeasedProcess;
  return typeof v === 'object' && v !== null && Number.isInteger(v.pid) && v.pid > 1 && typeof v.start === 'string' && v.start !== '';
}

/** The lease in `text`, or undefined when it is not one (half written, or from another version). */
export function parseLease(text: string): ReceiveLease | undefined {
  const l = parseJson(text) as ReceiveLease;
  if (typeof l !== 'object' || l === null || l.lease !== 1 || !isProcess(l.serve)) return undefined;
  if ((l.zfs !== undefined && !isProcess(l.zfs)) || (l.session !== undefined && !isProcess(l.session))) return undefined;
  if (typeof l.client !== 'string' || typeof l.dataset !== 'string' || typeof l.startedAt !== 'number' || typeof l.progressAt !== 'number') return undefined;
  if (typeof l.counters !== 'object' || l.counters === null || Object.values(l.counters).some((n) => typeof n !== 'number')) return undefined;
  return l;
}

/** The PIDs whose read counters tell whether the receive still gets data: its zfs and its sshd. */
export function watchedPids(lease: Pick<ReceiveLease, 'zfs' | 'session'>): number[] {
  return [lease.zfs?.pid, lease.session?.pid].filter((p): p is number => p !== undefined);
}

/** The heartbeat: the counters read now, and the lease updated when one of them moved. */
export function heartbeat(lease: ReceiveLease, observed: Record<string, number | undefined>, now: number): ReceiveLease {
  const readable = Object.entries(observed).filter((e): e is [string, number] => e[1] !== undefined);
  const moved = readable.some(([pid, n]) => lease.counters[pid] !== n);
  return moved ? { ...lease, counters: Object.fromEntries(readable), progressAt: now } : lease;
}

export type LeaseVerdict =
  /** Nothing read for longer than the bound: its client is gone. */
  | { kind: 'stale'; idleSeconds: number }
  /** It read something lately (or cannot be told): it is left alone. */
  | { kind: 'live'; idleSeconds: number; readable: boolean };

/**
 * Judges an earlier receive by its lease and its read counters now. A counter that moved since the
 * lease was written means it reads; with no readable counter at all nothing can be told, and the
 * receive is left alone.
 */
export function judgeLease(lease: ReceiveLease, observed: Record<string, number | undefined>, now: number, staleAfterSeconds = STALE_RECEIVE_SECONDS): LeaseVerdict {
  const readable = Object.entries(observed).filter((e): e is [string, number] => e[1] !== undefined);
  if (readable.length === 0) return { kind: 'live', idleSeconds: Math.max(0, Math.round((now - lease.progressAt) / 1000)), readable: false };
  if (readable.some(([pid, n]) => lease.counters[pid] !== n)) return { kind: 'live', idleSeconds: 0, readable: true };
  const idle = (now - lease.progressAt) / 1000;
  return idle > staleAfterSeconds ? { kind: 'stale', idleSeconds: Math.round(idle) } : { kind: 'live', idleSeconds: Math.max(0, Math.round(idle)), readable: true };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** serve's line (exit 75) when an earlier receive of its own holds the tree and still counts as alive. */
export function earlierReceiveLine(lease: ReceiveLease, verdict: Extract<LeaseVerdict, { kind: 'live' }>, staleAfterSeconds = STALE_RECEIVE_SECONDS): string {
  const since = `for ${lease.client} since ${iso(lease.startedAt)}, serve PID ${lease.serve.pid}`;
  const when = verdict.readable
    ? `it has read nothing for ${verdict.idleSeconds} s, and serve ends it once that passes ${staleAfterSeconds} s, in about ${Math.max(1, staleAfterSeconds - verdict.idleSeconds)} s`
    : `its read counters cannot be read here, so serve cannot tell whether its client is gone, and it ends when that connection times out`;
  return `${EARLIER_RECEIVE_MARK} ${lease.dataset} is still running here (${since}; ${when}); run again after that`;
}
