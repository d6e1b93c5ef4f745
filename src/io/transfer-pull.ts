// The restore's transfer: the offsite host's `zfs send`, arriving on an SSH exec channel, piped into a local `zfs receive`, counted, and both ends' outcomes.
import type { ClientChannel } from 'ssh2';
import { execa } from 'execa';
import { stopwatch, watchChannel } from './transfer';

export interface PullResult {
  bytes: number;
  seconds: number;
  /** The remote zfs send's exit status; null when the channel closed without one (connection lost, or closed by us). */
  sendExitCode: number | null;
  sendSignal: string | null;
  sendStderr: string;
  /** True when we closed the channel because the local receive ended first. */
  sendStoppedByUs: boolean;
  receiveExitCode: number;
  receiveSignal: string | undefined;
  receiveStderr: string;
}

export interface PullOptions {
  zfsProgram: string;
  receiveArgs: string[];
  /** Called about once a second with the bytes received so far. */
  onProgress?: (bytes: number, seconds: number) => void;
}

/** At most this much of the remote side's stderr is kept (zfs send prints a line or two). */
const STDERR_LIMIT = 64 * 1024;

/**
 * The other direction, for a restore: the local `zfs receive` starts first, then the channel (a
 * remote `zfs send` already running) is piped into its stdin, with backpressure (a full pipe pauses
 * the channel, so the SSH window stops the sender). If the receive ends first the channel is
 * closed, which stops the remote send; if the channel ends first the receive gets end of stream
 * and decides for itself whether what came is whole. Success needs both exit statuses 0.
 */
export async function receiveFromChannel(channel: ClientChannel, options: PullOptions): Promise<PullResult> {
  const elapsed = stopwatch();
  const { far, closed, stderr } = watchChannel(channel, STDERR_LIMIT);

  const receive = execa(options.zfsProgram, options.receiveArgs, {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: { stderr: true },
    reject: false,
    env: { LC_ALL: 'C' },
  });
  const stdin = receive.stdin;
  // A receive that dies while data is still written gives EPIPE here; its exit status says why.
  stdin.on('error', () => {});
  let bytes = 0;
  channel.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  channel.pipe(stdin);
  let receiveExited = false;
  let sendStoppedByUs = false;
  let channelEnded = false;
  channel.once('end', () => {
    channelEnded = true;
  });
  void receive.finally(() => {
    receiveExited = true;
    if (!far.closed) {
      // After the end of the stream the sender has nothing more to say: closing stops nobody.
      if (!channelEnded) sendStoppedByUs = true;
      channel.unpipe(stdin);
      channel.close();
      channel.resume();
    }
  });
  void closed.then(() => {
    // Closed without its end (the link dropped): end the receive's input, so it sees a cut stream.
    if (!receiveExited && !stdin.writableEnded) {
      channel.unpipe(stdin);
      stdin.end();
    }
  });
  const ticker = options.onProgress ? setInterval(() => options.onProgress?.(bytes, elapsed()), 1000) : undefined;
  try {
    const result = await receive;
    await closed;
    return {
      bytes,
      seconds: elapsed(),
      sendExitCode: far.exitCode,
      sendSignal: far.signal,
      sendStderr: stderr(),
      sendStoppedByUs,
      receiveExitCode: result.exitCode ?? 128,
      receiveSignal: result.signal ?? undefined,
      receiveStderr: String(result.stderr ?? ''),
    };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
