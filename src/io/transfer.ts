// The push's transfer: `zfs send` into the far end, an SSH exec channel opened first or OpenSSH's client through the relay, counted, limited by --bwlimit, and both ends' outcomes.
import { closeSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { execa } from 'execa';
import type { BackupError } from '../core/exit-codes';
import { dueAfter } from '../core/rate';
import type { EarlySend } from './early-send';
import { asStdio, type PipeEnds } from './fifo';
import { startRelay } from './stream-relay';

export interface TransferResult {
  bytes: number;
  seconds: number;
  /** From zfs send's first byte to its last one handed to the channel: the part --bwlimit holds to its rate. */
  streamSeconds: number;
  sendExitCode: number;
  /** Set when zfs send was stopped by a signal. */
  sendSignal: string | undefined;
  /** True when we stopped zfs send because the channel closed first (the receiver's side ended). */
  sendStoppedByUs: boolean;
  sendStderr: string;
  /** null when the channel closed without an exit status (connection lost). */
  receiveExitCode: number | null;
  receiveSignal: string | null;
  receiveStderr: string;
  /** What the remote command printed on stdout (serve's reply after a receive); at most REPLY_LIMIT bytes. */
  receiveStdout: string;
  /** The carrier itself failed before the remote command ran (OpenSSH's client: host key, login, connect): the line to end with. */
  carrierFailure?: BackupError;
}

/** A reply longer than this is cut (a tree listing of a million snapshots stays below it). */
export const REPLY_LIMIT = 256 * 1024 * 1024;

export interface TransferOptions {
  zfsProgram: string;
  sendArgs: string[];
  /** Called about once a second with the bytes sent so far. */
  onProgress?: (bytes: number, seconds: number) => void;
  /** Bytes per second the stream may not exceed (--bwlimit); unset, zfs send's output is piped as it comes. */
  bytesPerSecond?: number;
  /** Called once zfs send has ended well and every byte has gone into the channel: from then on the push waits for the receiver. */
  onSent?: () => void;
  /** This very zfs send, started before the plan asked for it (OpenSSH's client only): taken instead of starting another. */
  early?: EarlySend;
}

/**
 * How far the limiter may fall behind its schedule and catch up (timers fire late; a busy host, or
 * zfs send waiting for a transaction group, stalls it for a second or two); no more, so a long
 * stall is not followed by a long burst.
 */
const LIMIT_SLACK_SECONDS = 2;

/** How far the source may run ahead of the schedule before it is paused: fewer, longer pauses cost less than one per chunk. */
const LIMIT_AHEAD_SECONDS = 0.05;

/**
 * A stage between zfs send and the channel that holds the stream to `bytesPerSecond` on average,
 * in process, from its first byte (zfs send's own start-up is not time the stream may make up
 * for): each chunk is due when the bytes before it would have taken their time at that rate;
 * a chunk more than 50 ms early is passed on when it is due, and meanwhile pipe()'s backpressure
 * holds zfs send. (A stage in the pipe keeps pipe()'s own flow to the channel: a hand-written
 * data/drain loop ran at half the speed here.)
 */
function rateLimiter(bytesPerSecond: number, elapsed: () => number): Transform {
  let due = 0;
  let start: number | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      start ??= elapsed();
      const now = elapsed() - start;
      due = dueAfter(due, now, chunk.length, bytesPerSecond, LIMIT_SLACK_SECONDS);
      const wait = due - now;
      if (wait > LIMIT_AHEAD_SECONDS) setTimeout(() => callback(null, chunk), wait * 1000);
      else callback(null, chunk);
    },
  });
}

