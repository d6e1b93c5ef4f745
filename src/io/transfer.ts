// The transfer pipe: `zfs send` written straight into an SSH exec channel that was opened first.
import type { ClientChannel } from 'ssh2';
import { execa } from 'execa';

export interface TransferResult {
  bytes: number;
  seconds: number;
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
}

/** A reply longer than this is cut (a tree listing of a million snapshots stays below it). */
export const REPLY_LIMIT = 256 * 1024 * 1024;

export interface TransferOptions {
  zfsProgram: string;
  sendArgs: string[];
  /** Called about once a second with the bytes sent so far. */
  onProgress?: (bytes: number, seconds: number) => void;
}

/**
 * The channel is open and its output consumed before zfs send starts, so no byte is written before
 * the remote side can take it; if the channel closes first, the sender is killed. Success needs
 * both exit statuses to be 0.
 */
export async function sendIntoChannel(channel: ClientChannel, options: TransferOptions): Promise<TransferResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let receiveExitCode: number | null = null;
  let receiveSignal: string | null = null;
  const receiveErr: Buffer[] = [];
  const receiveOut: Buffer[] = [];
  let receiveOutBytes = 0;
  channel.on('data', (c: Buffer) => {
    if (receiveOutBytes + c.length > REPLY_LIMIT) return;
    receiveOutBytes += c.length;
    receiveOut.push(c);
  });
  channel.stderr.on('data', (c: Buffer) => receiveErr.push(c));
  channel.on('exit', (code: number | null, signal?: string) => {
    receiveExitCode = code;
    receiveSignal = signal ?? null;
  });
  channel.on('error', () => {});
  let channelClosed = false;
  const closed = new Promise<void>((resolve) =>
    channel.on('close', () => {
      channelClosed = true;
      resolve();
    }),
  );

  const send = execa(options.zfsProgram, options.sendArgs, {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    reject: false,
    env: { LC_ALL: 'C' },
  });
  let bytes = 0;
  const stdout = send.stdout;
  stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  stdout.pipe(channel);
  let sendStoppedByUs = false;
  let sendExited = false;
  void send.finally(() => {
    sendExited = true;
  });
  const kill = () => {
    if (!sendExited) {
      sendStoppedByUs = true;
      send.kill('SIGTERM');
    }
  };
  void closed.then(() => {
    stdout.unpipe(channel);
    stdout.resume();
    kill();
  });
  const ticker = options.onProgress ? setInterval(() => options.onProgress?.(bytes, elapsed()), 1000) : undefined;
  try {
    const result = await send;
    if (!channelClosed) channel.end();
    await closed;
    return {
      bytes,
      seconds: elapsed(),
      sendExitCode: result.exitCode ?? 128,
      sendSignal: result.signal ?? undefined,
      sendStoppedByUs,
      sendStderr: String(result.stderr ?? ''),
      receiveExitCode,
      receiveSignal,
      receiveStderr: Buffer.concat(receiveErr).toString('utf8'),
      receiveStdout: Buffer.concat(receiveOut).toString('utf8'),
    };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
