// The push stream's relay into OpenSSH's client: a worker thread moves zfs send's output from one pipe into ssh's with blocking 1 MiB reads and writes, counting every byte and holding --bwlimit, so the bytes never pass through the main thread's streams.
import { closeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dueAfter } from '../core/rate';

/** What the relay is given: the read end of zfs send's pipe, the write end of ssh's, and --bwlimit if set. */
export interface RelaySettings {
  from: number;
  to: number;
  /** 0: no limit. */
  bytesPerSecond: number;
  slackSeconds: number;
  aheadSeconds: number;
}

/** How the relay ended: `error` is the errno code of a failed read or write (EPIPE when ssh has gone). */
export interface RelayEnd {
  error: string | undefined;
}

/** The largest read and write: the pipe is drained in few system calls. */
const CHUNK = 1024 * 1024;

interface WorkerData extends RelaySettings {
  counter: SharedArrayBuffer;
  chunk: number;
}

interface Fs {
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: null): number;
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
}

interface Threads {
  workerData: WorkerData;
  parentPort: { postMessage(message: unknown): void } | null;
}

type Schedule = typeof dueAfter;

/**
 * The worker's whole program. Its text is what the worker runs, so it names nothing from outside
 * (fs, the worker's data and the schedule come as arguments) and has no inner functions. The
 * main thread owns both descriptors and closes them once the loop has said it is done.
 */
function relayLoop(fs: Fs, threads: Threads, schedule: Schedule): void {
  const data = threads.workerData;
  const count = new BigInt64Array(data.counter);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const buffer = Buffer.allocUnsafe(data.chunk);
  let due = 0;
  let start = -1;
  let error: string | undefined;
  try {
    for (;;) {
      let n = 0;
      try {
        n = fs.readSync(data.from, buffer, 0, data.chunk, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EINTR') continue;
        throw e;
      }
      if (n === 0) break;
      if (start < 0) {
        start = performance.now() / 1000;
        threads.parentPort?.postMessage('first');
      }
      if (data.bytesPerSecond > 0) {
        const now = performance.now() / 1000 - start;
        due = schedule(due, now, n, data.bytesPerSecond, data.slackSeconds);
        if (due - now > data.aheadSeconds) Atomics.wait(sleeper, 0, 0, (due - now) * 1000);
      }
      let written = 0;
      while (written < n) {
        try {
          written += fs.writeSync(data.to, buffer, written, n - written);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EINTR') throw e;
        }
      }
      Atomics.add(count, 0, BigInt(n));
    }
  } catch (e) {
    error = (e as NodeJS.ErrnoException).code ?? String(e);
  }
  threads.parentPort?.postMessage({ end: true, error });
}

/**
 * Starts the relay on its own thread. Both descriptors are closed here, once, when the loop ends
 * or the worker dies: ssh then sees the end of the stream, zfs send EPIPE if it still writes. Under
 * --bwlimit it reads a twentieth of a second's worth at a time (at least 16 KiB), so the stream
 * stays smooth. `firstByte` resolves when the first bytes arrive, `ended` when both ends are
 * closed, whatever happened (a worker that died is an error).
 */
export function startRelay(settings: RelaySettings) {
  const counter = new SharedArrayBuffer(8);
  const count = new BigInt64Array(counter);
  const chunk = settings.bytesPerSecond > 0 ? Math.max(16384, Math.min(CHUNK, Math.floor(settings.bytesPerSecond / 20))) : CHUNK;
  const workerData: WorkerData = { ...settings, counter, chunk };
  const worker = new Worker(`(${relayLoop.toString()})(require('node:fs'), require('node:worker_threads'), ${dueAfter.toString()})`, { eval: true, workerData });
  // A relay blocked on a pipe must not keep the process alive once the run is over.
  worker.unref();
  let onFirst: () => void = () => {};
  const firstByte = new Promise<void>((resolve) => {
    onFirst = resolve;
  });
  const ended = new Promise<RelayEnd>((resolve) => {
    let done = false;
    const end = (error: string | undefined) => {
      if (done) return;
      done = true;
      for (const fd of [settings.to, settings.from]) closeSync(fd);
      resolve({ error });
    };
    worker.on('message', (message: unknown) => {
      if (message === 'first') onFirst();
      else if (typeof message === 'object' && message !== null && 'end' in message) end((message as { error?: string }).error);
    });
    worker.on('error', (e: Error) => end(`the relay failed: ${e.message}`));
    worker.on('exit', (code) => end(`the relay ended with code ${code}`));
  });
  return {
    firstByte,
    ended,
    /** The bytes handed on to ssh so far. */
    bytes: () => Number(Atomics.load(count, 0)),
  };
}