/** Keeps what `stream` emits until `limit` bytes are kept (the chunk that reaches it is kept whole, nothing after it); read it as text when done. */
export function collect(stream: Readable | null | undefined, limit: number): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (c: Buffer) => {
    if (size >= limit) return;
    size += c.length;
    chunks.push(c);
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/** Seconds since it was made, by the monotonic clock. */
export function stopwatch(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * What both directions need from a channel: the far end's exit status and signal, its stderr (at
 * most `stderrLimit` bytes), and when it has closed (connection lost or command ended).
 */
export function watchChannel(channel: ClientChannel, stderrLimit: number) {
  const far = { exitCode: null as number | null, signal: null as string | null, closed: false };
  const stderr = collect(channel.stderr, stderrLimit);
  channel.on('exit', (code: number | null, signal?: string) => {
    far.exitCode = code;
    far.signal = signal ?? null;
  });
  channel.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    channel.on('close', () => {
      far.closed = true;
      resolve();
    }),
  );
  return { far, closed, stderr };
}

/** Where zfs send's output goes: a stream (the SSH library's channel), or OpenSSH's client through a relay between two pipes. */
export type SendSink = NodeJS.WritableStream | RelayPipes;

/** zfs send, already writing into a pipe, the read end of that pipe, and the write end of ssh's stdin. */
export interface RelayPipes {
  send: SendProcess;
  from: number;
  to: number;
}

/** How the bytes move from zfs send to the far end, whichever way. */
interface Mover {
  bytes: () => number;
  firstByteAt: () => number | undefined;
  /** Resolves once everything zfs send wrote has been handed on (or the far end is gone). */
  handedOn: Promise<void>;
  /** A failure of the relay itself, for the sender's error text. */
  problem: () => string | undefined;
  /** The far end is gone: stop moving, throw away what is left. */
  stop: () => void;
}

/**
 * Starts `zfs SENDARGS` writing into `stdout`: a pipe's write end (closed here once zfs send holds
 * it, so the reader sees the end of the stream when zfs send closes it), or a pipe of Node's.
 */
export function spawnSend(zfsProgram: string, sendArgs: readonly string[], stdout: number | 'pipe') {
  const send = execa(zfsProgram, sendArgs, {
    stdin: 'ignore',
    stdout: stdout === 'pipe' ? 'pipe' : asStdio(stdout),
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    reject: false,
    env: { LC_ALL: 'C' },
  });
  if (stdout !== 'pipe') closeSync(stdout);
  return send;
}

export type SendProcess = ReturnType<typeof spawnSend>;

/**
 * Starts `zfs SENDARGS` (unless `into` is the relay's pipes, with zfs send already writing) and moves its output to `into` (through --bwlimit's stage when set),
 * counting every byte; `stop()`, when the far end is gone, stops the moving, throws away what zfs
 * send still writes and kills it if it still runs.
 */
export function startSend(options: TransferOptions, elapsed: () => number, into: SendSink) {
  const relayed = 'from' in into;
  const send = relayed ? into.send : spawnSend(options.zfsProgram, options.sendArgs, 'pipe');
  const mover = relayed ? relayMover(into, options, elapsed) : pipeMover(send.stdout as Readable, into, options, elapsed);
  let stoppedByUs = false;
  let exited = false;
  void send.finally(() => {
    exited = true;
  });
  return {
    send,
    handedOn: mover.handedOn,
    bytes: mover.bytes,
    /** The sending half of a TransferResult, once zfs send has ended (`sent`) and the far end is done. */
    sendSide(sent: Awaited<typeof send>, lastByteAt: number | undefined) {
      const seconds = elapsed();
      const problem = mover.problem();
      return {
        bytes: mover.bytes(),
        seconds,
        streamSeconds: (lastByteAt ?? seconds) - (mover.firstByteAt() ?? 0),
        sendExitCode: sent.exitCode ?? 128,
        sendSignal: sent.signal ?? undefined,
        sendStoppedByUs: stoppedByUs,
        sendStderr: String(sent.stderr ?? '') + (problem ? `${problem}\n` : ''),
      };
    },
    stop() {
      mover.stop();
      if (!exited) {
        stoppedByUs = true;
        send.kill('SIGTERM');
      }
    },
  };
}

