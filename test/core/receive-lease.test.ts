// Table tests of serve's receive lease: reading it back, the heartbeat, and when an earlier receive counts as left behind by a client that is gone.
import test from 'ava';
import { earlierReceiveLine, heartbeat, judgeLease, parseLease, parseStaleAfter, serializeLease, STALE_RECEIVE_SECONDS, watchedPids, type ReceiveLease } from '../../src/core/receive-lease';

const T0 = Date.UTC(2026, 9, 1, 0, 0, 0);
const lease: ReceiveLease = {
  lease: 1,
  serve: { pid: 100, start: '5000' },
  zfs: { pid: 101, start: '5001' },
  session: { pid: 90, start: '4990' },
  client: '192.0.2.1 port 50000',
  dataset: 'tank/backup/zippy',
  startedAt: T0,
  counters: { '101': 1000, '90': 5000 },
  progressAt: T0 + 10_000,
};

test('a lease reads back as written; anything else is not a lease', (t) => {
  t.deepEqual(parseLease(serializeLease(lease)), lease);
  // Before zfs starts, and where no sshd was found, those are left out.
  const { zfs: _zfs, session: _session, ...early } = lease;
  t.deepEqual(parseLease(serializeLease({ ...early, zfs: undefined, session: undefined })), early as ReceiveLease);
  for (const text of ['', '{', 'null', '{"lease":2}', JSON.stringify({ ...lease, serve: { pid: 1, start: '1' } }), JSON.stringify({ ...lease, serve: { pid: 100 } }), JSON.stringify({ ...lease, counters: { '101': 'x' } }), JSON.stringify({ ...lease, zfs: { pid: -3, start: '1' } })]) {
    t.is(parseLease(text), undefined, text);
  }
});

test('the watched processes are its zfs receive and its sshd', (t) => {
  t.deepEqual(watchedPids(lease), [101, 90]);
  t.deepEqual(watchedPids({ zfs: undefined, session: undefined }), []);
});

const beats: Array<[string, Record<string, number | undefined>, boolean]> = [
  ['nothing moved', { '101': 1000, '90': 5000 }, false],
  ['the sshd read (data or keepalives)', { '101': 1000, '90': 5100 }, true],
  ['zfs read', { '101': 2000, '90': 5000 }, true],
  ['a counter no longer readable', { '101': undefined, '90': 5000 }, false],
];
for (const [title, observed, moved] of beats) {
  test(`heartbeat: ${title} -> ${moved ? 'progress now' : 'unchanged'}`, (t) => {
    const next = heartbeat(lease, observed, T0 + 60_000);
    if (moved) t.deepEqual(next, { ...lease, counters: observed as Record<string, number>, progressAt: T0 + 60_000 });
    else t.is(next, lease);
  });
}

// [title, counters now, seconds since the lease's last progress, verdict]
const verdicts: Array<[string, Record<string, number | undefined>, number, ReturnType<typeof judgeLease>]> = [
  ['idle longer than the bound', { '101': 1000, '90': 5000 }, STALE_RECEIVE_SECONDS + 1, { kind: 'stale', idleSeconds: STALE_RECEIVE_SECONDS + 1 }],
  ['idle, but not for longer than the bound', { '101': 1000, '90': 5000 }, STALE_RECEIVE_SECONDS, { kind: 'live', idleSeconds: STALE_RECEIVE_SECONDS, readable: true }],
  ['idle a few seconds', { '101': 1000, '90': 5000 }, 3, { kind: 'live', idleSeconds: 3, readable: true }],
  ['read since the lease was written (the holder has not beaten yet)', { '101': 1000, '90': 5001 }, 600, { kind: 'live', idleSeconds: 0, readable: true }],
  ['zfs gone, sshd idle long (zfs-fuse: only the sshd counter ever moves)', { '101': undefined, '90': 5000 }, 600, { kind: 'stale', idleSeconds: 600 }],
  ['no counter readable: nothing can be told', { '101': undefined, '90': undefined }, 600, { kind: 'live', idleSeconds: 600, readable: false }],
];
for (const [title, observed, idle, verdict] of verdicts) {
  test(`judgeLease: ${title}`, (t) => {
    t.deepEqual(judgeLease(lease, observed, lease.progressAt + idle * 1000), verdict);
  });
}

test("serve's line says who holds the tree and when serve will count it as gone", (t) => {
  t.is(
    earlierReceiveLine(lease, { kind: 'live', idleSeconds: 3, readable: true }),
    `an earlier receive into tank/backup/zippy is still running here (for 192.0.2.1 port 50000 since 2026-10-01T00:00:00Z, serve PID 100; it has read nothing for 3 s, and serve ends it once that passes ${STALE_RECEIVE_SECONDS} s, in about ${STALE_RECEIVE_SECONDS - 3} s); run again after that`,
  );
  t.regex(earlierReceiveLine(lease, { kind: 'live', idleSeconds: 0, readable: false }), /its read counters cannot be read here, .* ends when that connection times out\); run again after that$/);
});

const staleAfter: Array<[string, ReturnType<typeof parseStaleAfter>]> = [
  ['40', { seconds: 40 }],
  ['10', { seconds: 10 }],
  ['86400', { seconds: 86_400 }],
  [' 180 ', { seconds: 180 }],
  ['9', { problem: '9 s is outside 10..86400 s (serve reads a receive\'s counters every 2 s)' }],
  ['86401', { problem: '86401 s is outside 10..86400 s (serve reads a receive\'s counters every 2 s)' }],
  ['0', { problem: '0 s is outside 10..86400 s (serve reads a receive\'s counters every 2 s)' }],
  ['1.5', { problem: '"1.5" is not a whole number of seconds' }],
  ['-40', { problem: '"-40" is not a whole number of seconds' }],
  ['2m', { problem: '"2m" is not a whole number of seconds' }],
  ['', { problem: '"" is not a whole number of seconds' }],
];
for (const [text, parsed] of staleAfter) {
  test(`parseStaleAfter(${JSON.stringify(text)})`, (t) => {
    t.deepEqual(parseStaleAfter(text), parsed);
  });
}

test("serve's line names the bound it was given", (t) => {
  t.regex(earlierReceiveLine(lease, { kind: 'live', idleSeconds: 45, readable: true }, 120), /it has read nothing for 45 s, and serve ends it once that passes 120 s, in about 75 s\); run again after that$/);
});
