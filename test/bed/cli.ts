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

/** The environment a test's run gets (the bed's state directory, never the journal); checks the CLI is built. */
function cliEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const env: NodeJS.ProcessEnv = { ...process.env, STATE_DIRECTORY, ...extra };
  delete env.JOURNAL_STREAM;
  return env;
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; asUser?: number } = {}): CliResult {
  const env = cliEnv(options.env);
  const argv = options.asUser === undefined ? [process.execPath, CLI, ...args] : ['setpriv', `--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', process.execPath, CLI, ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The non-empty lines a run printed on stderr. */
export function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** How long runCliAsync lets a run go on before it kills it (a hung run fails its test, never the whole tier). */
const ASYNC_RUN_LIMIT_MS = 600_000;
/** How long after the run exited its output may stay open (a process it started and left behind holds it). */
const OUTPUT_GRACE_MS = 10_000;

/** Like runCli, without blocking the event loop (needed when the test process also runs a relay); bounded like it. */
export function runCliAsync(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult & { pid: number }> {
  const env = cliEnv(options.env);
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    let note = '';
    const limit = setTimeout(() => {
      note = `\n[test bed: the run was still running after ${ASYNC_RUN_LIMIT_MS / 1000} s and was killed]\n`;
      child.kill('SIGKILL');
    }, ASYNC_RUN_LIMIT_MS);
    let grace: NodeJS.Timeout | undefined;
    const done = (code: number | null) => {
      clearTimeout(limit);
      if (grace) clearTimeout(grace);
      resolve({ code: code ?? -1, stdout, stderr: stderr + note, pid: child.pid ?? 0 });
    };
    child.on('exit', (code) => {
      grace = setTimeout(() => {
        note += `\n[test bed: the run exited ${code}, but its output stayed open ${OUTPUT_GRACE_MS / 1000} s after: a process it started is still there]\n`;
        child.stdout.destroy();
        child.stderr.destroy();
        done(code);
      }, OUTPUT_GRACE_MS);
    });
    child.on('close', (code) => done(code));
  });
}
