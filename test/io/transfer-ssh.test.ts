// The stream through a child `ssh` without a network: a stand-in ssh program (reads the argv the adapter builds, its stdin, writes its log where -E says) shows how each end is reported.
import test, { type ExecutionContext } from 'ava';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../bed/scratch';
import { keepaliveFor } from '../../src/core/link';
import { startEarlySend } from '../../src/io/early-send';
import { sendThroughSsh, type OpenSshStream } from '../../src/io/transfer-ssh';

const MIB = 1048576;

/** Stands in for ssh: skips the options, runs the "remote command" named by its last argument. */
const FAKE_SSH = `#!/bin/sh
log=
while [ $# -gt 0 ]; do
  case "$1" in
    -E) log=$2; shift 2 ;;
    -F|-o) shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
status() { echo "debug1: client_input_channel_req: channel 0 rtype $1 reply 0" >> "$log"; }
case "$2" in
  ok) wc -c | tr -d ' ' >&2; printf '{"serve":1}\\n'; status exit-status; exit 0 ;;
  fail) head -c 1000 >/dev/null; echo 'cannot receive incremental stream: destination has been modified' >&2; status exit-status; exit 1 ;;
  lost) head -c 100000 >/dev/null; echo 'Read from remote host 127.0.0.1: Connection reset by peer' >> "$log"; exit 255 ;;
  killed) head -c 1000 >/dev/null; echo 'czb: the receive was killed by signal SIGKILL' >&2; status exit-signal; exit 255 ;;
  silent) head -c 1000 >/dev/null; echo 'Timeout, server 127.0.0.1 not responding.' >> "$log"; exit 255 ;;
  hostkey) echo 'Host key verification failed.' >> "$log"; exit 255 ;;
esac
`;

function fakeSsh(t: ExecutionContext): string {
  const dir = scratchDir(t, 'czb-fake-ssh-');
  const file = join(dir, 'ssh');
  writeFileSync(file, FAKE_SSH);
  chmodSync(file, 0o755);
  return file;
}

function stream(program: string, command: string, onSilent: () => void = () => {}): OpenSshStream {
  return {
    carrier: 'openssh',
    program,
    command,
    link: 'offsite (root@[127.0.0.1]:2222)',
    onSilent,
    target: {
      destination: 'offsite',
      config: '/dev/null',
      hostname: '127.0.0.1',
      port: 2222,
      user: 'root',
      identityFiles: [],
      identitiesOnly: true,
      agentSocket: undefined,
      userKnownHostsFiles: [],
      globalKnownHostsFiles: [],
      hostKeyAlias: undefined,
      keepalive: keepaliveFor(0, 3),
      connectTimeoutSeconds: 30,
      ciphers: [],
    },
  };
}

const produce = (bytes: number) => ({ zfsProgram: 'head', sendArgs: ['-c', String(bytes), '/dev/zero'] });

test('every byte is relayed and counted; the remote status, stdout (serve reply) and stderr come back; onSent before the end', async (t) => {
  const events: string[] = [];
  const r = await sendThroughSsh(stream(fakeSsh(t), 'ok'), { ...produce(16 * MIB), onSent: () => events.push('sent'), onProgress: () => events.push('progress') });
  t.is(r.bytes, 16 * MIB);
  t.is(r.receiveStderr.trim(), String(16 * MIB), 'the far end read every byte');
  t.is(r.sendExitCode, 0);
  t.is(r.receiveExitCode, 0);
  t.is(r.receiveSignal, null);
  t.is(r.receiveStdout, '{"serve":1}\n');
  t.is(r.carrierFailure, undefined);
  t.true(events.includes('sent'));
});

test('a remote failure keeps its exit status and stderr; zfs send, left writing, is stopped', async (t) => {
  const r = await sendThroughSsh(stream(fakeSsh(t), 'fail'), produce(64 * MIB));
  t.is(r.receiveExitCode, 1);
  t.regex(r.receiveStderr, /destination has been modified/);
  t.true(r.sendStoppedByUs);
});

test('a connection lost mid-stream: no exit status, no signal, zfs send stopped, not called silent', async (t) => {
  let silent = false;
  const r = await sendThroughSsh(stream(fakeSsh(t), 'lost', () => (silent = true)), produce(64 * MIB));
  t.is(r.receiveExitCode, null);
  t.is(r.receiveSignal, null);
  t.true(r.sendStoppedByUs);
  t.false(silent);
});

test('a killed receive: the signal named by the shell line, no exit status', async (t) => {
  const r = await sendThroughSsh(stream(fakeSsh(t), 'killed'), produce(64 * MIB));
  t.is(r.receiveExitCode, null);
  t.is(r.receiveSignal, 'SIGKILL');
});

test('unanswered keepalives tell the session the link went silent', async (t) => {
  let silent = false;
  const r = await sendThroughSsh(stream(fakeSsh(t), 'silent', () => (silent = true)), produce(64 * MIB));
  t.is(r.receiveExitCode, null);
  t.true(silent);
});

