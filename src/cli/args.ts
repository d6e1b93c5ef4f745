// The command line: every flag of cyber-zfs-backup 0.5 with the same meaning and defaults (yargs only).
import yargs from 'yargs';
import { ACTIONS, SOLO_ACTIONS, type Action, type Destination, type RunOptions } from '../app/options';
import { datasetNameProblem } from '../core/names';
import { DEFAULT_RETENTION } from '../core/retention';

export interface CliOptions extends RunOptions {
  verbose: boolean;
  debug: boolean;
}

export class UsageError extends Error {}

const DESTINATION = /^[A-Za-z0-9_.@%+:\[\]-]+$/;

function checkDataset(flag: string, value: string): void {
  const problem = datasetNameProblem(value);
  if (problem) throw new UsageError(`${flag} ${JSON.stringify(value)} is not a valid ZFS dataset name: ${problem}`);
}

function retention(values: unknown[]): RunOptions['retention'] {
  if (values.length !== 3) throw new UsageError(`--retention-policy takes three numbers (days weeks months), got ${values.length}`);
  const numbers = values.map((v) => {
    const text = String(v);
    if (!/^\d+$/.test(text) || Number(text) > 100_000) {
      throw new UsageError(`--retention-policy ${values.join(' ')}: ${JSON.stringify(text)} is not a whole number from 0 to 100000`);
    }
    return Number(text);
  }) as [number, number, number];
  return { days: numbers[0], weeks: numbers[1], months: numbers[2] };
}

/**
 * The offsite copies: the Nth receive dataset goes with the Nth destination, and a single value of
 * either goes with every value of the other.
 */
export function pairDestinations(sshDestinations: readonly string[], receiveDatasets: readonly string[]): Destination[] {
  const n = Math.max(sshDestinations.length, receiveDatasets.length);
  if (sshDestinations.length !== n && sshDestinations.length !== 1) {
    throw new UsageError(`${sshDestinations.length} --ssh-destination and ${receiveDatasets.length} --zfs-receive-dataset do not pair up; give as many of each, or one of either for all`);
  }
  if (receiveDatasets.length !== n && receiveDatasets.length !== 1) {
    throw new UsageError(`${sshDestinations.length} --ssh-destination and ${receiveDatasets.length} --zfs-receive-dataset do not pair up; give as many of each, or one of either for all`);
  }
  const pairs: Destination[] = [];
  for (let i = 0; i < n; i += 1) {
    const pair = { sshDestination: sshDestinations[sshDestinations.length === 1 ? 0 : i] as string, receiveDataset: receiveDatasets[receiveDatasets.length === 1 ? 0 : i] as string };
    if (pairs.some((p) => p.sshDestination === pair.sshDestination && p.receiveDataset === pair.receiveDataset)) {
      throw new UsageError(`--ssh-destination ${pair.sshDestination} with --zfs-receive-dataset ${pair.receiveDataset} is given twice`);
    }
    pairs.push(pair);
  }
  return pairs;
}

