// The relay thread between zfs send's pipe and ssh's, with real child processes on both ends: every byte in order and counted, the end of the stream passed on, EPIPE when the reader goes.
import test from 'ava';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asStdio, makePipes } from '../../src/io/fifo';
import { startRelay } from '../../src/io/stream-relay';
import { scratchDir } from '../bed/scratch';

/** `writer` writes into one pipe, the relay moves it into the other, `reader` reads that; each child holds only its own end. */
async function relayBetween(dir: string, writer: string, reader: string, bytesPerSecond = 0) {
  const pipes = await makePipes(dir, ['in', 'out']);
  const read = execa('sh', ['-c', reader], { stdin: asStdio(pipes.out.read), reject: false });
  closeSync(pipes.out.read);
  const write = execa('sh', ['-c', writer], { stdout: asStdio(pipes.in.write), reject: false });
  closeSync(pipes.in.write);
  const relay = startRelay({ from: pipes.in.read, to: pipes.out.write, bytesPerSecond, slackSeconds: 2, aheadSeconds: 0.05 });
  let first = false;
  void relay.firstByte.then(() => {
    first = true;
  });
  const [end, wrote, readEnd] = await Promise.all([relay.ended, write, read]);
  return { end, wrote, readEnd, bytes: relay.bytes(), first };
}

for (const size of [1, 65535, 1048576, 1048577, 9 * 1048576 + 13]) {
  test(`${size} bytes arrive whole and in order, counted, and the reader sees the end of the stream`, async (t) => {
    const dir = scratchDir(t, 'czb-relay-');
    const input = join(dir, 'input');
    writeFileSync(input, randomBytes(size));
    const r = await relayBetween(dir, `cat ${input}`, `cat > ${join(dir, 'output')}`);
    t.is(r.end.error, undefined);
    t.is(r.bytes, size);
    t.true(r.first);
    t.is(r.readEnd.exitCode, 0);
    t.true(readFileSync(join(dir, 'output')).equals(readFileSync(input)));
  });
}

test('an empty stream: the end passes at once, nothing counted, no first byte', async (t) => {
  const dir = scratchDir(t, 'czb-relay-');
  const r = await relayBetween(dir, 'true', `wc -c > ${join(dir, 'count')}`);
  t.is(r.end.error, undefined);
  t.is(r.bytes, 0);
  t.false(r.first);
  t.is(readFileSync(join(dir, 'count'), 'utf8').trim(), '0');
});

test('a reader that goes early: the relay ends with EPIPE, and the writer, left writing, gets SIGPIPE', async (t) => {
  const r = await relayBetween(scratchDir(t, 'czb-relay-'), 'cat /dev/zero', 'head -c 100000 > /dev/null');
  t.is(r.end.error, 'EPIPE');
  t.true(r.bytes >= 100000, `${r.bytes} bytes handed on`);
  t.is(r.readEnd.exitCode, 0);
  // The shell either became cat (the signal) or reports cat's death by it (128 + 13).
  t.true(r.wrote.signal === 'SIGPIPE' || r.wrote.exitCode === 141, `writer: ${r.wrote.signal ?? r.wrote.exitCode}`);
});

test('--bwlimit 1M on 3 MiB: about 3 s, every byte arrives', async (t) => {
  const dir = scratchDir(t, 'czb-relay-');
  const started = process.hrtime.bigint();
  const r = await relayBetween(dir, 'head -c 3145728 /dev/zero', `wc -c > ${join(dir, 'count')}`, 1048576);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.is(r.end.error, undefined);
  t.is(readFileSync(join(dir, 'count'), 'utf8').trim(), '3145728');
  t.true(seconds >= 2.8, `${seconds.toFixed(2)} s`);
});
