// Table tests of the link rules: which keepalives a connection gets, the bound they set, and the lines a silent link or a left-over receive end a run with.
import test from 'ava';
import { ExitCode } from '../../src/core/exit-codes';
import { describeKeepalive, earlierReceiveError, earlierReceiveRunning, keepaliveFor, silenceBoundSeconds, silentLinkError, SILENT_LINK_PROMISE_SECONDS, type LinkPhase } from '../../src/core/link';

// [ssh -G serveraliveinterval, serveralivecountmax] -> [interval, count, from the config, bound]
const keepalives: Array<[number, number, number, number, boolean, number]> = [
  [0, 3, 10, 3, false, 40], // nothing set (or 0): the tool's default, well inside 90 s
  [0, 5, 10, 5, false, 60], // only the count set: it counts
  [15, 3, 15, 3, true, 60], // explicit: it wins
  [5, 2, 5, 2, true, 15],
  [60, 3, 60, 3, true, 240], // explicit and longer than the promise: still wins (said under --debug)
  [10, 0, 10, 1, true, 20], // a count of 0 would end every connection after one interval in ssh2
];
for (const [interval, count, wantInterval, wantCount, fromConfig, bound] of keepalives) {
  test(`keepaliveFor(${interval}, ${count}) -> every ${wantInterval} s, ${wantCount} unanswered, ${fromConfig ? 'from the config' : 'the default'}: ${bound} s`, (t) => {
    const k = keepaliveFor(interval, count);
    t.deepEqual(k, { intervalSeconds: wantInterval, countMax: wantCount, fromConfig });
    t.is(silenceBoundSeconds(k), bound);
  });
}

test('the default keepalives end a silent link well inside the promise', (t) => {
  t.true(silenceBoundSeconds(keepaliveFor(0, 3)) <= SILENT_LINK_PROMISE_SECONDS / 2);
});

test('describeKeepalive says when the default applies, and when an explicit setting exceeds the promise', (t) => {
  t.regex(describeKeepalive('offsite', keepaliveFor(0, 3)), /^offsite: the ssh config sets no ServerAliveInterval .* applies its own: a keepalive every 10 s, 3 may go unanswered: a silent link ends the run within 40 s$/);
  t.regex(describeKeepalive('offsite', keepaliveFor(10, 3)), /^offsite: ServerAliveInterval 10 and ServerAliveCountMax 3 from the ssh config: .* within 40 s$/);
  t.regex(describeKeepalive('offsite', keepaliveFor(60, 3)), /within 240 s \(longer than the 90 s of the default: lower ServerAliveInterval/);
});

const phases: Array<[LinkPhase, number | undefined, RegExp]> = [
  ['connect', undefined, /went silent while connecting \(the SSH handshake and login\): nothing came back for 30 s \(ConnectTimeout\).*; the next run tries again$/],
  ['probe', undefined, /went silent while probing the receiver: 3 keepalives, one every 10 s, went unanswered \(40 s\).*; the next run tries again$/],
  ['repair', undefined, /went silent while repairing the receiver/],
  ['stream', 5 * 1048576 + 1, /went silent mid-stream, after 5\.0 MiB: .*the next run goes on from the last common snapshot$/],
  ['check', undefined, /went silent after the stream was sent, while the receiver finished it and was checked/],
];
for (const [phase, streamed, line] of phases) {
  test(`silentLinkError names the phase: ${phase}`, (t) => {
    const waited = phase === 'connect' ? ({ kind: 'handshake', seconds: 30 } as const) : ({ kind: 'keepalive', keepalive: keepaliveFor(0, 3) } as const);
    const error = silentLinkError('offsite', phase, { link: 'offsite (root@[192.0.2.1]:2222)', waited }, streamed);
    t.is(error.exitCode, ExitCode.unavailable);
    t.regex(error.message, /^the link to offsite \(root@\[192\.0\.2\.1\]:2222\) went silent /);
    t.regex(error.message, line);
    t.notRegex(error.message, /\n/);
  });
}

// What a receive into a dataset that an earlier receive still holds prints, on each platform and from serve.
const earlier: Array<[string, string, { serveSays: string | undefined } | undefined]> = [
  ['zfs-fuse', 'cannot receive incremental stream: dataset is busy\n', { serveSays: undefined }],
  ['OpenZFS', 'cannot receive new filesystem stream: dataset is busy\n', { serveSays: undefined }],
  [
    'serve',
    'cyber-zfs-backup serve: an earlier receive into t/b/h is still running here (for 192.0.2.1 port 5 since 2026-10-01T00:00:00Z, serve PID 9; it has read nothing for 3 s, and serve ends it once that passes 40 s, in about 37 s); run again after that\n',
    { serveSays: 'for 192.0.2.1 port 5 since 2026-10-01T00:00:00Z, serve PID 9; it has read nothing for 3 s, and serve ends it once that passes 40 s, in about 37 s' },
  ],
  ['out of space', 'cannot receive incremental stream: out of space\n', undefined],
  ['the lock of the offsite expire', 'cyber-zfs-backup serve: another cyber-zfs-backup run (PID 7) is working on t/b (lock /run/lock/x); try again when it has finished\n', undefined],
];
for (const [title, stderr, expected] of earlier) {
  test(`earlierReceiveRunning: ${title}`, (t) => {
    t.deepEqual(earlierReceiveRunning(stderr), expected);
  });
}

test('earlierReceiveError: exit 75, saying the earlier receive still runs there and when it ends', (t) => {
  const plain = earlierReceiveError('push of p/h@s', 'offsite:t/b/h', undefined);
  t.is(plain.exitCode, ExitCode.temporary);
  t.regex(plain.message, /^push of p\/h@s to offsite:t\/b\/h cannot start: an earlier receive into that dataset is still running there, .*it ends when that connection times out there .*ClientAliveInterval.*; run again after that, and the next run heals as usual$/);
  t.regex(earlierReceiveError('push of p/h@s', 'offsite:t/b/h', 'it has read nothing for 3 s').message, /serve there ends it by itself once it has read nothing for a while \(it has read nothing for 3 s\)/);
});
