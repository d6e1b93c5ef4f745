// serve's hold on a received tree: its lock, a lease while it receives, and an earlier receive of its own whose client is gone ended (by PID, start time checked) before the next one starts.
import { BackupError, ExitCode } from '../core/exit-codes';
import { earlierReceiveLine, heartbeat, judgeLease, LEASE_HEARTBEAT_SECONDS, watchedPids, type LeasedProcess, type ReceiveLease } from '../core/receive-lease';
import type { Lock } from '../io/lock';
import type { LeaseFiles } from '../io/receive-lease';
import type { Syslog } from '../io/syslog';

/** What /proc tells (src/io/proc.ts), injected. */
export interface ProcView {
  self: LeasedProcess;
  isAlive(p: LeasedProcess): boolean;
  readChars(p: LeasedProcess): number | undefined;
  leased(pid: number): LeasedProcess | undefined;
  sshdOf(pid: number): LeasedProcess | undefined;
  signalProcess(p: LeasedProcess, signal: NodeJS.Signals): boolean;
}

export interface TreeHoldDeps {
  /** Takes the tree's lock, or throws exit 75. */
  lock(dataset: string): Lock;
  leases: LeaseFiles;
  proc: ProcView;
  syslog: Syslog;
  client: string;
  /** An earlier receive that has read nothing for longer than this counts as left behind (serve --stale-receive-after). */
  staleAfterSeconds: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A received tree held by this serve: its lock, and (for a receive) the lease kept while zfs reads. */
export interface TreeHold {
  lock: Lock;
  /** zfs receive started as `pid`: the lease names it and follows what it reads. */
  receiving(pid: number): void;
  /** Stops the heartbeat and removes the lease (before the lock goes). */
  end(): void;
}

/** How long each step of ending an earlier receive may take before the next, harder one; three steps bound the whole. */
const END_STEP_MS = 8000;
const POLL_MS = 250;

function observe(deps: TreeHoldDeps, lease: Pick<ReceiveLease, 'zfs' | 'session'>): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const p of [lease.zfs, lease.session]) if (p) out[String(p.pid)] = deps.proc.readChars(p);
  return out;
}

function describe(lease: ReceiveLease): string {
  const pids = [`serve PID ${lease.serve.pid}`, ...(lease.zfs ? [`zfs receive PID ${lease.zfs.pid}`] : []), ...(lease.session ? [`sshd PID ${lease.session.pid}`] : [])];
  return `the earlier receive into ${lease.dataset} from ${lease.client} (${pids.join(', ')})`;
}

/** Tries the lock until `ms` have passed; undefined if it is still held. */
async function lockWithin(deps: TreeHoldDeps, dataset: string, ms: number): Promise<Lock | undefined> {
  for (let waited = 0; ; waited += POLL_MS) {
    try {
      return deps.lock(dataset);
    } catch (error) {
      if (!(error instanceof BackupError) || error.exitCode !== ExitCode.temporary) throw error;
      if (waited >= ms) return undefined;
    }
    await deps.sleep(POLL_MS);
  }
}

/**
 * Ends an earlier receive whose client is gone, gently first: its sshd (closing the dead
 * connection closes the pipe zfs reads, which ends the receive on OpenZFS and zfs-fuse alike, and
 * that serve then finishes and lets go of the lock); then its zfs receive and that serve; then
 * SIGKILL. Every process is named by PID and start time, and each step waits a bounded time.
 */
async function endEarlierReceive(deps: TreeHoldDeps, dataset: string, lease: ReceiveLease, idleSeconds: number, who: string): Promise<Lock> {
  const what = describe(lease);
  await deps.syslog('warning', `ending ${what}, asked ${who}: it has read nothing for ${idleSeconds} s (over ${deps.staleAfterSeconds} s), so its client is gone and its connection is dead`);
  const started = deps.now();
  const steps: Array<[NodeJS.Signals, Array<LeasedProcess | undefined>]> = [
    ['SIGTERM', lease.session ? [lease.session] : [lease.zfs]],
    ['SIGTERM', [lease.zfs, lease.serve]],
    ['SIGKILL', [lease.zfs, lease.serve]],
  ];
  for (const [signal, targets] of steps) {
    for (const p of targets) if (p) deps.proc.signalProcess(p, signal);
    const lock = await lockWithin(deps, dataset, END_STEP_MS);
    if (lock) {
      await deps.syslog('notice', `ended ${what}, asked ${who}, in ${((deps.now() - started) / 1000).toFixed(1)} s; this receive goes on`);
      return lock;
    }
  }
  throw new BackupError(ExitCode.temporary, `${what} has read nothing for ${idleSeconds} s, but it did not end when told to; end it by hand on the offsite host (kill ${watchedPids(lease).concat(lease.serve.pid).join(' ')}), then run again`);
}

/** Takes the tree's lock; if an earlier receive of serve's own holds it and its client is gone, that receive is ended first. */
async function takeLock(deps: TreeHoldDeps, dataset: string, who: string): Promise<Lock> {
  try {
    return deps.lock(dataset);
  } catch (error) {
    if (!(error instanceof BackupError) || error.exitCode !== ExitCode.temporary) throw error;
    const lease = deps.leases.read(dataset);
    // No lease, or its serve is gone: the lock is someone else's (the offsite host's expire, say).
    if (!lease || !deps.proc.isAlive(lease.serve)) throw error;
    const verdict = judgeLease(lease, observe(deps, lease), deps.now(), deps.staleAfterSeconds);
    if (verdict.kind === 'live') throw new BackupError(ExitCode.temporary, earlierReceiveLine(lease, verdict, deps.staleAfterSeconds));
    return endEarlierReceive(deps, dataset, lease, verdict.idleSeconds, who);
  }
}

/**
 * Holds the received tree `dataset` (a serve root) for one request. For a receive, a lease next to
 * the lock names this serve, its zfs receive and its sshd, and is refreshed while they read: a
 * later serve that finds the lock held reads it to tell a receive whose client is gone (ended) from
 * one that still gets data (exit 75, saying when it would count as gone).
 */
export async function holdTree(deps: TreeHoldDeps, dataset: string, receive: { dataset: string } | undefined, who: string): Promise<TreeHold> {
  const lock = await takeLock(deps, dataset, who);
  if (!receive) return { lock, receiving: () => {}, end: () => {} };
  let lease: ReceiveLease = {
    lease: 1,
    serve: deps.proc.self,
    zfs: undefined,
    session: deps.proc.sshdOf(deps.proc.self.pid),
    client: deps.client,
    dataset: receive.dataset,
    startedAt: deps.now(),
    counters: {},
    progressAt: deps.now(),
  };
  lease = heartbeat(lease, observe(deps, lease), deps.now());
  deps.leases.write(dataset, lease);
  let timer: NodeJS.Timeout | undefined;
  return {
    lock,
    receiving(pid) {
      lease = { ...lease, zfs: deps.proc.leased(pid), progressAt: deps.now() };
      lease = heartbeat(lease, observe(deps, lease), deps.now());
      deps.leases.write(dataset, lease);
      timer = setInterval(() => {
        const next = heartbeat(lease, observe(deps, lease), deps.now());
        if (next === lease) return;
        lease = next;
        deps.leases.write(dataset, lease);
      }, LEASE_HEARTBEAT_SECONDS * 1000);
      timer.unref();
    },
    end() {
      if (timer) clearInterval(timer);
      deps.leases.remove(dataset, deps.proc.self);
    },
  };
}
