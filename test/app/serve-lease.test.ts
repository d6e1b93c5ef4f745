// serve's hold on a received tree with stand-ins for the lock, the lease file and /proc: which earlier receive it ends, how (gently first, each step bounded), and which it leaves alone.
import test from 'ava';
import { holdTree, type ProcView, type TreeHoldDeps } from '../../src/app/serve-lease';
import { BackupError, ExitCode } from '../../src/core/exit-codes';
import { STALE_RECEIVE_SECONDS, type LeasedProcess, type ReceiveLease } from '../../src/core/receive-lease';

const T0 = Date.UTC(2026, 9, 1);
const SERVE_A: LeasedProcess = { pid: 100, start: '5000' };
const ZFS_A: LeasedProcess = { pid: 101, start: '5001' };
const SSHD_A: LeasedProcess = { pid: 90, start: '4990' };

interface World {
  deps: TreeHoldDeps;
  signals: string[];
  syslog: string[];
  leases: Map<string, ReceiveLease>;
  /** The lock's holder; undefined when free. */
  holder: { pid: number } | undefined;
  clock: { now: number };
}

/**
 * A tree held by serve A's receive (its lease written `idle` seconds ago, counters unchanged since),
 * asked for by serve B. `endsOn` says which signal to which process makes A let go of the lock.
 */
function world(idle: number, endsOn: ((pid: number, signal: string) => boolean) | 'never', options: { counters?: Record<string, number | undefined>; session?: boolean; serveAlive?: boolean; staleAfterSeconds?: number } = {}): World {
  const clock = { now: T0 + idle * 1000 };
  const signals: string[] = [];
  const syslog: string[] = [];
  const w: World = { deps: undefined as unknown as TreeHoldDeps, signals, syslog, leases: new Map(), holder: { pid: SERVE_A.pid }, clock };
  const lease: ReceiveLease = {
    lease: 1,
    serve: SERVE_A,
    zfs: ZFS_A,
    session: options.session === false ? undefined : SSHD_A,
    client: '192.0.2.1 port 50000',
    dataset: 't/b/h',
    startedAt: T0 - 60_000,
    counters: { '101': 1000, '90': 5000 },
    progressAt: T0,
  };
  w.leases.set('t/b', lease);
  const alive = new Set([SERVE_A.pid, ZFS_A.pid, SSHD_A.pid]);
  if (options.serveAlive === false) alive.delete(SERVE_A.pid);
  const proc: ProcView = {
    self: { pid: 200, start: '9000' },
    isAlive: (p) => alive.has(p.pid),
    readChars: (p) => (options.counters ? options.counters[String(p.pid)] : ({ '101': 1000, '90': 5000 } as Record<string, number>)[String(p.pid)]),
    leased: (pid) => ({ pid, start: `s${pid}` }),
    sshdOf: () => ({ pid: 190, start: '8990' }),
    signalProcess: (p, signal) => {
      signals.push(`${signal} ${p.pid}`);
      if (endsOn !== 'never' && endsOn(p.pid, signal)) {
        alive.delete(p.pid);
        w.holder = undefined;
      }
      return true;
    },
  };
  w.deps = {
    lock: (dataset) => {
      if (w.holder) throw new BackupError(ExitCode.temporary, `another cyber-zfs-backup run (PID ${w.holder.pid}) is working on ${dataset}`);
      w.holder = { pid: 200 };
      return { path: '/run/lock/x', release: () => (w.holder = undefined) };
    },
    leases: {
      read: (dataset) => w.leases.get(dataset),
      write: (dataset, l) => void w.leases.set(dataset, l),
      remove: (dataset, owner) => {
        if (w.leases.get(dataset)?.serve.pid === owner.pid) w.leases.delete(dataset);
      },
    },
    proc,
    syslog: async (priority, message) => void syslog.push(`${priority}: ${message}`),
    client: '192.0.2.1 port 60000',
    staleAfterSeconds: options.staleAfterSeconds ?? STALE_RECEIVE_SECONDS,
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
  };
  return w;
}

test('an earlier receive that has read nothing for longer than the bound: its sshd is ended, the lock taken, a new lease written', async (t) => {
  const w = world(45, (pid) => pid === SSHD_A.pid);
  const hold = await holdTree(w.deps, 't/b', { dataset: 't/b/h' }, 'for 192.0.2.1 port 60000');
  t.deepEqual(w.signals, ['SIGTERM 90']);
  t.is(w.holder?.pid, 200);
  t.is(w.leases.get('t/b')?.serve.pid, 200, 'this serve now holds the lease');
  t.deepEqual(w.leases.get('t/b')?.session, { pid: 190, start: '8990' });
  t.regex(w.syslog[0] ?? '', /^warning: ending the earlier receive into t\/b\/h from 192\.0\.2\.1 port 50000 \(serve PID 100, zfs receive PID 101, sshd PID 90\), asked for .*: it has read nothing for 45 s \(over 40 s\)/);
  t.regex(w.syslog[1] ?? '', /^notice: ended the earlier receive .* in [\d.]+ s; this receive goes on$/);
  hold.end();
  t.false(w.leases.has('t/b'), 'the lease goes with the hold');
});

