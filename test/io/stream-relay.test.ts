// Both relays between zfs send's pipe and ssh's (the worker thread, and the zero-copy splice child), with real child processes on both ends: every byte in order and counted, the end of the stream passed on, EPIPE when the reader goes.
import test from 'ava';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asStdio, makePipes } from '../../src/io/fifo';
import { syscallNumber } from '../../src/core/syscalls';
import { startSpliceRelay } from '../../src/io/splice-relay';
import { startRelay, type Relay } from '../../src/io/stream-relay';
import { pidsWithArgs } from '../bed/content';
import { scratchDir } from '../bed/scratch';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process has ended (a zombie not reaped yet counts as ended). */
function ended(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

type Start = (from: number, to: number) => Relay;

const worker = (bytesPerSecond = 0): Start => (from, to) => startRelay({ from, to, bytesPerSecond, slackSeconds: 2, aheadSeconds: 0.05 });
const splice = (perl = 'perl'): Start => (from, to) => startSpliceRelay({ from, to }, { splice: syscallNumber('splice', process.arch) ?? -1, prctl: syscallNumber('prctl', process.arch) ?? -1 }, perl);
const RELAYS: Array<[string, Start]> = [
  ['worker', worker()],
  ['splice', splice()],
];

/** `writer` writes into one pipe, the relay moves it into the other, `reader` reads that; each child holds only its own end. */
async function relayBetween(dir: string, writer: string, reader: string, start: Start) {
  const pipes = await makePipes(dir, ['in', 'out']);
  const read = execa('sh', ['-c', reader], { stdin: asStdio(pipes.out.read), reject: false });
  closeSync(pipes.out.read);
  const write = execa('sh', ['-c', writer], { stdout: asStdio(pipes.in.write), reject: false });
  closeSync(pipes.in.write);
  const relay = start(pipes.in.read, pipes.out.write);
  let first = false;
  void relay.firstByte.then(() => {
    first = true;
  });
  const [end, wrote, readEnd] = await Promise.all([relay.ended, write, read]);
  return { end, wrote, readEnd, bytes: relay.bytes(), first };
}

for (const [kind, start] of RELAYS) {
  for (const size of [1, 65535, 1048576, 1048577, 9 * 1048576 + 13]) {
    test(`${kind}: ${size} bytes arrive whole and in order, counted, and the reader sees the end of the stream`, async (t) => {
      const dir = scratchDir(t, 'czb-relay-');
      const input = join(dir, 'input');
      writeFileSync(input, randomBytes(size));
      const r = await relayBetween(dir, `cat ${input}`, `cat > ${join(dir, 'output')}`, start);
      t.is(r.end.error, undefined);
      t.is(r.bytes, size);
      t.true(r.first);
      t.is(r.readEnd.exitCode, 0);
      t.true(readFileSync(join(dir, 'output')).equals(readFileSync(input)));
    });
  }

  test(`${kind}: an empty stream: the end passes at once, nothing counted, no first byte`, async (t) => {
    const dir = scratchDir(t, 'czb-relay-');
    const r = await relayBetween(dir, 'true', `wc -c > ${join(dir, 'count')}`, start);
    t.is(r.end.error, undefined);
    t.is(r.bytes, 0);
    t.false(r.first);
    t.is(readFileSync(join(dir, 'count'), 'utf8').trim(), '0');
  });

  test(`${kind}: a reader that goes early: the relay ends with EPIPE, and the writer, left writing, gets SIGPIPE`, async (t) => {
    const r = await relayBetween(scratchDir(t, 'czb-relay-'), 'cat /dev/zero', 'head -c 100000 > /dev/null', start);
    t.is(r.end.error, 'EPIPE');
    t.true(r.bytes >= 100000, `${r.bytes} bytes handed on`);
    t.is(r.readEnd.exitCode, 0);
    // The shell either became cat (the signal) or reports cat's death by it (128 + 13).
    t.true(r.wrote.signal === 'SIGPIPE' || r.wrote.exitCode === 141, `writer: ${r.wrote.signal ?? r.wrote.exitCode}`);
  });
}

test('splice: a relay that cannot run (no perl) ends with an error, and closes both ends: the reader sees the end, the writer EPIPE', async (t) => {
  const dir = scratchDir(t, 'czb-relay-');
  const r = await relayBetween(dir, 'cat /dev/zero', `wc -c > ${join(dir, 'count')}`, splice(join(dir, 'no-such-perl')));
  t.regex(r.end.error ?? '', /^the relay ended without its count/);
  t.is(readFileSync(join(dir, 'count'), 'utf8').trim(), '0');
  t.true(r.wrote.signal === 'SIGPIPE' || r.wrote.exitCode === 141, `writer: ${r.wrote.signal ?? r.wrote.exitCode}`);
});

test('worker: --bwlimit 1M on 3 MiB: about 3 s, every byte arrives', async (t) => {
  const dir = scratchDir(t, 'czb-relay-');
  const started = process.hrtime.bigint();
  const r = await relayBetween(dir, 'head -c 3145728 /dev/zero', `wc -c > ${join(dir, 'count')}`, worker(1048576));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.is(r.end.error, undefined);
  t.is(readFileSync(join(dir, 'count'), 'utf8').trim(), '3145728');
  t.true(seconds >= 2.8, `${seconds.toFixed(2)} s`);
});

test('splice: a run killed by SIGKILL leaves no relay behind: the kernel ends it with its parent', async (t) => {
  const dir = scratchDir(t, 'czb-relay-');
  const script = join(dir, 'owner.mts');
  const src = (file: string) => new URL(`../../src/${file}`, import.meta.url).pathname;
  // The owner's relay waits on a pipe whose writer (sleep, stopped by its PID below) never writes.
  writeFileSync(
    script,
    `import { spawn } from 'node:child_process';\n` +
      `import { closeSync } from 'node:fs';\n` +
      `import { asStdio, makePipes } from '${src('io/fifo.ts')}';\n` +
      `import { startSpliceRelay } from '${src('io/splice-relay.ts')}';\n` +
      `import { syscallNumber } from '${src('core/syscalls.ts')}';\n` +
      `const pipes = await makePipes(process.argv[2], ['in', 'out']);\n` +
      `const writer = spawn('sleep', ['300'], { stdio: ['ignore', asStdio(pipes.in.write), 'ignore'] });\n` +
      `closeSync(pipes.in.write);\n` +
      `startSpliceRelay({ from: pipes.in.read, to: pipes.out.write }, { splice: syscallNumber('splice', process.arch), prctl: syscallNumber('prctl', process.arch) });\n` +
      `console.log(writer.pid);\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const owner = execa(process.execPath, ['--import', 'tsx', script, dir], { cwd: new URL('../..', import.meta.url).pathname, reject: false });
  const writer = await new Promise<number>((resolve, reject) => {
    owner.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    void owner.then((r) => reject(new Error(`the owner ended first: ${r.stderr}`)));
  });
  t.teardown(() => {
    if (existsSync(`/proc/${writer}`)) process.kill(writer, 'SIGTERM');
  });
  const relays = () => pidsWithArgs(['-e', String(owner.pid)]);
  for (const end = Date.now() + 5000; Date.now() < end && relays().length === 0; ) await pause(20);
  t.is(relays().length, 1, 'the relay runs, waiting on its pipe');
  const [relay] = relays();
  owner.kill('SIGKILL');
  await owner;
  for (const end = Date.now() + 5000; Date.now() < end && !ended(relay as number); ) await pause(20);
  t.true(ended(relay as number), 'the relay ended with its owner');
});
