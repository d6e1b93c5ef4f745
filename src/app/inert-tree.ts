// Keeps a received tree inert (never mounts by itself, read-only, mounts only below its backup mount point), whoever runs zfs there.
import { BackupError, ExitCode } from '../core/exit-codes';
import { parseReceivedFilesystems, receivedPropertyFixes } from '../core/received-properties';
import type { BatchPart } from '../core/remote-command';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';

/** How the received tree is listed and set: remote execs from the sender, or local zfs inside serve. */
export interface InertTreeIo {
  /** `zfs list` of the tree's mount properties (listReceivedArgs). */
  list(): Promise<BatchPart>;
  /** Runs `zfs set` commands in order, stopping at the first failure. */
  set(fixes: string[][]): Promise<void>;
}

/**
 * Sets what would let the received tree mount by itself, be written, or mount outside `mountpoint`;
 * returns the `zfs set` commands run. What the children inherit from the receive dataset follows
 * it, so the receive dataset is set first and the children judged again after that.
 */
export async function makeInert(io: InertTreeIo, dataset: string, mountpoint: string, listed?: BatchPart, say: (fix: string[]) => void = () => {}): Promise<string[][]> {
  const fixesFrom = (part: BatchPart): string[][] => {
    if (part.code !== 0) {
      const failure = classifyZfsError(part.stderr, 'remote');
      throw new BackupError(part.code === null ? ExitCode.unavailable : failure.exitCode, `listing the properties of ${dataset} failed: ${firstErrorLine(part.stderr)}; ${failure.hint}`);
    }
    return receivedPropertyFixes(dataset, mountpoint, parseReceivedFilesystems(dataset, part.stdout));
  };
  let fixes = fixesFrom(listed ?? (await io.list()));
  const applied: string[][] = [];
  const rootFixes = fixes.filter((f) => f[f.length - 1] === dataset);
  if (rootFixes.length > 0) {
    rootFixes.forEach(say);
    await io.set(rootFixes);
    applied.push(...rootFixes);
    fixes = fixesFrom(await io.list()).filter((f) => f[f.length - 1] !== dataset);
  }
  if (fixes.length > 0) {
    fixes.forEach(say);
    await io.set(fixes);
    applied.push(...fixes);
  }
  return applied;
}