/** Parses argv into options; throws UsageError with one line for anything wrong. */
export async function parseArgs(argv: string[], hostname: string, version: string): Promise<CliOptions | 'exit'> {
  let helpOrVersion = false;
  const parser = yargs(argv)
    .scriptName('cyber-zfs-backup')
    .usage('$0 [options]\n\nSnapshot a ZFS dataset tree, expire old snapshots by a retention policy, and replicate the tree to an offsite host over SSH.')
    .option('action', {
      type: 'string',
      array: true,
      choices: [...ACTIONS, ...SOLO_ACTIONS] as string[],
      default: [...ACTIONS],
      describe: 'actions to run, in this order whatever the order given; restore runs alone',
    })
    .option('dataset', { alias: 'pool', type: 'string', default: `${hostname}/${hostname}`, describe: 'root of the dataset tree (POOL/DATASET)' })
    .option('dry-run', { alias: ['no-act', 'n'], type: 'boolean', default: false, describe: 'plan and report, but create, destroy and send nothing' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'say what is done' })
    .option('debug', { type: 'boolean', default: false, describe: 'also show every command run' })
    .option('retention-policy', {
      type: 'string',
      array: true,
      nargs: 3,
      default: [String(DEFAULT_RETENTION.days), String(DEFAULT_RETENTION.weeks), String(DEFAULT_RETENTION.months)],
      describe: 'keep D daily, W weekly and M monthly snapshots, then one a year',
    })
    .option('force-destroy-lots', { type: 'boolean', default: false, describe: 'let expire destroy more than 25% of the snapshots' })
    .option('ssh-destination', { type: 'string', array: true, requiresArg: true, default: ['offsite'], describe: 'SSH host (alias in the ssh config) to push to; repeat it for several offsite copies' })
    .option('ssh-config', { type: 'string', describe: 'ssh_config file to resolve the destination with (ssh -F)' })
    .option('zfs-receive-dataset', { type: 'string', array: true, requiresArg: true, default: [`offsite/${hostname}`], describe: 'dataset on the offsite host that receives the tree; the Nth goes with the Nth --ssh-destination, one goes with all' })
    .option('use-sudo', { type: 'boolean', default: false, describe: 'run zfs on the offsite host with sudo -n' })
    .option('force-non-incremental', { type: 'boolean', default: false, describe: 'allow the first, full send when the offsite tree does not exist yet' })
    .option('snapshot', { type: 'string', requiresArg: true, describe: "restore: the offsite copy's snapshot to restore (default: its newest)" })
    .epilogue(
      [
        'Exit status:',
        '  0 ok                      64 usage error           65 refused to protect data',
        '  66 dataset missing        69 remote or zfs unavailable, host key refused',
        '  70 internal error         73 cannot create on the receiver (e.g. full)',
        '  75 another run holds the lock                      77 not permitted',
        'See cyber-zfs-backup(8).',
      ].join('\n'),
    )
    .version(version)
    .help()
    .strict()
    .parserConfiguration({ 'strip-aliased': true, 'strip-dashed': true, 'boolean-negation': false, 'duplicate-arguments-array': false })
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError((error?.message ?? message).replace(/\s*\n\s*/g, ' '));
    });
  parser.middleware((args) => {
    if (args.help || args.version) helpOrVersion = true;
  }, true);
  const args = await parser.parse();
  if (helpOrVersion || args.help || args.version) return 'exit';

  const dataset = String(args.dataset);
  checkDataset('--dataset', dataset);
  const receiveDatasets = (args.zfsReceiveDataset as unknown[]).map(String);
  for (const receiveDataset of receiveDatasets) checkDataset('--zfs-receive-dataset', receiveDataset);
  const sshDestinations = (args.sshDestination as unknown[]).map(String);
  for (const destination of sshDestinations) {
    if (!DESTINATION.test(destination) || destination.startsWith('-')) {
      throw new UsageError(`--ssh-destination ${JSON.stringify(destination)} is not a host name or ssh_config alias; use letters, digits and . _ - @ only`);
    }
  }
  const sshConfig = args.sshConfig === undefined ? undefined : String(args.sshConfig);
  if (sshConfig !== undefined && (sshConfig === '' || sshConfig.startsWith('-'))) throw new UsageError(`--ssh-config ${JSON.stringify(sshConfig)} is not a file path`);
  const chosen = (args.action as string[]).map((a) => a as Action);
  const restore = restoreOptions(chosen, args.snapshot, sshDestinations, receiveDatasets);
  return {
    actions: restore.actions ?? ACTIONS.filter((a) => chosen.includes(a)),
    snapshot: restore.snapshot,
    dataset,
    dryRun: Boolean(args.dryRun),
    retention: retention(args.retentionPolicy as unknown[]),
    forceDestroyLots: Boolean(args.forceDestroyLots),
    destinations: pairDestinations(sshDestinations, receiveDatasets),
    sshConfig,
    useSudo: Boolean(args.useSudo),
    forceNonIncremental: Boolean(args.forceNonIncremental),
    hostname,
    verbose: Boolean(args.verbose),
    debug: Boolean(args.debug),
  };
}

/**
 * restore runs alone, from one offsite copy; --snapshot belongs to it. A snapshot name is a plain
 * word (a leading "@" is dropped, as people type it that way).
 */
function restoreOptions(chosen: readonly Action[], snapshotArg: unknown, sshDestinations: readonly string[], receiveDatasets: readonly string[]): { actions?: Action[]; snapshot: string | undefined } {
  const restore = chosen.includes('restore');
  const snapshot = snapshotArg === undefined ? undefined : String(snapshotArg).replace(/^@/, '');
  if (!restore) {
    if (snapshot !== undefined) throw new UsageError('--snapshot is for --action restore only');
    return { snapshot };
  }
  if (chosen.some((a) => a !== 'restore')) throw new UsageError('--action restore runs alone; run the other actions in a separate command');
  if (sshDestinations.length > 1 || receiveDatasets.length > 1) throw new UsageError('--action restore restores from one offsite copy: give one --ssh-destination and one --zfs-receive-dataset');
  if (snapshot !== undefined && (!/^[A-Za-z0-9_.:-]+$/.test(snapshot) || snapshot.startsWith('-') || snapshot.length > 200)) {
    throw new UsageError(`--snapshot ${JSON.stringify(snapshot)} is not a snapshot name (the part after "@": letters, digits and _ . : - only)`);
  }
  return { actions: ['restore'], snapshot };
}
