// A partial receive left by a cut push (OpenZFS `receive -s`): resumed with `send -t`, or aborted so the push can start again.
import type { ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { joinDataset } from '../core/names';
import { partialReceives, type DatasetTree } from '../core/tree';
import { resumeSendArgs } from '../core/zfs-argv';
import { firstErrorLine } from '../core/zfs-errors';
import { sendStream } from '../io/transfer-ssh';
import type { PushOptions } from './options';
import type { TransferDeps } from './push-transfer';
import { reportTransfer } from './push-transfer';
import type { Receiver } from './receiver';

/**
 * An interrupted `receive -s` leaves partial state that blocks every other receive into that
 * dataset: resume it with `send -t` where the sender can, otherwise (or if that fails) abort it
 * with `receive -A`. Returns whether anything changed on the receiver.
 */
export async function settlePartialReceives(deps: TransferDeps, receiver: Receiver, options: PushOptions, sender: ZfsCapabilities, remote: DatasetTree, mountpoint: string): Promise<boolean> {
  const partial = partialReceives(remote);
  if (partial.length === 0) return false;
  for (const ds of partial) {
    const name = joinDataset(options.receiveDataset, ds.relative);
    const canResume = sender.sendFlags.has('t');
    if (options.dryRun) {
      deps.log.info(`dry run: would ${canResume ? 'resume' : 'abort'} the interrupted receive of ${name}`);
      continue;
    }
    if (canResume) {
      deps.log.warn(`resuming the interrupted receive of ${name}`);
      const target = await receiver.openReceive(name, 'resume', mountpoint);
      const result = await sendStream(target, {
        zfsProgram: deps.zfsProgram,
        sendArgs: resumeSendArgs(ds.resumeToken),
        ...(options.bwlimit === undefined ? {} : { bytesPerSecond: options.bwlimit }),
      });
      if (result.sendExitCode === 0 && result.receiveExitCode === 0) {
        deps.log.info(`resumed ${name}: ${result.bytes} bytes in ${result.seconds.toFixed(1)} s`);
        continue;
      }
      if (result.receiveExitCode === null) reportTransfer(result, `the resumed receive of ${name}`, options.sshDestination);
      const why = result.sendExitCode !== 0 && result.sendStderr.trim() ? result.sendStderr : result.receiveStderr;
      deps.log.warn(`resuming ${name} failed (${firstErrorLine(why)}); aborting the partial receive instead`);
    }
    if (!receiver.caps.receiveFlags.has('A')) {
      throw new BackupError(ExitCode.dataRefused, `${name} on ${options.sshDestination} holds a partial receive that cannot be resumed or aborted here; run "zfs receive -A ${name}" there, then push again`);
    }
    try {
      await receiver.abortPartial(name);
    } catch (error) {
      // An append-only key is given no destroy permission, and zfs receive -A destroys the partial state.
      if (!(error instanceof BackupError) || !receiver.appendOnly || error.exitCode !== ExitCode.notPermitted) throw error;
      throw new BackupError(ExitCode.dataRefused, `${name} on ${options.sshDestination} holds a partial receive that cannot be resumed, and this append-only copy may not discard it; an administrator of the offsite host can run "zfs receive -A ${name}" there, then the next push goes on (${error.message})`);
    }
    deps.log.warn(`aborted the partial receive of ${name}; the push sends it again from the last common snapshot`);
  }
  return !options.dryRun;
}
