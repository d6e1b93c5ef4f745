// The push stream carried by OpenSSH's own client: `zfs send` relayed by a worker thread of this process into a child `ssh` (argv only) through two pipes, its exit read from ssh's log.
import { execa } from 'execa';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { BackupError, ExitCode } from '../core/exit-codes';
import { killedBySignal } from '../core/remote-command';
import { readStreamSshEnd, streamSshArgv, type StreamSshEnd, type StreamSshTarget } from '../core/stream-ssh';
import { asStdio, makePipes, type PipeEnds } from './fifo';
import { readLogSince } from './log-file';
import type { StreamMaster } from './stream-master';
import { collect, REPLY_LIMIT, sendIntoChannel, spawnSend, startSend, stopwatch, type SendProcess, type TransferOptions, type TransferResult } from './transfer';

/** The remote end of a push stream as the session hands it out: an ssh2 exec channel, or a child `ssh` to start. */
export interface OpenSshStream {
  carrier: 'openssh';
  program: string;
  /** The destination as the session resolved it. */
  target: StreamSshTarget;
  /** The remote command, built by the one quoting function. */
  command: string;
  /** `offsite (root@[192.0.2.1]:2222)`, for the lines about this connection. */
  link: string;
  /** Tells the session that this connection's keepalives went unanswered (the run then names the silent link). */
  onSilent: () => void;
  /** The session's shared connection, when it has one: the stream opens its session there once it has logged in. */
  master?: StreamMaster;
  /** Told, when the session has a shared connection, whether this stream opens its session there (true) or connects by itself. */
  onSession?: (shared: boolean) => void;
}

/** Where a push stream goes: an ssh2 exec channel already open, or OpenSSH's client to start. */
export type StreamTarget = { carrier: 'ssh2'; channel: ClientChannel } | OpenSshStream;

/** Runs zfs send into the stream's remote end, whichever carries it. */
export function sendStream(target: StreamTarget, options: TransferOptions): Promise<TransferResult> {
  return target.carrier === 'ssh2' ? sendIntoChannel(target.channel, options) : sendThroughSsh(target, options);
}

/** At most this much of ssh's stderr (the remote command's) is kept. */
const TEXT_LIMIT = 1024 * 1024;

/** The ssh client's own failures before the remote command ran, as the one line the run ends with. */
function carrierFailure(end: StreamSshEnd, link: string): BackupError | undefined {
  switch (end.kind) {
    case 'host-key':
      return new BackupError(
        ExitCode.unavailable,
        `host key refused: ${link} offered OpenSSH's client, which carries the stream, a key its known_hosts files do not hold for it (${end.detail}), though the same host key was trusted a moment before: this may be an attack; check the fingerprint out of band before the next run`,
      );
    case 'login':
      return new BackupError(ExitCode.notPermitted, `SSH login to ${link} was refused for the stream's connection by OpenSSH's client (${end.detail}); add the public key to the remote user's authorized_keys`);
    case 'connect':
      return new BackupError(ExitCode.unavailable, `cannot connect to ${link} for the stream (${end.detail}); check that the host is up and reachable, then run again`);
    default:
      return undefined;
  }
}

/**
 * Starts `ssh ARGV` and `zfs send` at once, each on one end of a pipe of its own (FIFOs in a
 * private temporary directory), and relays zfs send's output into ssh's stdin on a worker thread
 * (holding --bwlimit when set), counting every byte; ssh reads the pipe at its own pace, so no byte
 * is lost whenever the remote command starts. If ssh ends first, zfs send is killed. ssh's stdout
 * is the remote command's (serve's reply), its stderr the remote command's, its own log (a file in
 * a private temporary directory, removed afterwards) tells the remote command's exit status from a lost or silent connection. Success needs
 * both exit statuses to be 0.
 */
export async function sendThroughSsh(target: OpenSshStream, options: TransferOptions): Promise<TransferResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cyber-zfs-backup-stream-'));
  try {
    return await relay(target, options, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * ssh's pipe, and zfs send writing into a pipe of its own: the one started early for this stream
 * if there is one (it has waited on its full pipe since), else one started now.
 */
async function streamPipes(dir: string, options: TransferOptions): Promise<{ ssh: PipeEnds; send: SendProcess; from: number }> {
  const early = options.early?.take();
  if (!early) {
    const pipes = await makePipes(dir, ['send', 'ssh']);
    return { ssh: pipes.ssh, send: spawnSend(options.zfsProgram, options.sendArgs, pipes.send.write), from: pipes.send.read };
  }
  try {
    return { ssh: (await makePipes(dir, ['ssh'])).ssh, send: early.send, from: early.read };
  } catch (error) {
    early.send.kill('SIGTERM');
    closeSync(early.read);
    throw error;
  }
}

async function relay(target: OpenSshStream, options: TransferOptions, dir: string): Promise<TransferResult> {
  const logFile = join(dir, 'ssh.log');
  // Over the shared connection, the remote command's exit status or signal and a silent link are in
  // the master's log, from where it stood when this session began. Waited for before zfs send
  // starts (or is taken): from there to the relay nothing is awaited, so nothing can leave it
  // blocked on its pipe.
  const socket = await target.master?.ready();
  const pipes = await streamPipes(dir, options);
  const elapsed = stopwatch();
  if (target.master) target.onSession?.(socket !== undefined);
  const masterLogSince = socket === undefined ? undefined : target.master?.mark();
  const ssh = execa(target.program, streamSshArgv(target.target, target.command, logFile, socket), {
    stdin: asStdio(pipes.ssh.read),
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  // ssh holds its stdin now: it sees the end of the stream when the relay closes the write end.
  closeSync(pipes.ssh.read);
  const reply = collect(ssh.stdout, REPLY_LIMIT);
  const remoteStderr = collect(ssh.stderr, TEXT_LIMIT);

  const running = startSend(options, elapsed, { send: pipes.send, from: pipes.from, to: pipes.ssh.write });
  const { send } = running;
  let lastByteAt: number | undefined;
  void running.handedOn.then(() => {
    lastByteAt = elapsed();
  });

  let sshExited = false;
  const sshDone = ssh.finally(() => {
    sshExited = true;
    running.stop();
  });
  const ticker = options.onProgress ? setInterval(() => options.onProgress?.(running.bytes(), elapsed()), 1000) : undefined;
  try {
    const sent = await send;
    if (options.onSent && sent.exitCode === 0 && !sshExited) {
      const onSent = options.onSent;
      void running.handedOn.then(() => !sshExited && onSent());
    }
    // The relay's end is not awaited: it comes before ssh can see the end of its input, and once
    // ssh has gone first the relay ends at its next write; a writer holding its pipe open must not
    // hold the run.
    const result = await ssh;
    await sshDone;
    const masterLog = masterLogSince === undefined ? '' : `\n${masterLogSince()}`;
    const end = readStreamSshEnd(result.exitCode ?? null, readLogSince(logFile) + masterLog);
    if (end.kind === 'silent') target.onSilent();
    const stderr = remoteStderr();
    const failure = carrierFailure(end, target.link);
    return {
      ...running.sendSide(sent, lastByteAt),
      receiveExitCode: end.kind === 'status' ? end.code : null,
      receiveSignal: end.kind === 'signal' ? (killedBySignal(stderr) ?? 'a signal') : null,
      receiveStderr: stderr,
      receiveStdout: reply(),
      ...(failure ? { carrierFailure: failure } : {}),
    };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
