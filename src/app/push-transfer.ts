// One `zfs send` into one opened remote receive: progress on a terminal, the bytes/seconds line, and a failure turned into one line.
import { BackupError, ExitCode } from '../core/exit-codes';
import { earlierReceiveError, earlierReceiveRunning } from '../core/link';
import { formatRate } from '../core/rate';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { EarlySend } from '../io/early-send';
import type { TransferResult } from '../io/transfer';
import { sendStream, type StreamTarget } from '../io/transfer-ssh';
import type { Deps } from './deps';

export interface TransferDeps extends Deps {
  zfsProgram: string;
  /** Where a progress line goes (a TTY), if anywhere. */
  progress?: NodeJS.WriteStream;
}

export function mib(bytes: number): string {
  const value = bytes / 1048576;
  return value >= 10 ? value.toFixed(0) : value >= 0.1 ? value.toFixed(1) : value.toFixed(3);
}

/** How one stream goes: its --bwlimit, and who hears that every byte has gone out. */
export interface StreamOptions {
  bytesPerSecond?: number | undefined;
  /** Every byte has gone into the channel; from now on the push waits for the receiver. */
  onSent?: () => void;
  /** Bytes sent so far, about once a second. */
  onBytes?: (bytes: number) => void;
  /** This very zfs send, started before the plan asked for it: taken by OpenSSH's client instead of starting another. */
  early?: EarlySend | undefined;
}

/** ` (limited to 8 MiB/s)` after a rate, when --bwlimit is set. */
export function limitNote(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined ? '' : ` (limited to ${formatRate(bytesPerSecond)})`;
}

/** Runs local `zfs SENDARGS` into the receive opened at `target`; throws one clear line on any failure; returns the result (with the receiver's reply). */
export async function transfer(deps: TransferDeps, target: StreamTarget, sendArgs: string[], what: string, where: string, stream: StreamOptions = {}): Promise<TransferResult> {
  deps.log.debug({ argv: [deps.zfsProgram, ...sendArgs] }, 'running zfs');
  const progress = deps.progress;
  const note = limitNote(stream.bytesPerSecond);
  const onProgress =
    progress || stream.onBytes
      ? (bytes: number, seconds: number) => {
          stream.onBytes?.(bytes);
          progress?.write(`\r${what}: ${mib(bytes)} MiB, ${mib(bytes / Math.max(seconds, 0.001))} MiB/s${note}   `);
        }
      : undefined;
  const result = await sendStream(target, {
    zfsProgram: deps.zfsProgram,
    sendArgs,
    ...(onProgress ? { onProgress } : {}),
    ...(stream.bytesPerSecond === undefined ? {} : { bytesPerSecond: stream.bytesPerSecond }),
    ...(stream.onSent ? { onSent: stream.onSent } : {}),
    ...(stream.early ? { early: stream.early } : {}),
  });
  stream.onBytes?.(result.bytes);
  if (progress) progress.write('\n');
  reportTransfer(result, what, where);
  // With a limit, also the stream's own rate: the one the limit holds (the whole time has zfs send's start and the receiver's end in it).
  const streamed = stream.bytesPerSecond === undefined ? '' : `; the stream ${result.streamSeconds.toFixed(1)} s at ${mib(result.bytes / Math.max(result.streamSeconds, 0.001))} MiB/s`;
  deps.log.info(`pushed ${what} to ${where}: ${result.bytes} bytes in ${result.seconds.toFixed(1)} s, ${mib(result.bytes / Math.max(result.seconds, 0.001))} MiB/s${streamed}${note}`);
  return result;
}

/** Nothing when both ends exited 0; otherwise the one line that says which end failed, how, and what happens next. */
export function reportTransfer(result: TransferResult, what: string, where: string): void {
  if (result.sendExitCode === 0 && result.receiveExitCode === 0) return;
  if (result.carrierFailure) throw result.carrierFailure;
  const prefix = `push of ${what} to ${where} failed after ${mib(result.bytes)} MiB`;
  if (result.receiveExitCode === null && result.receiveSignal) {
    throw new BackupError(ExitCode.temporary, `${prefix}: zfs receive on the receiving host was killed (${result.receiveSignal}); the next run repairs the receiver and resumes from the last common snapshot`);
  }
  if (result.receiveExitCode === null) {
    throw new BackupError(
      ExitCode.unavailable,
      `${prefix}: the connection closed without an exit status${result.receiveSignal ? ` (signal ${result.receiveSignal})` : ''}, so zfs send was stopped; check the link to the offsite host; the next run repairs the receiver and resumes from the last common snapshot`,
    );
  }
  const earlier = result.receiveExitCode !== 0 ? earlierReceiveRunning(result.receiveStderr) : undefined;
  if (earlier) throw earlierReceiveError(`push of ${what}`, where, earlier.serveSays);
  const send = result.sendStoppedByUs ? 'zfs send was stopped when the receiver ended' : result.sendSignal ? `zfs send was stopped (${result.sendSignal})` : `zfs send exited ${result.sendExitCode}${result.sendStderr.trim() ? ': ' + firstErrorLine(result.sendStderr) : ''}`;
  const recv = `zfs receive exited ${result.receiveExitCode}${result.receiveStderr.trim() ? ': ' + firstErrorLine(result.receiveStderr) : ''}`;
  if (result.sendSignal && !result.sendStoppedByUs) {
    throw new BackupError(ExitCode.temporary, `${prefix}: ${send}, so the receiver got a cut stream (${recv}); the next run resumes from the last common snapshot`);
  }
  const failure = result.receiveExitCode !== 0 ? classifyZfsError(result.receiveStderr, 'remote') : classifyZfsError(result.sendStderr, 'local');
  throw new BackupError(failure.exitCode, `${prefix}: ${recv}; ${send}; ${failure.hint}; the next run resumes from the last common snapshot`);
}
