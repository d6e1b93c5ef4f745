// The command line: every flag of cyber-zfs-backup 0.5 with the same meaning and defaults (yargs only).
import yargs from 'yargs';
import { ACTIONS, SOLO_ACTIONS, type Action, type Destination, type RunOptions } from '../app/options';
import { DEFAULT_CRITICAL_SECONDS, DEFAULT_WARNING_SECONDS, parseAge } from '../core/age-threshold';
import { datasetNameProblem } from '../core/names';
import { parseRate } from '../core/rate';
import { DEFAULT_RETENTION } from '../core/retention';
import type { Thresholds } from '../core/status';

/** `--action status`: it runs alone, and reads instead of changing anything. */
export interface StatusCliOptions {
  json: boolean;
  /** On the offsite host: every received tree below --dataset. */
  received: boolean;
  thresholds: Thresholds;
}

export interface CliOptions extends RunOptions {
  verbose: boolean;
  debug: boolean;
  /** Set for `--action status` (then `actions` is empty). */
  status?: StatusCliOptions;
  /** --metrics-file as given; undefined means the default (node_exporter's directory where it exists). */
  metricsFile?: string;
}

/** Whether argv asks for `--action status`: its usage errors are then reported the Nagios way (UNKNOWN, 3). */
export function asksForStatus(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--action=status' || (a === 'status' && i > 0 && argv.slice(0, i).includes('--action')));
}

