// The stream's shared connection against a real loopback sshd: streams open their sessions on it (exit status, signal and bytes as before), a master that cannot log in leaves the stream to connect by itself, and no master outlives its run, even one killed by SIGKILL.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keepaliveFor } from '../../src/core/link';
import type { StreamSshTarget } from '../../src/core/stream-ssh';
import { startMaster, type StreamMaster } from '../../src/io/stream-master';
import { sendThroughSsh, type OpenSshStream } from '../../src/io/transfer-ssh';
import { pidsWithArgs } from '../bed/content';
import { sleepSync } from '../bed/pools';
import { scratchDir } from '../bed/scratch';
import { startSshd, type TestSshd } from '../bed/sshd';

let sshd: TestSshd | undefined;
test.before(async () => {
  sshd = await startSshd();
});
test.after.always(async () => {
  await sshd?.stop();
});

function bed(): TestSshd {
  if (!sshd) throw new Error('sshd not started');
  return sshd;
}

/** The bed's sshd as the session would resolve it; `knownHosts` replaces its known_hosts file. */
function target(knownHosts?: string): StreamSshTarget {
  const s = bed();
  return {
    destination: 'offsite',
    config: s.config,
    hostname: '127.0.0.1',
    port: s.port,
    user: 'root',
    identityFiles: [s.clientKey],
    identitiesOnly: true,
    agentSocket: undefined,
    userKnownHostsFiles: [knownHosts ?? s.knownHosts],
    globalKnownHostsFiles: [],
    hostKeyAlias: undefined,
    keepalive: keepaliveFor(0, 3),
    connectTimeoutSeconds: 30,
    ciphers: [],
  };
}

/** sessions: where each stream says whether it opened its session on the shared connection. */
function stream(command: string, master: StreamMaster | undefined, knownHosts?: string, sessions?: boolean[]): OpenSshStream {
  return {
    carrier: 'openssh',
    program: 'ssh',
    target: target(knownHosts),
    command,
    link: 'offsite (root@[127.0.0.1])',
    onSilent: () => {},
    ...(master ? { master } : {}),
    ...(sessions ? { onSession: (shared: boolean) => sessions.push(shared) } : {}),
  };
}

const produce = (bytes: number) => ({ zfsProgram: 'head', sendArgs: ['-c', String(bytes), '/dev/zero'] });

/** Whether a process is gone (or only a zombie nobody has reaped yet). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function waitGone(pid: number, ms: number): boolean {
  for (const end = Date.now() + ms; Date.now() < end; sleepSync(50)) if (gone(pid)) return true;
  return gone(pid);
}

test('streams open their sessions on the logged-in master: bytes, reply, exit status and a killed command come back as on a connection of their own; once it is stopped a stream connects by itself', async (t) => {
  const master = startMaster(target());
  t.teardown(() => master.stop());
  const socket = await master.ready();
  t.truthy(socket, 'the master logged in');
  const pids = pidsWithArgs(['-N', `ControlPath=${socket as string}`]);
  t.is(pids.length, 1, 'one master process, found by its socket');
  const loggedSince = master.mark();
  const sessions: boolean[] = [];

  const ok = await sendThroughSsh(stream('wc -c; printf "{\\"serve\\":1}\\n"', master, undefined, sessions), produce(3 * 1048576));
  t.is(ok.bytes, 3 * 1048576);
  t.is(ok.receiveExitCode, 0);
  t.is(ok.receiveStdout, '3145728\n{"serve":1}\n');

  const failed = await sendThroughSsh(stream('cat >/dev/null; echo "cannot receive" >&2; exit 3', master), produce(100_000));
  t.is(failed.receiveExitCode, 3);
  t.is(failed.receiveStderr, 'cannot receive\n');
  t.is(failed.carrierFailure, undefined);

  const killed = await sendThroughSsh(stream('head -c 1000 >/dev/null; kill -KILL $$', master), produce(1048576));
  t.is(killed.receiveExitCode, null);
  t.truthy(killed.receiveSignal, 'a killed remote command, not a lost connection');
  t.is(killed.carrierFailure, undefined);

  // Each session's end is in the master's log: the three went over it, none by a connection of its own.
  t.is(loggedSince().match(/rtype exit-(status|signal) /g)?.length, 3);
  t.deepEqual(pidsWithArgs(['-N', `ControlPath=${socket as string}`]), pids, 'still the one master');

  master.stop();
  t.true(waitGone(pids[0] as number, 5000), 'stopped by its PID');
  t.false(existsSync(dirname(socket as string)), 'its directory removed');
  t.is(await master.ready(), undefined, 'a stopped master is not offered');
  t.deepEqual(sessions, [true], 'the stream said it went over the shared connection');

  // A stream offered a master that has gone connects by itself, says so, and delivers.
  const alone = await sendThroughSsh(stream('wc -c', master, undefined, sessions), produce(100_000));
  t.is(alone.receiveStdout, '100000\n');
  t.is(alone.receiveExitCode, 0);
  t.deepEqual(sessions, [true, false]);
});

test('a master that cannot log in (its host key unknown) is never ready, at once; the stream connects by itself and is refused as before (exit 69)', async (t) => {
  const empty = join(scratchDir(t, 'czb-master-'), 'known_hosts');
  writeFileSync(empty, '');
  const master = startMaster(target(empty));
  t.teardown(() => master.stop());
  const started = Date.now();
  t.is(await master.ready(), undefined);
  t.true(Date.now() - started < 10_000, 'without waiting out ConnectTimeout');
  const sessions: boolean[] = [];
  const result = await sendThroughSsh(stream('cat >/dev/null', master, empty, sessions), produce(1000));
  t.deepEqual(sessions, [false], 'the stream said it connected by itself');
  t.regex(result.carrierFailure?.message ?? '', /^host key refused: /);
  t.is(result.carrierFailure?.exitCode, 69);
});

test('a master that cannot start (its program missing, or a key path OpenSSH cannot carry) is never ready, at once', async (t) => {
  const dir = scratchDir(t, 'czb-master-');
  for (const master of [startMaster(target(), join(dir, 'no-such-ssh')), startMaster({ ...target(), identityFiles: [join(dir, 'my key')] })]) {
    const started = Date.now();
    t.is(await master.ready(), undefined);
    t.true(Date.now() - started < 10_000, 'at once, not after ConnectTimeout');
    t.is(master.mark()(), '');
    master.stop();
  }
});

test('a run killed by SIGKILL leaves no master behind: the kernel ends it with its parent', async (t) => {
  const script = join(scratchDir(t, 'czb-master-'), 'owner.mts');
  const srcDir = new URL('../../src/io/stream-master.ts', import.meta.url).pathname;
  writeFileSync(
    script,
    `import { startMaster } from '${srcDir}';\n` +
      `const m = startMaster(JSON.parse(process.argv[2]));\n` +
      `console.log(await m.ready());\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const owner = execa(process.execPath, ['--import', 'tsx', script, JSON.stringify(target())], { cwd: new URL('../..', import.meta.url).pathname, reject: false });
  const socket = await new Promise<string>((resolve, reject) => {
    owner.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    void owner.then((r) => reject(new Error(`the owner ended first: ${r.stderr}`)));
  });
  const pids = pidsWithArgs(['-N', `ControlPath=${socket}`]);
  t.is(pids.length, 1, `one master on ${socket}`);
  owner.kill('SIGKILL');
  await owner;
  t.true(waitGone(pids[0] as number, 5000), 'the master ended with its owner');
});
