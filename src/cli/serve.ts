// `cyber-zfs-backup serve`: the forced command of a sender's key on the offsite host (yargs for its flags, then one request).
import yargs from 'yargs';
import { ExitCode } from '../core/exit-codes';
import { datasetNameProblem } from '../core/names';
import { parseStaleAfter, STALE_RECEIVE_SECONDS } from '../core/receive-lease';
import { REMOTE_PATH } from '../core/remote-command';
import type { ServePolicy } from '../core/serve-protocol';

interface ServeFlags extends ServePolicy {
  logFile: string | undefined;
  staleAfterSeconds: number;
}

class ServeUsageError extends Error {}

async function parseServeArgs(argv: string[], version: string): Promise<ServeFlags | 'exit'> {
  let helpOrVersion = false;
  const parser = yargs(argv)
    .scriptName('cyber-zfs-backup serve')
    .usage('$0 --root DATASET [--root ...] [--append-only] [--stale-receive-after SECONDS]')
    .epilogue(
      [
        "The forced command of a sender's key in the offsite host's authorized_keys, e.g.",
        '  restrict,command="/usr/bin/cyber-zfs-backup serve --root tank/backup/zippy" KEY',
        'It runs the one request the sender makes (SSH_ORIGINAL_COMMAND) if it is part of a push',
        'or a restore inside the roots, and refuses anything else (exit 77). See cyber-zfs-backup(8).',
      ].join('\n'),
    )
    .option('root', { type: 'string', array: true, demandOption: true, describe: 'a dataset this key may receive into and restore from (with everything below it)' })
    .option('append-only', { type: 'boolean', default: false, describe: 'the offsite copy only grows: no receive -F, rollback or destroy' })
    .option('stale-receive-after', {
      type: 'string',
      defaultDescription: `${STALE_RECEIVE_SECONDS} s`,
      describe: "seconds: an earlier receive into the tree that has read nothing for longer is ended when the next request comes (its sender is gone); keep it at least the senders' keepalive bound, ServerAliveInterval × (ServerAliveCountMax + 1)",
    })
    .option('log-file', { type: 'string', describe: 'also append every log line to this file (they always go to syslog)' })
    .version(version)
    .help()
    .strict()
    .parserConfiguration({ 'strip-aliased': true, 'strip-dashed': true, 'boolean-negation': false })
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw new ServeUsageError((error?.message ?? message).replace(/\s*\n\s*/g, ' '));
    });
  parser.middleware((args) => {
    if (args.help || args.version) helpOrVersion = true;
  }, true);
  const args = await parser.parse();
  if (helpOrVersion || args.help || args.version) return 'exit';
  const roots = (args.root as unknown[]).map(String);
  for (const root of roots) {
    const problem = datasetNameProblem(root);
    if (problem) throw new ServeUsageError(`--root ${JSON.stringify(root)} is not a valid ZFS dataset name: ${problem}`);
  }
  // No yargs default: with one, a flag given without a value would silently mean the default.
  const staleAfter = args.staleReceiveAfter === undefined ? { seconds: STALE_RECEIVE_SECONDS } : parseStaleAfter(String(args.staleReceiveAfter));
  if ('problem' in staleAfter) throw new ServeUsageError(`--stale-receive-after: ${staleAfter.problem}`);
  const logFile = args.logFile === undefined ? undefined : String(args.logFile);
  return { roots, appendOnly: Boolean(args.appendOnly), logFile, staleAfterSeconds: staleAfter.seconds };
}

/** SSH_CLIENT is "ADDRESS PORT LOCALPORT"; unset when serve is run by hand. */
function clientOf(env: NodeJS.ProcessEnv): string {
  const [address, port] = (env.SSH_CLIENT ?? '').split(' ');
  return address ? `${address} port ${port ?? '?'}` : 'a local caller (no SSH_CLIENT)';
}

export async function serveMain(argv: string[], version: string): Promise<number> {
  const [{ makeSyslog }, { runAttached, runCommand }, { acquireLock, DEFAULT_LOCK_DIR }, { serveRequest }, { holdTree }, { leaseFiles }, proc] = await Promise.all([
    import('../io/syslog'),
    import('../io/command'),
    import('../io/lock'),
    import('../app/serve'),
    import('../app/serve-lease'),
    import('../io/receive-lease'),
    import('../io/proc'),
  ]);
  const syslog = makeSyslog(process.pid, undefined, () => Date.now());
  let flags: ServeFlags;
  try {
    const parsed = await parseServeArgs(argv, version);
    if (parsed === 'exit') return ExitCode.ok;
    flags = parsed;
  } catch (error) {
    if (!(error instanceof ServeUsageError)) throw error;
    const line = `cyber-zfs-backup serve: ${error.message}; fix the command= of this key in authorized_keys (see cyber-zfs-backup serve --help)`;
    process.stderr.write(`${line}\n`);
    await syslog('err', line);
    return ExitCode.usage;
  }
  // sshd gives a non-root user no sbin directories in PATH; zfs lives there. Nothing the client
  // could set through the environment (AcceptEnv) chooses what serve runs or where it locks.
  process.env.PATH = REMOTE_PATH.slice('PATH='.length);
  const zfsProgram = 'zfs';
  const log = makeSyslog(process.pid, flags.logFile, () => Date.now());
  const client = clientOf(process.env);
  const self = proc.leased(process.pid) ?? { pid: process.pid, start: '?' };
  return serveRequest(
    {
      zfs: (args) => runCommand(zfsProgram, args),
      zfsAttached: (args, stdio) => runAttached(zfsProgram, args, { ...stdio, stderr: process.stderr }),
      holdTree: (dataset, receive, who) =>
        holdTree(
          {
            lock: (d) => acquireLock(DEFAULT_LOCK_DIR, d),
            leases: leaseFiles(DEFAULT_LOCK_DIR),
            proc: { ...proc, self },
            syslog: log,
            client,
            staleAfterSeconds: flags.staleAfterSeconds,
            now: () => Date.now(),
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          },
          dataset,
          receive,
          who,
        ),
      syslog: log,
      reply: (line) => process.stdout.write(`${line}\n`),
      say: (line) => process.stderr.write(`${line}\n`),
      client,
      version,
      now: () => Date.now(),
    },
    flags,
    process.env.SSH_ORIGINAL_COMMAND,
  );
}