test('serve --stale-receive-after 120: a receive idle for 125 s is ended, and the log names that bound', async (t) => {
  const w = world(125, (pid) => pid === SSHD_A.pid, { staleAfterSeconds: 120 });
  await holdTree(w.deps, 't/b', { dataset: 't/b/h' }, 'for x');
  t.deepEqual(w.signals, ['SIGTERM 90']);
  t.regex(w.syslog[0] ?? '', /it has read nothing for 125 s \(over 120 s\), so its client is gone/);
});

test('without a known sshd, its zfs receive is ended first', async (t) => {
  const w = world(45, (pid) => pid === ZFS_A.pid, { session: false });
  await holdTree(w.deps, 't/b', { dataset: 't/b/h' }, 'for x');
  t.deepEqual(w.signals, ['SIGTERM 101']);
});

test('each step is bounded: sshd, then zfs and serve, then SIGKILL; a receive that will not end is exit 75 naming the PIDs', async (t) => {
  const w = world(45, 'never');
  const started = w.clock.now;
  const error = await t.throwsAsync(holdTree(w.deps, 't/b', { dataset: 't/b/h' }, 'for x'), { instanceOf: BackupError });
  t.is(error?.exitCode, ExitCode.temporary);
  t.regex(error?.message ?? '', /did not end when told to; end it by hand on the offsite host \(kill 101 90 100\)/);
  t.deepEqual(w.signals, ['SIGTERM 90', 'SIGTERM 101', 'SIGTERM 100', 'SIGKILL 101', 'SIGKILL 100']);
  t.true(w.clock.now - started <= 30_000, `waited ${w.clock.now - started} ms in all`);
});

test('SIGKILL as the last step ends it', async (t) => {
  const w = world(45, (pid, signal) => signal === 'SIGKILL' && pid === SERVE_A.pid);
  await holdTree(w.deps, 't/b', undefined, 'for x');
  t.deepEqual(w.signals, ['SIGTERM 90', 'SIGTERM 101', 'SIGTERM 100', 'SIGKILL 101', 'SIGKILL 100']);
  t.is(w.holder?.pid, 200);
});

const leftAlone: Array<[string, () => World, RegExp]> = [
  ['idle, but not for longer than the bound', () => world(30, () => true), /^an earlier receive into t\/b\/h is still running here \(.*it has read nothing for 30 s, and serve ends it once that passes 40 s, in about 10 s\)/],
  ['idle for 45 s under serve --stale-receive-after 120', () => world(45, () => true, { staleAfterSeconds: 120 }), /it has read nothing for 45 s, and serve ends it once that passes 120 s, in about 75 s\)/],
  ['read since its lease was written', () => world(600, () => true, { counters: { '101': 1000, '90': 5100 } }), /it has read nothing for 0 s/],
  ['no read counter readable', () => world(600, () => true, { counters: {} }), /its read counters cannot be read here/],
  ['its serve is gone (the lock is someone else\'s: the offsite expire)', () => world(600, () => true, { serveAlive: false }), /^another cyber-zfs-backup run \(PID 100\)/],
];
for (const [title, make, message] of leftAlone) {
  test(`left alone, exit 75: ${title}`, async (t) => {
    const w = make();
    const error = await t.throwsAsync(holdTree(w.deps, 't/b', { dataset: 't/b/h' }, 'for x'), { instanceOf: BackupError });
    t.is(error?.exitCode, ExitCode.temporary);
    t.regex(error?.message ?? '', message);
    t.deepEqual(w.signals, [], 'nothing was signalled');
    t.is(w.leases.get('t/b')?.serve.pid, SERVE_A.pid, "the earlier lease is untouched");
  });
}

test('no lease at all: the lock is someone else\'s, exit 75 as before', async (t) => {
  const w = world(600, () => true);
  w.leases.clear();
  await t.throwsAsync(holdTree(w.deps, 't/b', undefined, 'for x'), { instanceOf: BackupError, message: /^another cyber-zfs-backup run/ });
  t.deepEqual(w.signals, []);
});

test('a free tree: the lock at once; a repair or abort keeps no lease', async (t) => {
  const w = world(0, () => true);
  w.holder = undefined;
  w.leases.clear();
  const hold = await holdTree(w.deps, 't/b', undefined, 'for x');
  t.is((w.holder as World['holder'])?.pid, 200);
  t.false(w.leases.has('t/b'));
  hold.end();
});
