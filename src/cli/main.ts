// The executable: parses flags, wires the real adapters, runs, and maps the outcome to an exit code.
import { fstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { BackupError, ExitCode, ReportedFailures } from '../core/exit-codes';
import { ZfsOutputError } from '../core/zfs-errors';
import { asksForStatus, parseArgs, UsageError } from './args';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

/** True when fd 2 is the systemd journal stream ($JOURNAL_STREAM is "device:inode" of it). */
function stderrIsJournal(): boolean {
  const stream = process.env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const st = fstatSync(2);
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  for (const s of [process.stdout, process.stderr]) s.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });
  const journal = stderrIsJournal();
  const say = (line: string, priority = '<3>') => process.stderr.write(`${journal ? priority : ''}${line}\n`);
  if (process.argv[2] === 'serve') {
    const { serveMain } = await import('./serve');
    return serveMain(process.argv.slice(3), VERSION);
  }
  let options;
  try {
    const parsed = await parseArgs(process.argv.slice(2), hostname().split('.')[0] ?? 'localhost', VERSION);
    if (parsed === 'exit') return ExitCode.ok;
    options = parsed;
  } catch (error) {
    if (error instanceof UsageError) {
      say(`cyber-zfs-backup: ${error.message} (see --help)`);
      if (!asksForStatus(process.argv.slice(2))) return ExitCode.usage;
      const { unknownStatus } = await import('./status');
      return unknownStatus(`usage: ${error.message} (see cyber-zfs-backup --help)`, process.argv.includes('--json'));
    }
    throw error;
  }
  if (options.status) {
    const { statusMain } = await import('./status');
    return statusMain({ ...options, status: options.status }, journal);
  }
  // Loaded only for a real run, so that --help and usage errors start fast.
  const [{ runBackup }, { runCommand }, { DEFAULT_LOCK_DIR }, { createLogger }, { makeLocalZfs }, { recorder }] = await Promise.all([
    import('../app/run'),
    import('../io/command'),
    import('../io/lock'),
    import('../io/logger'),
    import('../io/zfs'),
    import('./recording'),
  ]);
  // The SSH library (a third of what a run loads) is compiled while the run's first zfs commands
  // and ssh -G run, not before them: a connection is asked for only after those.
  const sessions = import('../io/ssh-session');
  sessions.catch(() => undefined);
  // A restore is run by hand, under stress: it says what it does without -v.
  const log = createLogger({ level: options.debug ? 'debug' : options.verbose || options.dryRun || options.actions.includes('restore') ? 'info' : 'warn', journal, out: process.stderr });
  const zfsProgram = process.env.CYBER_ZFS_BACKUP_ZFS ?? 'zfs';
  const report = (error: BackupError) => {
    say(`cyber-zfs-backup: ${error.message}`);
    for (const line of error.details) say(line, '<3>');
  };
  const zfs = makeLocalZfs(runCommand, log, zfsProgram);
  const now = () => Date.now();
  try {
    await runBackup(
      {
        zfs,
        log,
        now,
        record: recorder({ zfs, log, now }, options),
        runner: runCommand,
        // The stream goes by OpenSSH's client unless CYBER_ZFS_BACKUP_STREAM=ssh2 (the connection node-ssh keeps for everything else).
        connect: async (destination, use) => (await sessions).openSession(destination, { ...use, streamCarrier: process.env.CYBER_ZFS_BACKUP_STREAM === 'ssh2' ? 'ssh2' : 'openssh' }),
        zfsProgram,
        lockDir: process.env.CYBER_ZFS_BACKUP_LOCK_DIR ?? DEFAULT_LOCK_DIR,
        report,
        ...(process.stderr.isTTY && !journal ? { progress: process.stderr } : {}),
      },
      options,
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ReportedFailures) return error.exitCode;
    if (error instanceof BackupError) {
      report(error);
      return error.exitCode;
    }
    if (error instanceof ZfsOutputError) {
      say(`cyber-zfs-backup: cannot read what zfs printed (${error.message}); this zfs is not one cyber-zfs-backup knows: run again with --debug to see the command, and report it with the output of "zfs version"`);
      return ExitCode.internal;
    }
    say(`cyber-zfs-backup: internal error: ${(error as Error).stack ?? String(error)}; please report this`);
    return ExitCode.internal;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`cyber-zfs-backup: internal error: ${String(error)}\n`);
    process.exitCode = ExitCode.internal;
  },
);
