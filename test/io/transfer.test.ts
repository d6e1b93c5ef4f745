// The transfer pipe without ssh or zfs: a program's output into a stand-in channel, with and without --bwlimit's in-process limiter.
import test from 'ava';
import { PassThrough, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { collect, sendIntoChannel } from '../../src/io/transfer';

/** Takes every byte at once, like an ssh channel with room to spare; exits 0 once the writer ends. */
class Sink extends Writable {
  readonly stderr = new PassThrough();
  received = 0;
  events: string[] = [];
  constructor() {
    // It closes when it says so (after its exit status), not when the writer ends.
    super({ autoDestroy: false, emitClose: false });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.received += chunk.length;
    callback();
  }
  override _final(callback: () => void): void {
    callback();
    setTimeout(() => {
      this.events.push('close');
      this.emit('exit', 0);
      this.emit('close');
    }, 50);
  }
}

const MIB = 1048576;
const produce = (bytes: number) => ({ zfsProgram: 'head', sendArgs: ['-c', String(bytes), '/dev/zero'] });

test('--bwlimit 8M on 16 MiB: at least 1.9 s, and 85% of the limit or more (of the same pipe without a limit, if that is slower just then); every byte arrives; onSent comes before the channel closes', async (t) => {
  const sink = new Sink();
  const result = await sendIntoChannel(sink as unknown as ClientChannel, { ...produce(16 * MIB), bytesPerSecond: 8 * MIB, onSent: () => sink.events.push('sent') });
  const rate = result.bytes / result.streamSeconds;
  t.log(`${result.bytes} bytes in ${result.seconds.toFixed(2)} s, the stream ${result.streamSeconds.toFixed(2)} s: ${(rate / MIB).toFixed(2)} MiB/s`);
  t.is(result.sendExitCode, 0);
  t.is(result.receiveExitCode, 0);
  t.is(result.bytes, 16 * MIB);
  t.is(sink.received, 16 * MIB);
  t.true(result.streamSeconds >= 1.9 && result.seconds >= result.streamSeconds, `the stream ${result.streamSeconds} s of ${result.seconds} s`);
  t.deepEqual(sink.events, ['sent', 'close']);
  if (rate >= 0.85 * 8 * MIB) return;
  // Below 85% of the limit: the limiter starves the stream, or this machine is too busy for 8 MiB/s
  // just now. The same pipe without a limit, run at once, tells which.
  const free = await sendIntoChannel(new Sink() as unknown as ClientChannel, produce(16 * MIB));
  const freeRate = free.bytes / free.streamSeconds;
  t.log(`below 85% of the limit; the same pipe without a limit just after: ${(freeRate / MIB).toFixed(2)} MiB/s`);
  t.true(rate >= 0.85 * Math.min(8 * MIB, freeRate), `${(rate / MIB).toFixed(2)} MiB/s with the limit, ${(freeRate / MIB).toFixed(2)} MiB/s without`);
});

test('--bwlimit 512K on 1 MiB: every byte arrives, though zfs send has exited while the limiter still holds its last chunks', async (t) => {
  // At 512 KiB/s each 64 KiB chunk waits 125 ms in the limiter, so the producer is gone before the last one is due.
  const sink = new Sink();
  const result = await sendIntoChannel(sink as unknown as ClientChannel, { ...produce(MIB), bytesPerSecond: 512 * 1024 });
  t.is(result.sendExitCode, 0);
  t.is(result.bytes, MIB);
  t.is(sink.received, MIB, `the channel got ${sink.received} of ${MIB} bytes`);
  t.true(result.streamSeconds >= 1.8, `the stream ${result.streamSeconds} s`);
});

test('without a limit the same stream is not held back', async (t) => {
  const sink = new Sink();
  const result = await sendIntoChannel(sink as unknown as ClientChannel, produce(16 * MIB));
  t.is(sink.received, 16 * MIB);
  t.true(result.seconds < 1.9, `${result.seconds} s`);
});

const collectCases: Array<[string, number[], number, number]> = [
  // what, chunk sizes, limit, bytes kept
  ['everything under the limit', [3, 4, 5], 100, 12],
  ['the chunk that reaches the limit is kept whole, nothing after it', [10, 10, 10], 15, 20],
  ['a first chunk over the limit is kept (an error line is never lost to the limit)', [50, 1], 8, 50],
  ['exactly the limit, then nothing', [4, 4, 4], 8, 8],
];
for (const [what, sizes, limit, kept] of collectCases) {
  test(`collect: ${what}`, async (t) => {
    const stream = new PassThrough();
    const text = collect(stream, limit);
    for (const [i, n] of sizes.entries()) stream.write(String.fromCharCode(97 + i).repeat(n));
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve));
    const got = text();
    t.is(got.length, kept);
    t.true(got.startsWith('a'.repeat(Math.min(sizes[0] ?? 0, kept))));
  });
}