test('a host key OpenSSH refuses is exit 69 with a "host key refused" line', async (t) => {
  const r = await sendThroughSsh(stream(fakeSsh(t), 'hostkey'), produce(MIB));
  t.is(r.carrierFailure?.exitCode, 69);
  t.regex(r.carrierFailure?.message ?? '', /^host key refused: offsite \(root@\[127\.0\.0\.1\]:2222\) .*Host key verification failed/);
});

test('--bwlimit 8M on 16 MiB holds the relay back to the rate', async (t) => {
  const r = await sendThroughSsh(stream(fakeSsh(t), 'ok'), { ...produce(16 * MIB), bytesPerSecond: 8 * MIB });
  t.is(r.bytes, 16 * MIB);
  // Without the limiter in the relay this takes a fraction of a second; that the limiter does not
  // starve the stream is transfer.test.ts's (the same stage, startSend), on an idle machine.
  t.true(r.streamSeconds >= 1.9, `${r.streamSeconds} s`);
});

test('ssh gone while something still holds the pipe zfs send wrote into (a child it left): the run does not wait for that writer', async (t) => {
  const pidFile = join(scratchDir(t, 'czb-writer-'), 'pid');
  // The writer is stopped by its PID once the test is over.
  t.teardown(() => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
    if (pid > 1 && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGTERM');
  });
  // The stand-in zfs send writes a little, then waits on a child that keeps its stdout (the pipe) open
  // and outlives it: stopping zfs send does not end that child, so the relay never sees the end of its input.
  const sender = { zfsProgram: 'sh', sendArgs: ['-c', `head -c 1000 /dev/zero; sleep 60 2>/dev/null & echo $! > ${pidFile}; wait`] };
  const bound = new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 20_000).unref());
  const r = await Promise.race([sendThroughSsh(stream(fakeSsh(t), 'fail'), sender), bound]);
  if (r === 'held') return t.fail('the run was still waiting 20 s after ssh had exited');
  t.is(r.receiveExitCode, 1);
  t.regex(r.receiveStderr, /destination has been modified/);
  t.true(existsSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}`), 'the writer was still there when the run returned');
});

/** Stands in for zfs send: notes its PID and where its stdout goes in MARK, then writes BYTES zeros. */
const NOTED_SEND = `#!/bin/sh
echo "$$ $(readlink /proc/$$/fd/1)" >> "$1"
exec head -c "$2" /dev/zero
`;

function notedSend(t: ExecutionContext): { program: string; mark: string } {
  const dir = scratchDir(t, 'czb-early-');
  const program = join(dir, 'send');
  writeFileSync(program, NOTED_SEND);
  chmodSync(program, 0o755);
  return { program, mark: join(dir, 'mark') };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lines MARK holds once the stand-in has started (within 10 s). */
async function marks(mark: string): Promise<string[]> {
  for (const end = Date.now() + 10_000; Date.now() < end && !existsSync(mark); ) await pause(20);
  return readFileSync(mark, 'utf8').trim().split('\n');
}

/** Whether a process has ended (a zombie not reaped yet counts as ended). */
function ended(pid: string | undefined): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test('a zfs send started early waits on its pipe and is the one the stream takes: every byte arrives, no second send starts', async (t) => {
  const { program, mark } = notedSend(t);
  const early = await startEarlySend(program, [mark, String(4 * MIB)]);
  if (!early) return t.fail('the early send did not start');
  t.teardown(() => early.discard());
  const [noted] = await marks(mark);
  t.regex(noted ?? '', /^\d+ .*\/send\.fifo$/, 'it writes into its FIFO, read by nobody yet');
  const r = await sendThroughSsh(stream(fakeSsh(t), 'ok'), { zfsProgram: program, sendArgs: [...early.sendArgs], early });
  t.is(r.bytes, 4 * MIB);
  t.is(r.receiveStderr.trim(), String(4 * MIB), 'the far end read every byte');
  t.is(r.sendExitCode, 0);
  t.is(r.receiveExitCode, 0);
  t.deepEqual(await marks(mark), [noted], 'the early send, and no other');
  t.is(early.take(), undefined, 'taken once');
});

test('an early zfs send no stream takes is stopped by its PID when discarded, its FIFO and directory removed', async (t) => {
  const { program, mark } = notedSend(t);
  const early = await startEarlySend(program, [mark, String(64 * MIB)]);
  if (!early) return t.fail('the early send did not start');
  const [pid, fifo] = ((await marks(mark))[0] ?? '').split(' ');
  await pause(200);
  t.false(ended(pid), 'running, held by its full pipe');
  early.discard();
  for (const end = Date.now() + 10_000; Date.now() < end && !ended(pid); ) await pause(20);
  t.true(ended(pid), 'stopped');
  t.false(existsSync(fifo ?? '/'), 'its FIFO removed');
  t.is(early.take(), undefined, 'a discarded send cannot be taken');
});