/** zfs send's output piped through Node's streams into `into` (the SSH library's channel). */
function pipeMover(stdout: Readable, into: NodeJS.WritableStream, options: TransferOptions, elapsed: () => number): Mover {
  let bytes = 0;
  let firstByteAt: number | undefined;
  stdout.on('data', (chunk: Buffer) => {
    firstByteAt ??= elapsed();
    bytes += chunk.length;
  });
  // Without a limit the stream takes the cheapest path there is: a plain pipe.
  const limiter = options.bytesPerSecond === undefined ? undefined : rateLimiter(options.bytesPerSecond, elapsed);
  if (limiter) stdout.pipe(limiter).pipe(into);
  else stdout.pipe(into);
  // zfs send may exit while the limiter still holds its last chunks for their time: the far end is
  // ended only once the last stage has handed on everything (or the far end is gone).
  const lastStage = limiter ?? stdout;
  const handedOn = new Promise<void>((resolve) => {
    if (lastStage.readableEnded) resolve();
    lastStage.once('end', resolve);
    lastStage.once('close', resolve);
  });
  return {
    bytes: () => bytes,
    firstByteAt: () => firstByteAt,
    handedOn,
    problem: () => undefined,
    stop() {
      if (limiter) {
        stdout.unpipe(limiter);
        limiter.unpipe(into);
        limiter.destroy();
      } else stdout.unpipe(into);
      stdout.resume();
    },
  };
}

/**
 * zfs send's output moved by the relay thread from its pipe into ssh's. Stopping needs nothing of
 * its own: with ssh gone the relay's next write fails (EPIPE) and it ends, and zfs send is killed.
 */
function relayMover(pipes: RelayPipes, options: TransferOptions, elapsed: () => number): Mover {
  const relay = startRelay({
    from: pipes.from,
    to: pipes.to,
    bytesPerSecond: options.bytesPerSecond ?? 0,
    slackSeconds: LIMIT_SLACK_SECONDS,
    aheadSeconds: LIMIT_AHEAD_SECONDS,
  });
  let firstByteAt: number | undefined;
  let problem: string | undefined;
  void relay.firstByte.then(() => {
    firstByteAt ??= elapsed();
  });
  const handedOn = relay.ended.then((end) => {
    // EPIPE: ssh went first, and its exit says why.
    if (end.error !== undefined && end.error !== 'EPIPE') problem = `the stream's relay into ssh failed: ${end.error}`;
  });
  return { bytes: relay.bytes, firstByteAt: () => firstByteAt, handedOn, problem: () => problem, stop: () => {} };
}

/**
 * The channel is open and its output consumed before zfs send starts, so no byte is written before
 * the remote side can take it; if the channel closes first, the sender is killed. Success needs
 * both exit statuses to be 0.
 */
export async function sendIntoChannel(channel: ClientChannel, options: TransferOptions): Promise<TransferResult> {
  const elapsed = stopwatch();
  const { far, closed, stderr } = watchChannel(channel, Number.POSITIVE_INFINITY);
  const reply = collect(channel, REPLY_LIMIT);
  let channelFinished = false;
  let lastByteAt: number | undefined;
  channel.once('finish', () => {
    channelFinished = true;
    lastByteAt = elapsed();
  });

  const running = startSend(options, elapsed, channel);
  const { send } = running;
  void closed.then(() => running.stop());
  const ticker = options.onProgress ? setInterval(() => options.onProgress?.(running.bytes(), elapsed()), 1000) : undefined;
  try {
    const result = await send;
    await Promise.race([running.handedOn, closed]);
    if (!far.closed) channel.end();
    if (options.onSent && result.exitCode === 0 && !far.closed) {
      const onSent = options.onSent;
      if (channelFinished) onSent();
      else channel.once('finish', () => !far.closed && onSent());
    }
    await closed;
    return {
      ...running.sendSide(result, lastByteAt),
      receiveExitCode: far.exitCode,
      receiveSignal: far.signal,
      receiveStderr: stderr(),
      receiveStdout: reply(),
    };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
