// The local zfs adapter: runs zfs by argv, reads the tree and capabilities, and raises clear errors.
import { parseCapabilities, type ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { onlyRoot, parseTree, type DatasetTree } from '../core/tree';
import { existsArgs, listRootArgs, listTreeArgs } from '../core/zfs-argv';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { CommandResult, CommandRunner } from './command';
import type { Logger } from './logger';

export interface LocalZfs {
  capabilities(): Promise<ZfsCapabilities>;
  /** The tree below `dataset`, or undefined when the dataset does not exist. */
  tree(dataset: string): Promise<DatasetTree | undefined>;
  /** The root dataset alone with its snapshots (see listRootArgs), or undefined when it does not exist. */
  rootTree(dataset: string): Promise<DatasetTree | undefined>;
  /** Whether `dataset` exists: one line, where tree() lists every snapshot of the tree. */
  exists(dataset: string): Promise<boolean>;
  /** Runs `zfs ARGS`; a failure raises a BackupError that names `what`. */
  run(args: readonly string[], what: string): Promise<CommandResult>;
  /** Runs `zfs ARGS` and returns the result whatever the exit status. */
  tryRun(args: readonly string[]): Promise<CommandResult>;
}

export function makeLocalZfs(runner: CommandRunner, log: Logger, zfsProgram = 'zfs'): LocalZfs {
  let caps: ZfsCapabilities | undefined;

  const tryRun = async (args: readonly string[]): Promise<CommandResult> => {
    log.debug({ argv: [zfsProgram, ...args] }, 'running zfs');
    const result = await runner(zfsProgram, args);
    if (result.spawnError !== undefined) {
      throw new BackupError(ExitCode.unavailable, `cannot run "${zfsProgram}": ${result.spawnError}; install zfsutils-linux (or zfs-fuse) and make sure zfs is on PATH`);
    }
    return result;
  };

  const run = async (args: readonly string[], what: string): Promise<CommandResult> => {
    const result = await tryRun(args);
    if (result.exitCode !== 0) {
      const failure = classifyZfsError(result.stderr, 'local');
      throw new BackupError(failure.exitCode, `${what} failed: ${firstErrorLine(result.stderr)}; ${failure.hint}`);
    }
    return result;
  };

  /** `zfs ARGS` read as a tree below `dataset`, or undefined when the dataset does not exist. */
  const listed = async (dataset: string, args: readonly string[]): Promise<DatasetTree | undefined> => {
    const result = await tryRun(args);
    if (result.exitCode !== 0) {
      if (/dataset does not exist/i.test(result.stderr)) return undefined;
      const failure = classifyZfsError(result.stderr, 'local');
      throw new BackupError(failure.exitCode, `listing ${dataset} failed: ${firstErrorLine(result.stderr)}; ${failure.hint}`);
    }
    return parseTree(dataset, result.stdout);
  };

  return {
    run,
    tryRun,
    async capabilities() {
      if (caps) return caps;
      const result = await tryRun([]);
      const usage = result.stderr + result.stdout;
      if (!/usage:/i.test(usage)) {
        const failure = classifyZfsError(usage, 'local');
        throw new BackupError(failure.exitCode === ExitCode.internal ? ExitCode.unavailable : failure.exitCode, `zfs does not work on this host: ${firstErrorLine(usage)}; ${failure.hint}`);
      }
      caps = parseCapabilities(usage);
      log.debug({ caps: { ...caps, sendFlags: [...caps.sendFlags].join(''), receiveFlags: [...caps.receiveFlags].join('') } }, 'zfs capabilities');
      return caps;
    },
    async exists(dataset) {
      const result = await tryRun(existsArgs(dataset));
      if (result.exitCode === 0) return true;
      if (/dataset does not exist/i.test(result.stderr)) return false;
      const failure = classifyZfsError(result.stderr, 'local');
      throw new BackupError(failure.exitCode, `checking ${dataset} failed: ${firstErrorLine(result.stderr)}; ${failure.hint}`);
    },
    tree: (dataset) => listed(dataset, listTreeArgs(dataset)),
    rootTree: async (dataset) => {
      const tree = await listed(dataset, listRootArgs(dataset));
      return tree && onlyRoot(tree);
    },
  };
}
