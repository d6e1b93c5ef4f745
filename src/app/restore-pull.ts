// One remote `zfs send` pulled into one local `zfs receive`: progress on a terminal, the bytes/seconds line, and a failure turned into one line.
import { BackupError, ExitCode } from '../core/exit-codes';
import { REFUSAL_PREFIX } from '../core/serve-protocol';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { ClientChannel } from 'ssh2';
import { receiveFromChannel, type PullResult } from '../io/transfer-pull';
import { mib, type TransferDeps } from './push-transfer';

/** Runs local `zfs RECEIVEARGS` fed from `channel`; throws one clear line on any failure; `again` says what the next run does. */
export async function pull(deps: TransferDeps, channel: ClientChannel, receiveArgs: string[], what: string, where: string, again: string): Promise<PullResult> {
  deps.log.debug({ argv: [deps.zfsProgram, ...receiveArgs] }, 'running zfs');
  const progress = deps.progress;
  const result = await receiveFromChannel(channel, {
    zfsProgram: deps.zfsProgram,
    receiveArgs,
    ...(progress ? { onProgress: (bytes: number, seconds: number) => progress.write(`\r${what}: ${mib(bytes)} MiB, ${mib(bytes / Math.max(seconds, 0.001))} MiB/s   `) } : {}),
  });
  if (progress) progress.write('\n');
  reportPull(result, what, where, again);
  deps.log.info(`pulled ${what} from ${where}: ${result.bytes} bytes in ${result.seconds.toFixed(1)} s, ${mib(result.bytes / Math.max(result.seconds, 0.001))} MiB/s`);
  return result;
}

/** Nothing when both ends exited 0; otherwise the one line that says which end failed, how, and what the next run does. */
export function reportPull(result: PullResult, what: string, where: string, again: string): void {
  if (result.sendExitCode === 0 && result.receiveExitCode === 0) return;
  const prefix = `restore of ${what} from ${where} failed after ${mib(result.bytes)} MiB`;
  const recv = `zfs receive here exited ${result.receiveExitCode}${result.receiveSignal ? ` (${result.receiveSignal})` : ''}${result.receiveStderr.trim() ? ': ' + firstErrorLine(result.receiveStderr) : ''}`;
  // A send that failed on its own also ends the stream early: then its words say why, not the receive's.
  const receiveSawEnd = /failed to read from stream|incomplete stream|end of stream/i.test(result.receiveStderr);
  if (!result.sendStoppedByUs || (receiveSawEnd && result.sendExitCode !== null && result.sendExitCode !== 0)) {
    if (result.sendExitCode === null) {
      throw new BackupError(ExitCode.unavailable, `${prefix}: the connection closed without an exit status${result.sendSignal ? ` (signal ${result.sendSignal})` : ''}; check the link to the offsite host, then ${again}`);
    }
    if (result.sendExitCode !== 0) {
      const refusal = result.sendStderr.split('\n').find((l) => l.startsWith(REFUSAL_PREFIX));
      if (refusal !== undefined) {
        throw new BackupError(ExitCode.notPermitted, `${prefix}: the offsite host's serve refused it (${refusal.slice(REFUSAL_PREFIX.length).trim()}); its authorized_keys line (serve --root) decides what this key may read`);
      }
      const failure = classifyZfsError(result.sendStderr, 'remote');
      throw new BackupError(failure.exitCode, `${prefix}: zfs send on the offsite host exited ${result.sendExitCode}: ${firstErrorLine(result.sendStderr)}; ${recv}; ${failure.hint}; then ${again}`);
    }
  }
  const failure = classifyZfsError(result.receiveStderr, 'local');
  throw new BackupError(failure.exitCode, `${prefix}: ${recv}${result.sendStoppedByUs ? ', so zfs send there was stopped' : ''}; ${failure.hint}; then ${again}`);
}
