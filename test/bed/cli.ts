// Test bed: runs the built CLI as an administrator would, and captures its exit code and output.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cyber-zfs-backup.mjs', import.meta.url));

/**
 * Where the CLI records its runs ($STATE_DIRECTORY) unless a test gives its own: a directory of this
 * test process, removed when it exits, so that no test writes /var/lib/cyber-zfs-backup.
 */
const STATE_DIRECTORY = mkdtempSync(join(tmpdir(), 'czb-state-'));
process.once('exit', () => rmSync(STATE_DIRECTORY, { recursive: true, force: true }));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; asUser?: number } = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const env: NodeJS.ProcessEnv = { ...process.env, STATE_DIRECTORY, ...options.env };
  delete env.JOURNAL_STREAM;
  const argv = options.asUser === undefined ? [process.execPath, CLI, ...args] : ['setpriv', `--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', process.execPath, CLI, ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The non-empty lines a run printed on stderr. */
export function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** Like runCli, without blocking the event loop (needed when the test process also runs a relay). */
export function runCliAsync(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult & { pid: number }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const env: NodeJS.ProcessEnv = { ...process.env, STATE_DIRECTORY, ...options.env };
  delete env.JOURNAL_STREAM;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, pid: child.pid ?? 0 })));
}
