// No run hangs: a link that goes silent (no reset, no close) while connecting, probing, streaming or checking ends the run within 90 s (exit 69, one line naming where); a receive it leaves alive is exit 75, and serve ends its own once its client is gone.
import test, { type ExecutionContext } from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { runCliAsync, type CliResult } from '../bed/cli';
import { mountTree, pidsWithArgs, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { treeSignature, zfs, type TestPool } from '../bed/pools';
import { startRelay, type Relay } from '../bed/relay';
import { remoteShellWith, waitForEnd, waitForProcess, withArgs } from '../bed/watch';
import { receivedMountpoint } from '../../src/app/push';
import { STALE_RECEIVE_SECONDS } from '../../src/core/receive-lease';
import { serveRequestCommand } from '../../src/core/serve-protocol';

const bed = useBed(test);
// One case at a time. zfs-fuse runs every zfs send and receive on one of a fixed set of daemon
// threads (8 here), each held for the whole stream, and a receive left by a dead link holds its
// thread until that connection ends. With all cases at once beside the fault suite, dead receives
// and sends whose receives could not get a thread took all 8: every zfs command then waited (a CI
// run stalled for 5 min). OpenZFS runs each in its caller's thread; this is the test ZFS's limit.
const SHIPPED_CONFIG = readFileSync(new URL('../../etc/cyber-zfs-backup.ssh_config', import.meta.url), 'utf8');
const PROMISE_MS = 90_000;
/** serve --stale-receive-after of the key whose request must find the dead receive not yet gone. */
const PATIENT_BOUND_SECONDS = 600;

let pools: { sender: TestPool; receiver: TestPool } | undefined;
test.before(() => {
  pools = { sender: bed.pool('czbls', '512M'), receiver: bed.pool('czblr', '512M') };
});

type Phase = 'connect' | 'probe' | 'stream' | 'check';
type ConfigKind = 'shipped' | 'unset';

/** One sender tree pushed once (full), then a snapshot with a few MiB more to push: its own receive root, and a serve key for it when asked. */
async function scenario(name: string, receiver: 'plain' | 'serve') {
  if (!pools) throw new Error('pools not created');
  const local = `${pools.sender.name}/${name}`;
  const root = `${pools.receiver.name}/r-${name}`;
  const receive = `${root}/h`;
  zfs('create', local);
  zfs('create', `${local}/a`);
  zfs('create', root);
  const mnt = mkdtempSync(join(pools.sender.dir, `mnt-${name}-`));
  mountTree(local, mnt);
  writeRandomFile(mnt, 'first.bin', 300_000);
  zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
  const serve = receiver === 'serve' ? bed.sshd.addServeKey(name, ['--root', root]) : undefined;
  const identity = serve?.key ?? bed.sshd.clientKey;
  const direct = serve?.config ?? bed.sshd.config;
  const push = (config: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', config, ...extra], { env });
  const first = await push(direct, ['--force-non-incremental']);
  if (first.code !== 0) throw new Error(`the first push of ${name} failed: ${first.stderr}`);
  // More than the sender can hold once the link is silent after 1 MiB (zfs send's and ssh's pipes,
  // 256 KiB each, the relay's 1 MiB chunk, and ssh's 2 MiB window), so the stream is cut mid-way.
  writeRandomFile(mnt, 'second.bin', 8 * 1048576);
  writeRandomFile(join(mnt, 'a'), 'second.bin', 200_000);
  zfs('snapshot', '-r', `${local}@2026-10-02T00:00:00Z`);
  /** An ssh_config for `offsite` through the relay: the shipped file's settings after ours (first value wins), or nothing else. */
  const relayConfig = (relay: Relay, kind: ConfigKind) => {
    const kh = join(bed.sshd.dir, `known_hosts.${name}`);
    writeFileSync(kh, `${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${relay.port} `)}\n`);
    const file = bed.sshd.writeConfig(`cfg.${name}`, [`Port ${relay.port}`, `UserKnownHostsFile ${kh}`], 'offsite', identity);
    if (kind === 'shipped') appendFileSync(file, `\n${SHIPPED_CONFIG}`);
    return file;
  };
  return { local, root, receive, serve, direct, push, relayConfig };
}

/** The one line a run ended with (every other line is --debug output). */
function finalLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('cyber-zfs-backup: '));
}

/** Starts the fault that silences the link in `phase`, for a run through `relay`. */
function silenceIn(phase: Phase, relay: Relay, s: Awaited<ReturnType<typeof scenario>>, running: () => boolean): void {
  // Each watcher ends with the run (stop), so its own bound only has to outlast a slow start.
  const stop = () => !running();
  if (phase === 'probe') {
    // The first remote command of the run is the probe: freeze it as it starts, silence the link, let it go on.
    const match = s.serve ? withArgs('serve', '--root', s.root) : remoteShellWith(s.receive);
    void waitForProcess(bed.sshd.pid, match, 300_000, stop).then((pid) => {
      if (pid === undefined) return;
      try {
        process.kill(pid, 'SIGSTOP');
        relay.silence();
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    });
  }
  if (phase === 'check') {
    // Once zfs receive has read the whole stream and ended, what is left is the receiver's answer and the check.
    void waitForProcess(bed.sshd.pid, withArgs('receive', s.receive), 300_000, stop).then(async (pid) => {
      if (pid !== undefined && (await waitForEnd(pid, 60_000))) relay.silence();
    });
  }
}

const WHERE: Record<Phase, RegExp> = {
  connect: /went silent while connecting \(the SSH handshake and login\): nothing came back for 30 s \(ConnectTimeout\)/,
  probe: /went silent while probing the receiver: 3 keepalives, one every 10 s, went unanswered \(40 s\)/,
  stream: /went silent mid-stream, after [\d.]+ MiB: 3 keepalives, one every 10 s, went unanswered \(40 s\)/,
  check: /went silent after the stream was sent, while the receiver finished it and was checked .*: 3 keepalives, one every 10 s, went unanswered \(40 s\)/,
};

/** Runs a push through a relay that goes silent in `phase`; checks it ends in time with its line; returns it, the relay still silent. */
async function deadRun(t: ExecutionContext, s: Awaited<ReturnType<typeof scenario>>, phase: Phase, kind: ConfigKind, whileSilent?: (silentAt: number) => Promise<void>) {
  const relay = await startRelay(bed.sshd.port, phase === 'connect' ? { silentAfter: 0 } : phase === 'stream' ? { silentAfter: 1048576 } : {});
  t.teardown(() => relay.close());
  let running = true;
  const started = Date.now();
  const run = s.push(s.relayConfig(relay, kind), ['--debug']).finally(() => (running = false));
  silenceIn(phase, relay, s, () => running);
  let silentAt: number | undefined;
  void relay.silenced().then(() => (silentAt = Date.now()));
  // What fails while the link is silent is kept until the run has ended, then thrown.
  const during = whileSilent ? relay.silenced().then(() => whileSilent(Date.now())).then(() => undefined, (e: unknown) => e) : undefined;
  const r = await run;
  const ended = Date.now();
  // A fault that never came (the run got past its phase first) fails here: awaiting the silence would wait for ever.
  if (silentAt === undefined) throw new Error(`the link never went silent ${phase === 'stream' ? 'mid-stream' : `in the ${phase}`}: the run ended first, exit ${r.code}: ${r.stderr.slice(-2000)}`);
  const failedWhileSilent = await during;
  if (failedWhileSilent !== undefined) throw failedWhileSilent;
  // The promise runs from the moment the link goes silent (a busy machine may take long to get there).
  const silentFor = ended - silentAt;
  t.log(`${phase}, ${kind} config, ${s.serve ? 'serve' : 'plain'}: exit ${r.code} ${(silentFor / 1000).toFixed(1)} s after the link went silent (${((ended - started) / 1000).toFixed(1)} s in all): ${finalLines(r).join(' | ')}`);
  t.is(r.code, 69, r.stderr.slice(-3000));
  t.true(silentFor < PROMISE_MS, `the run ended ${silentFor} ms after the link went silent`);
  t.deepEqual(finalLines(r).length, 1, r.stderr.slice(-3000));
  t.regex(finalLines(r)[0] ?? '', /^cyber-zfs-backup: the link to offsite \(root@\[127\.0\.0\.1\]:\d+\) went silent /);
  t.regex(finalLines(r)[0] ?? '', WHERE[phase]);
  t.regex(
    r.stderr,
    kind === 'unset' ? /offsite: the ssh config sets no ServerAliveInterval .* applies its own: a keepalive every 10 s, 3 may go unanswered/ : /offsite: ServerAliveInterval 10 and ServerAliveCountMax 3 from the ssh config/,
  );
  return { relay, silentAt };
}

/** The link is back: the dead connection is gone (and with it the receive it fed); the next run leaves an exact mirror. */
async function linkBack(t: ExecutionContext, s: Awaited<ReturnType<typeof scenario>>, relay: Relay) {
  await relay.close();
  for (let i = 0; i < 300 && pidsWithArgs(['receive', s.receive]).length > 0; i += 1) await new Promise((r) => setTimeout(r, 100));
  const heal = await s.push(s.direct);
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(s.receive), treeSignature(s.local), 'names and GUIDs per dataset');
}

const cases: Array<[Phase, ConfigKind, 'plain' | 'serve']> = [
  ['connect', 'shipped', 'plain'],
  ['connect', 'unset', 'serve'],
  ['probe', 'shipped', 'plain'],
  ['probe', 'unset', 'serve'],
  ['check', 'shipped', 'plain'],
  ['check', 'unset', 'serve'],
];

for (const [phase, kind, receiver] of cases) {
  test.serial(`a link silent ${phase === 'connect' ? 'at connect' : phase === 'probe' ? 'during the probe' : 'during the check'} (${kind === 'shipped' ? 'the shipped ssh config' : 'an ssh config that sets nothing'}, ${receiver} receiver): exit 69 within 90 s with its line; once it is back, an exact mirror`, async (t) => {
    const s = await scenario(`${phase}-${kind}`, receiver);
    const { relay } = await deadRun(t, s, phase, kind);
    await linkBack(t, s, relay);
  });
}

test.serial('a link silent mid-stream (the shipped ssh config, plain receiver): exit 69; the receive it left is exit 75 "still running there"; once the connection is gone, the next run heals', async (t) => {
  const s = await scenario('stream-shipped', 'plain');
  const { relay } = await deadRun(t, s, 'stream', 'shipped');
  t.is(pidsWithArgs(['receive', s.receive]).length, 1, 'the dead run left its zfs receive running on the offsite host');
  const busy = await s.push(s.direct);
  t.is(busy.code, 75, busy.stderr);
  t.is(finalLines(busy).length, 1, busy.stderr);
  t.regex(busy.stderr, /^cyber-zfs-backup: push of \S+ \(incremental from @2026-10-01T00:00:00Z\) to offsite:\S+ cannot start: an earlier receive into that dataset is still running there, left by a run whose connection died; it ends when that connection times out there .*; run again after that, and the next run heals as usual$/m);
  await linkBack(t, s, relay);
});

test.serial('a link silent mid-stream (an ssh config that sets nothing, serve): exit 69; while its receive may still be fed, exit 75; once it has read nothing for the keepalive bound, serve ends it and the next run heals without waiting for the connection to time out', async (t) => {
  const s = await scenario('stream-unset', 'serve');
  // Another key for the same tree whose serve counts a receive as gone only after 600 s of reading
  // nothing: its request is answered exit 75 however slowly a loaded machine gets it there (with the
  // default 40 s, a CI run once took 85 s from the silence to serve's answer, and serve then rightly
  // ended the dead receive). The heal below goes through the first key, with the default bound.
  const patient = bed.sshd.addServeKey('stream-unset-patient', ['--root', s.root, '--stale-receive-after', String(PATIENT_BOUND_SECONDS)]);
  // While the dead run still waits for its keepalives, another receive into the tree (as from a
  // second host) finds the dead run's not yet counted as gone: exit 75, saying when it will be.
  const { relay, silentAt } = await deadRun(t, s, 'stream', 'unset', async (wentSilentAt) => {
    // OpenSSH's client hands sshd a whole window of the stream before serve has even started: the
    // link may be silent before the dead run's serve holds the tree. A request before that would
    // simply receive first, so it waits for the dead run's zfs receive to run.
    const receiving = await waitForProcess(bed.sshd.pid, withArgs('receive', s.receive), 120_000);
    if (receiving === undefined) throw new Error(`the dead run's zfs receive into ${s.receive} never started on the offsite host`);
    // The request is sent by OpenSSH's client itself, not by a whole run (which lists, probes and
    // plans first). Every word of the run's refusal line is built from this answer (a table test).
    const asked = Date.now();
    const request = serveRequestCommand({ verb: 'receive', dataset: s.receive, tree: s.receive, mode: 'tree', mountpoint: receivedMountpoint(hostname()) });
    const early = await execa('ssh', ['-F', patient.config, 'offsite', request], { input: '', reject: false, timeout: 180_000, env: { LC_ALL: 'C' } });
    const took = `asked ${((asked - wentSilentAt) / 1000).toFixed(1)} s after the link went silent, answered in ${((Date.now() - asked) / 1000).toFixed(1)} s`;
    t.log(`another receive into the tree while the dead run waits: ${took}: exit ${early.exitCode}: ${early.stderr.trim()}`);
    t.is(early.exitCode, 75, `${took}: ${early.stderr}`);
    t.regex(early.stderr, new RegExp(`serve: an earlier receive into \\S+ is still running here \\(for 127\\.0\\.0\\.1 port \\d+ since \\S+Z, serve PID \\d+; it has read nothing for \\d+ s, and serve ends it once that passes ${PATIENT_BOUND_SECONDS} s, in about \\d+ s\\); run again after that$`, 'm'));
    t.is(pidsWithArgs(['receive', s.receive]).length, 1, 'serve left the receive that was not yet counted as gone');
  });
  const serveLog = s.serve?.log ?? '';
  const wait = silentAt + (STALE_RECEIVE_SECONDS + 6) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // The relay still holds the dead connection open: nothing but serve can end that receive now. The
  // receive may have gone on reading what sshd had buffered after the link went silent (on a loaded
  // machine, for seconds), so a run that comes too early is told how long is left: it waits that long, once.
  let heal = await s.push(s.direct);
  const left = /serve ends it once that passes 40 s, in about (\d+) s\)/.exec(heal.stderr);
  if (heal.code === 75 && left) {
    t.log(`the receive had read until ${STALE_RECEIVE_SECONDS - Number(left[1])} s before this run; waiting ${left[1]} s more`);
    t.true(Number(left[1]) <= STALE_RECEIVE_SECONDS, heal.stderr);
    await new Promise((r) => setTimeout(r, (Number(left[1]) + 3) * 1000));
    heal = await s.push(s.direct);
  }
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(s.receive), treeSignature(s.local), 'names and GUIDs per dataset');
  const log = readFileSync(serveLog, 'utf8');
  for (const line of log.split('\n').filter((l) => /ending the earlier|ended the earlier/.test(l))) t.log(line.replace(/^\S+ /, ''));
  t.regex(log, /warning: ending the earlier receive into \S+ from 127\.0\.0\.1 port \d+ \(serve PID \d+, zfs receive PID \d+, sshd PID \d+\), asked for 127\.0\.0\.1 port \d+ .*: it has read nothing for \d+ s \(over 40 s\), so its client is gone/);
  t.regex(log, /notice: ended the earlier receive into .*, asked for .*, in [\d.]+ s; this receive goes on/);
  await relay.close();
});
