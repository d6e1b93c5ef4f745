// The stream's pipes: a FIFO opened as a plain pipe, both ends blocking, the end of the stream and EPIPE as with pipe(2).
import test from 'ava';
import { closeSync, constants, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { streamPipeSize } from '../../src/core/pipe-size';
import { makePipes } from '../../src/io/fifo';
import { scratchDir } from '../bed/scratch';

/** The open flags of one of this process's descriptors, from /proc. */
function flags(fd: number): number {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:')) ?? '';
  return Number.parseInt(line.replace('flags:', '').trim(), 8);
}

const O_ACCMODE = 0o3;
const O_NONBLOCK = 0o4000;

test('each name is a FIFO of mode 0600; the read end is read-only, the write end write-only, neither non-blocking', async (t) => {
  const dir = scratchDir(t, 'czb-fifo-');
  const pipes = await makePipes(dir, ['send', 'ssh']);
  for (const name of ['send', 'ssh'] as const) {
    const st = statSync(join(dir, `${name}.fifo`));
    t.true(st.isFIFO(), name);
    t.is(st.mode & 0o777, 0o600, name);
    const { read, write } = pipes[name];
    t.is(flags(read) & O_ACCMODE, 0, `${name}: read end O_RDONLY`);
    t.is(flags(write) & O_ACCMODE, 1, `${name}: write end O_WRONLY`);
    t.is(flags(read) & O_NONBLOCK, 0, `${name}: read end blocks`);
    t.is(flags(write) & O_NONBLOCK, 0, `${name}: write end blocks`);
    closeSync(read);
    closeSync(write);
  }
});

test('what is written is read back; once the write end is closed the reader sees the end of the stream', async (t) => {
  const { p } = await makePipes(scratchDir(t, 'czb-fifo-'), ['p']);
  t.is(writeSync(p.write, Buffer.from('hello')), 5);
  closeSync(p.write);
  const buffer = Buffer.alloc(64);
  t.is(readSync(p.read, buffer, 0, 64, null), 5);
  t.is(buffer.subarray(0, 5).toString(), 'hello');
  t.is(readSync(p.read, buffer, 0, 64, null), 0, 'end of stream');
  closeSync(p.read);
});

test('once the read end is closed the writer gets EPIPE', async (t) => {
  const { p } = await makePipes(scratchDir(t, 'czb-fifo-'), ['p']);
  closeSync(p.read);
  const error = t.throws(() => writeSync(p.write, Buffer.from('x')));
  t.is((error as NodeJS.ErrnoException).code, 'EPIPE');
  closeSync(p.write);
});

test('a directory that does not exist: one line naming it, nothing made', async (t) => {
  const dir = join(scratchDir(t, 'czb-fifo-'), 'missing');
  await t.throwsAsync(makePipes(dir, ['p']), { message: new RegExp(`^cannot make the stream's pipes in ${dir}: mkfifo: .*No such file or directory$`) });
});

/** How many bytes the pipe behind a FIFO holds: written through a non-blocking writer of its own until the kernel says it is full. */
function capacity(path: string): number {
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const chunk = Buffer.alloc(64 * 1024);
  let total = 0;
  try {
    for (;;) total += writeSync(writer, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  } finally {
    closeSync(writer);
  }
  return total;
}

test('each pipe holds 256 KiB (or the kernel ceiling, if lower), not the 64 KiB of a pipe nobody enlarged', async (t) => {
  const dir = scratchDir(t, 'czb-fifo-');
  const pipes = await makePipes(dir, ['send', 'ssh']);
  const expected = streamPipeSize(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')) ?? 64 * 1024;
  t.true(expected > 64 * 1024, 'this machine allows larger pipes');
  for (const name of ['send', 'ssh'] as const) {
    t.is(capacity(join(dir, `${name}.fifo`)), expected, name);
    closeSync(pipes[name].read);
    closeSync(pipes[name].write);
  }
});

test('when the pipes cannot be enlarged (no perl), they are made all the same and carry the stream at 64 KiB', async (t) => {
  const dir = scratchDir(t, 'czb-fifo-');
  const { p } = await makePipes(dir, ['p'], join(dir, 'no-such-perl'));
  t.is(capacity(join(dir, 'p.fifo')), 64 * 1024);
  const buffer = Buffer.alloc(64 * 1024);
  let drained = 0;
  while (drained < 64 * 1024) drained += readSync(p.read, buffer, 0, buffer.length, null);
  t.is(drained, 64 * 1024, 'the capacity probe read back');
  t.is(writeSync(p.write, Buffer.from('still a pipe')), 12);
  closeSync(p.write);
  t.is(readSync(p.read, buffer, 0, buffer.length, null), 12);
  t.is(buffer.subarray(0, 12).toString(), 'still a pipe');
  t.is(readSync(p.read, buffer, 0, buffer.length, null), 0, 'end of stream');
  closeSync(p.read);
});