function thresholds(warning: unknown, critical: unknown): Thresholds {
  const age = (flag: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = parseAge(String(value));
    if ('problem' in parsed) throw new UsageError(`${flag} ${parsed.problem}`);
    return parsed.seconds;
  };
  const result = { warningSeconds: age('--warning', warning, DEFAULT_WARNING_SECONDS), criticalSeconds: age('--critical', critical, DEFAULT_CRITICAL_SECONDS) };
  if (result.warningSeconds >= result.criticalSeconds) throw new UsageError(`--warning ${String(warning ?? '26h')} must be shorter than --critical ${String(critical ?? '50h')}`);
  return result;
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

/** A plain flag given twice comes as an array of its values: as in 0.5 (argparse), the last one counts. */
function lastValue(value: unknown): unknown {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** An array flag given twice comes as an array of arrays (one per time it was given): the last one counts. */
function lastGroup(value: unknown): unknown[] {
  const list = Array.isArray(value) ? value : [value];
  return list.some(Array.isArray) ? (list[list.length - 1] as unknown[]) : list;
}

/** Every value of an array flag that may be repeated, in order. */
function everyValue(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).flatMap((v) => (Array.isArray(v) ? v : [v])).map(String);
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
      // Neither choices nor a default here: yargs's choices check cannot read a repeated --action (the
      // last one counts), and a default would also fill in a bare --action, which 0.5 refused. Checked below.
      describe: 'actions to run, in this order whatever the order given (default: snapshot expire push); status and restore run alone',
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
    .option('metrics-file', { type: 'string', requiresArg: true, describe: 'Prometheus textfile each run rewrites (default: cyber-zfs-backup.prom in /var/lib/prometheus/node-exporter when that exists)' })
    .option('json', { type: 'boolean', describe: 'status: print one JSON document instead of the status line and table' })
    .option('warning', { type: 'string', requiresArg: true, describe: 'status: WARNING when the offsite newest snapshot is this old (90s, 30m, 26h, 2d; default 26h)' })
    .option('critical', { type: 'string', requiresArg: true, describe: 'status: CRITICAL when the offsite newest snapshot is this old (default 50h)' })
    .option('received', { type: 'boolean', describe: 'status on the offsite host: every received tree below --dataset, worst first' })
    .option('bwlimit', { type: 'string', requiresArg: true, describe: 'limit every stream to RATE bytes per second (K, M, G: 1024-based), e.g. 20M' })
    .option('snapshot', { type: 'string', requiresArg: true, describe: "restore: the offsite copy's snapshot to restore (default: its newest)" })
    .epilogue(
      [
        'Exit status:',
        '  0 ok                      64 usage error           65 refused to protect data',
        '  66 dataset missing        69 remote or zfs unavailable, host key refused, link lost or silent',
        '  70 internal error         73 cannot create on the receiver (e.g. full)',
        '  75 another run holds the lock, or a receive left by a dead run still runs there',
        '  77 not permitted',
        'status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios/Icinga plugin).',
        'On an offsite host, the forced command of each sender\'s key: cyber-zfs-backup serve --help.',
        'See cyber-zfs-backup(8).',
      ].join('\n'),
    )
    .version(version)
    .help()
    .strict()
    // Repeats are kept apart (not flattened): --ssh-destination and --zfs-receive-dataset add up, any other flag given twice counts once, the last one, as in 0.5.
    .parserConfiguration({ 'strip-aliased': true, 'strip-dashed': true, 'boolean-negation': false, 'duplicate-arguments-array': true, 'flatten-duplicate-arrays': false })
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

  const dataset = String(lastValue(args.dataset));
  checkDataset('--dataset', dataset);
  const receiveDatasets = everyValue(args.zfsReceiveDataset);
  for (const receiveDataset of receiveDatasets) checkDataset('--zfs-receive-dataset', receiveDataset);
  const sshDestinations = everyValue(args.sshDestination);
  for (const destination of sshDestinations) {
    if (!DESTINATION.test(destination) || destination.startsWith('-')) {
      throw new UsageError(`--ssh-destination ${JSON.stringify(destination)} is not a host name or ssh_config alias; use letters, digits and . _ - @ only`);
    }
  }
  const sshConfigValue = args.sshConfig === undefined ? undefined : lastValue(args.sshConfig);
  const sshConfig = sshConfigValue === undefined ? undefined : String(sshConfigValue);
  if (sshConfig !== undefined && (sshConfig === '' || sshConfig.startsWith('-'))) throw new UsageError(`--ssh-config ${JSON.stringify(sshConfig)} is not a file path`);
  const chosen = args.action === undefined ? [...ACTIONS] : lastGroup(args.action).map(String);
  if (chosen.length === 0) throw new UsageError('--action needs a value: snapshot, expire, push (any of them), status or restore');
  const known: readonly string[] = [...ACTIONS, ...SOLO_ACTIONS, 'status'];
  const unknown = chosen.find((a) => !known.includes(a));
  if (unknown !== undefined) throw new UsageError(`--action ${JSON.stringify(unknown)} is not one of ${known.join(', ')}`);
  const metricsValue = args.metricsFile === undefined ? undefined : lastValue(args.metricsFile);
  const metricsFile = metricsValue === undefined ? undefined : String(metricsValue);
  if (metricsFile !== undefined && (metricsFile === '' || metricsFile.startsWith('-'))) throw new UsageError(`--metrics-file ${JSON.stringify(metricsFile)} is not a file path`);
  let status: StatusCliOptions | undefined;
  if (chosen.includes('status')) {
    if (chosen.some((a) => a !== 'status')) throw new UsageError(`--action status runs alone; it cannot be combined with ${chosen.filter((a) => a !== 'status').join(' ')}`);
    status = { json: Boolean(args.json), received: Boolean(args.received), thresholds: thresholds(lastValue(args.warning), lastValue(args.critical)) };
  } else {
    const only = ['json', 'warning', 'critical', 'received'].find((k) => args[k] !== undefined && args[k] !== false);
    if (only) throw new UsageError(`--${only} goes with --action status`);
  }
  let bwlimit: number | undefined;
  if (args.bwlimit !== undefined) {
    const rate = parseRate(String(lastValue(args.bwlimit)));
    if ('problem' in rate) throw new UsageError(`--bwlimit ${rate.problem}`);
    bwlimit = rate.bytesPerSecond;
  }
  const restore = restoreOptions(chosen as Action[], args.snapshot === undefined ? undefined : lastValue(args.snapshot), sshDestinations, receiveDatasets);
  return {
    actions: status ? [] : restore.actions ?? ACTIONS.filter((a) => chosen.includes(a)),
    snapshot: restore.snapshot,
    dataset,
    dryRun: Boolean(args.dryRun),
    retention: retention(lastGroup(args.retentionPolicy)),
    forceDestroyLots: Boolean(args.forceDestroyLots),
    destinations: pairDestinations(sshDestinations, receiveDatasets),
    sshConfig,
    useSudo: Boolean(args.useSudo),
    forceNonIncremental: Boolean(args.forceNonIncremental),
    hostname,
    verbose: Boolean(args.verbose),
    debug: Boolean(args.debug),
    ...(status ? { status } : {}),
    ...(metricsFile === undefined ? {} : { metricsFile }),
    ...(bwlimit === undefined ? {} : { bwlimit }),
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
