// Runs local commands from argv arrays (never a shell) and reports exit status and output.
import { execa } from 'execa';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

export type CommandRunner = (file: string, args: readonly string[], options?: { input?: string }) => Promise<CommandResult>;

export const runCommand: CommandRunner = async (file, args, options = {}) => {
  const result = await execa(file, args, {
    reject: false,
    stripFinalNewline: false,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    env: { LC_ALL: 'C' },
  });
  const spawnError = result.failed && result.exitCode === undefined ? (result.originalMessage ?? result.message) : undefined;
  return {
    exitCode: result.exitCode ?? 128 + signalNumber(result.signal),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(spawnError === undefined ? {} : { spawnError }),
  };
};

function signalNumber(signal: string | undefined): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
  return signal ? (table[signal] ?? 0) : 0;
}

/**
 * Runs a program on this process's own stdin or stdout (a stream passes through untouched, never
 * through JavaScript); its stderr is passed on to `stderr` as it comes and also kept.
 */
export async function runAttached(
  file: string,
  args: readonly string[],
  options: { stdin: 'inherit' | 'ignore'; stdout: 'inherit' | 'pipe'; stderr: NodeJS.WritableStream; onStart?: (pid: number) => void },
): Promise<CommandResult> {
  const child = execa(file, args, {
    reject: false,
    stripFinalNewline: false,
    stdin: options.stdin,
    stdout: options.stdout,
    stderr: 'pipe',
    buffer: { stdout: options.stdout === 'pipe', stderr: true },
    env: { LC_ALL: 'C' },
  });
  if (child.pid !== undefined) options.onStart?.(child.pid);
  child.stderr?.on('data', (chunk: Buffer) => options.stderr.write(chunk));
  const result = await child;
  const spawnError = result.failed && result.exitCode === undefined && result.signal === undefined ? (result.originalMessage ?? result.message) : undefined;
  return {
    exitCode: result.exitCode ?? 128 + signalNumber(result.signal),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(spawnError === undefined ? {} : { spawnError }),
  };
}
