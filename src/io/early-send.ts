// A zfs send started before the plan asked for it: its output waits in a pipe of its own, and nothing leaves the host unless a stream takes it.
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePipes, type PipeEnds } from './fifo';
import { spawnSend, type SendProcess } from './transfer';

export interface EarlySend {
  /** What it runs: `zfs SENDARGS`. */
  readonly sendArgs: readonly string[];
  /** Hands the running zfs send and the read end of its pipe to a stream, once; undefined once taken or discarded. */
  take(): { send: SendProcess; read: number } | undefined;
  /** Stops it (SIGTERM, by PID) and closes its pipe unless a stream took it; removes its directory. Once. */
  discard(): void;
}

/**
 * Starts `zfs SENDARGS` into a FIFO in a private directory (mode 0700, from mkdtemp), read by
 * nobody yet: zfs send reads the tree's snapshots (on a large tree, most of a small push's time)
 * and then waits on the full pipe. Undefined if the pipe cannot be made: the push then starts its
 * zfs send when the stream opens, as it always could.
 */
export async function startEarlySend(zfsProgram: string, sendArgs: readonly string[]): Promise<EarlySend | undefined> {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'cyber-zfs-backup-send-'));
  } catch {
    return undefined;
  }
  let pipe: PipeEnds;
  try {
    ({ send: pipe } = await makePipes(dir, ['send']));
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const send = spawnSend(zfsProgram, sendArgs, pipe.write);
  let state: 'held' | 'taken' | 'discarded' = 'held';
  return {
    sendArgs: [...sendArgs],
    take: () => {
      if (state !== 'held') return undefined;
      state = 'taken';
      return { send, read: pipe.read };
    },
    discard: () => {
      if (state === 'discarded') return;
      if (state === 'held') {
        // Killing a zfs send that has already exited does nothing.
        send.kill('SIGTERM');
        closeSync(pipe.read);
      }
      state = 'discarded';
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
