// The restore action: pulls the tree back from the offsite copy into a dataset that does not exist yet, gives it its original properties, checks it by GUID and pins the base.
import type { ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { datasetNameProblem, joinDataset } from '../core/names';
import { shellCommand } from '../core/quote';
import { receiveProblems } from '../core/receive-check';
import { chooseSnapshot, newerThan, planRestoreForward, restoreSendFlags, restoringName, snapshotCount, strangerSnapshots, treeAt, type ForwardStep } from '../core/restore-plan';
import { parseEncrypted, parseOriginalValues } from '../core/restore-properties';
import { parseTree, partialReceives, type DatasetTree } from '../core/tree';
import { destroyDatasetArgs, listTreeArgs, receiverResumable, restoreReceiveArgs, resumeReceiveArgs } from '../core/zfs-argv';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import { acquireLock } from '../io/lock';
import { mountedPaths } from '../io/mounts';
import { holdTag, moveHold } from './base-hold';
import type { Deps } from './deps';
import type { PushOptions, RunOptions } from './options';
import { connectAndProbe, type PushDeps } from './push';
import { mib } from './push-transfer';
import { remoteFailure, type Receiver } from './receiver';
import { mountRestored, renameAndCheck, restoreProperties } from './restore-finish';
import { pull } from './restore-pull';

export interface RestoreDeps extends Deps, PushDeps {
  lockDir: string;
  /** The mount points in use on this host now (default: /proc/self/mounts). */
  mounted?: () => ReadonlySet<string>;
}

/** What one restore did: for the log and the tests. */
export interface RestoreOutcome {
  kind: 'restored' | 'dry-run';
  dataset: string;
  snapshot: string;
  datasets: number;
  snapshots: number;
  bytes: number;
  seconds: number;
  /** A cut restore was continued (resumed or brought forward) rather than started. */
  continued: boolean;
}

/** --action restore: one offsite copy, under the run lock of --dataset (a backup run of it waits, exit 75). */
export async function runRestore(deps: RestoreDeps, options: RunOptions): Promise<RestoreOutcome> {
  const [destination, ...others] = options.destinations;
  if (!destination || others.length > 0) throw new BackupError(ExitCode.usage, '--action restore restores from one offsite copy: give one --ssh-destination and one --zfs-receive-dataset');
  const lock = acquireLock(deps.lockDir, options.dataset);
  try {
    return await restoreTree(deps, { ...options, ...destination });
  } finally {
    lock.release();
  }
}

function sshLine(options: PushOptions, args: string[]): string {
  return shellCommand(['ssh', ...(options.sshConfig === undefined ? [] : ['-F', options.sshConfig]), options.sshDestination, ...args]);
}

/** The local tree with partial-receive tokens where this zfs keeps them. */
async function listLocal(deps: Deps, caps: ZfsCapabilities, dataset: string): Promise<DatasetTree> {
  const result = await deps.zfs.run(listTreeArgs(dataset, receiverResumable(caps)), `listing ${dataset}`);
  return parseTree(dataset, result.stdout);
}

/**
 * Checks on this host, before connecting, in one zfs command: the target is free, its parent is
 * there, the temporary name is valid; and whether a cut restore left the temporary tree.
 */
async function checkTarget(deps: Deps, target: string, temp: string): Promise<{ parent: string; cutBefore: boolean }> {
  const slash = target.lastIndexOf('/');
  const parent = slash < 0 ? undefined : target.slice(0, slash);
  const problem = datasetNameProblem(temp);
  if (problem) throw new BackupError(ExitCode.usage, `--dataset ${target} cannot be restored: its temporary name ${temp} is not valid (${problem}); choose a shorter name`);
  const names = [target, ...(parent === undefined ? [] : [parent]), temp];
  const listed = await deps.zfs.tryRun(['list', '-H', '-o', 'name', ...names]);
  const missing = listed.stderr.split('\n').filter((l) => l.trim() !== '');
  if (missing.some((l) => !/dataset does not exist/i.test(l))) {
    const failure = classifyZfsError(listed.stderr, 'local');
    throw new BackupError(failure.exitCode, `checking ${names.join(', ')} failed: ${firstErrorLine(listed.stderr)}; ${failure.hint}`);
  }
  const present = new Set(listed.stdout.split('\n').map((l) => l.trim()));
  if (present.has(target)) {
    throw new BackupError(
      ExitCode.dataRefused,
      `${target} already exists on this host, so nothing was restored; restore beside it with --dataset ${parent ?? target}/restored (any name that does not exist yet), or rename or destroy ${target} first if the restore is to replace it`,
    );
  }
  if (parent === undefined) throw new BackupError(ExitCode.noInput, `pool ${target} does not exist on this host; create the pool first (zpool create), and restore into a dataset below it (e.g. --dataset ${target}/${target})`);
  if (!present.has(parent)) throw new BackupError(ExitCode.noInput, `the parent ${parent} of --dataset ${target} does not exist on this host; create it (zpool create, or zfs create -p ${parent}) and run again`);
  return { parent, cutBefore: present.has(temp) };
}

export async function restoreTree(deps: RestoreDeps, options: PushOptions): Promise<RestoreOutcome> {
  const { zfs, log } = deps;
  const caps = await zfs.capabilities();
  const target = options.dataset;
  const temp = restoringName(target);
  const { parent, cutBefore } = await checkTarget(deps, target, temp);
  const rd = options.receiveDataset;
  const where = `${options.sshDestination}:${rd}`;
  const { session, receiver, tree } = await connectAndProbe(deps, options);
  try {
    if (!tree) {
      const up = rd.includes('/') ? rd.slice(0, rd.lastIndexOf('/')) : rd;
      throw new BackupError(ExitCode.noInput, `the offsite copy ${where} does not exist, so there is nothing to restore; check --zfs-receive-dataset and --ssh-destination (what is there: ${sshLine(options, ['zfs', 'list', '-r', '-d', '1', up])})`);
    }
    const choice = chooseSnapshot(tree, options.snapshot);
    if (!choice.ok) {
      if (choice.reason === 'no-snapshots') throw new BackupError(ExitCode.noInput, `the offsite copy ${where} holds no snapshot, so there is nothing to restore`);
      throw new BackupError(
        ExitCode.dataRefused,
        `${where} has no snapshot @${options.snapshot}, so nothing was restored; its newest are ${choice.newest.map((n) => '@' + n).join(', ')}: give one of them to --snapshot, or leave --snapshot out for the newest`,
      );
    }
    const snap = choice.snapshot.name;
    if (choice.passedOver.length > 0) {
      log.warn(`${where}@${choice.passedOver[0]} is not on every dataset there (a push cut mid-way?): restoring @${snap}, the newest snapshot the whole tree holds; name another with --snapshot`);
    }
    if (choice.lacking.length > 0) {
      log.warn(`${choice.lacking.map((r) => joinDataset(rd, r)).join(', ')} on ${options.sshDestination} lack @${snap}, so the restore leaves them out; restore them from another snapshot, or by hand`);
    }
    const wanted = treeAt(tree, snap);
    const behind = warnNewer(deps, tree, snap, where, target);

    const info = await receiver.restoreInfo();
    if (info.received.code !== 0) throw remoteFailure(`reading the properties of ${rd}`, info.received.stderr, info.received.code);
    const originals = parseOriginalValues(rd, info.received.stdout);
    const encrypted = info.encryption?.code === 0 ? parseEncrypted(rd, info.encryption.stdout).filter((r) => wanted.datasets.has(r)) : [];
    if (encrypted.length > 0 && caps.flavour !== 'openzfs') {
      throw new BackupError(ExitCode.unavailable, `${where} holds encrypted datasets (${encrypted.map((r) => joinDataset(rd, r)).join(', ')}), and zfs on this host has no encryption; restore on a host with OpenZFS`);
    }
    const flags = restoreSendFlags(receiver.caps, caps, encrypted.length > 0);
    const canContinue = receiverResumable(caps) && receiver.caps.sendFlags.has('t');
    const summary = `${wanted.datasets.size} dataset(s), ${snapshotCount(wanted)} snapshot(s)`;

    if (options.dryRun) {
      const size = await receiver.sendSize(rd, snap, flags);
      const about = size ? `, about ${mib(size.bytes)} MiB${size.exact ? '' : ' (the space it uses there: that zfs cannot estimate a send)'}` : '';
      if (cutBefore) log.info(`dry run: ${temp} holds a restore that was cut; it would be ${canContinue ? 'continued' : 'destroyed and started again'}`);
      log.info(`dry run: would restore ${where}@${snap} (${summary}) into ${target}${about}: zfs send -R${flags.map((f) => ' -' + f).join('')} ${rd}@${snap} there, into zfs ${restoreReceiveArgs(temp, caps, true).join(' ')} here, then zfs rename ${temp} ${target}`);
      return { kind: 'dry-run', dataset: target, snapshot: snap, datasets: wanted.datasets.size, snapshots: snapshotCount(wanted), bytes: size?.bytes ?? 0, seconds: 0, continued: false };
    }

    const again = canContinue ? 'run the restore again: it goes on from where it stopped' : 'run the restore again: it starts again';
    const moved = { bytes: 0, seconds: 0 };
    const count = (r: { bytes: number; seconds: number }) => {
      moved.bytes += r.bytes;
      moved.seconds += r.seconds;
    };
    let continued = false;
    if (cutBefore) {
      const partial = await listLocal(deps, caps, temp);
      const strangers = strangerSnapshots(tree, partial);
      if (strangers.length > 0) {
        throw new BackupError(ExitCode.dataRefused, `${temp} exists but is not a restore of ${where} (${strangers[0]} is not there), so it is left alone and nothing was restored; rename or destroy it, then run again`);
      }
      const why = canContinue ? await continueRestore(deps, receiver, { temp, rd, where, snap, flags, caps, again, wanted, count }) : 'this zfs cannot resume a receive';
      if (why === undefined) continued = true;
      else {
        log.warn(`${temp} holds a restore that was cut and is not continued (${why}): destroying it and starting again`);
        await zfs.run(destroyDatasetArgs(temp), `destroying ${temp} (a restore that was cut)`);
      }
    }
    if (!continued) {
      log.info(`restoring ${where}@${snap} (${summary}) into ${target}, received as ${temp} until it is whole`);
      const channel = await receiver.openSend(rd, snap, flags);
      count(await pull(deps, channel, restoreReceiveArgs(temp, caps, true), `${rd}@${snap}`, where, again));
    }

    const restored = await listLocal(deps, caps, temp);
    const problems = receiveProblems(wanted, restored, undefined, snap);
    if (problems.length > 0) {
      throw new BackupError(
        ExitCode.internal,
        `zfs send and receive both reported success, but ${temp} does not match ${where}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; it stays under ${temp}, not ${target}; ${again}`,
        problems.slice(1, 20),
      );
    }
    log.debug(`checked ${temp}: every snapshot of ${where} up to @${snap} is here with its GUID`);

    const openzfs = caps.flavour === 'openzfs';
    const plan = await restoreProperties(deps, { temp, target, parent }, originals, openzfs, (deps.mounted ?? mountedPaths)());
    const propertyProblems = await renameAndCheck(deps, { temp, target }, plan, openzfs);
    const after = await zfs.tree(target);
    if (after) await moveHold(deps, holdTag(options), target, snap, after, 'the restore succeeded');
    const locked = await mountRestored(deps, target, plan);
    if (encrypted.length > 0) {
      log.warn(
        `${encrypted.map((r) => joinDataset(target, r)).join(', ')} came back encrypted and raw, as the offsite copy holds them: their key is not loaded${locked.length > 0 ? `, so ${locked.length} did not mount` : ''}; put the key back where its keylocation says (zfs get keylocation), then "zfs load-key -r ${target}" (or "zfs load-key -L file:///PATH/TO/KEY DATASET") and "zfs mount -a"`,
      );
    }
    log.info(
      `restored ${where}@${snap} into ${target}: ${summary}, ${moved.bytes} bytes in ${moved.seconds.toFixed(1)} s; every snapshot checked by GUID; the base hold is on ${target}@${snap}${behind ? `; the next push to ${options.sshDestination} refuses until the newer snapshots there are set aside or discarded (see above)` : `, so the next push to ${options.sshDestination} is incremental from there`}`,
    );
    if (propertyProblems.length > 0) {
      throw new BackupError(
        ExitCode.internal,
        `restored ${target} (data checked, base held), but its properties differ from the original's: ${propertyProblems[0]}${propertyProblems.length > 1 ? ` (and ${propertyProblems.length - 1} more)` : ''}; set them with zfs set, and please report this`,
        propertyProblems.slice(1, 20),
      );
    }
    return { kind: 'restored', dataset: target, snapshot: snap, datasets: wanted.datasets.size, snapshots: snapshotCount(wanted), bytes: moved.bytes, seconds: moved.seconds, continued };
  } finally {
    session.close();
  }
}

/** Says up front what a restore of an older snapshot means for the next push. */
function warnNewer(deps: Deps, tree: DatasetTree, snap: string, where: string, target: string): boolean {
  const newer = newerThan(tree, snap);
  if (newer.length === 0) return false;
  const names = [...new Set(newer.flatMap((n) => n.snapshots))].reverse();
  deps.log.warn(
    `${where} holds ${names.length} snapshot(s) newer than @${snap} (${names.slice(0, 5).map((n) => '@' + n).join(', ')}${names.length > 5 ? ', …' : ''}) that ${target} will not have: the next push from this host refuses (exit 65) and sends nothing until they are set aside there (zfs rename) or discarded (zfs rollback -r); it prints the commands for both`,
  );
  return true;
}

interface Continuation {
  temp: string;
  rd: string;
  where: string;
  snap: string;
  flags: string[];
  caps: ZfsCapabilities;
  again: string;
  wanted: DatasetTree;
  count: (r: { bytes: number; seconds: number }) => void;
}

/**
 * A cut restore goes on: each partial receive is resumed (`zfs send -t` there, `receive -s` here),
 * then each dataset is brought to the snapshot on its own and a missing one comes whole. Returns
 * undefined when it is whole, or why it must start again.
 */
async function continueRestore(deps: RestoreDeps, receiver: Receiver, c: Continuation): Promise<string | undefined> {
  let partial = await listLocal(deps, c.caps, c.temp);
  const tokens = partialReceives(partial);
  for (const ds of tokens) {
    const name = joinDataset(c.temp, ds.relative);
    deps.log.warn(`resuming the cut restore of ${name}`);
    try {
      c.count(await pull(deps, await receiver.openResumeSend(ds.resumeToken), resumeReceiveArgs(name), `${name} (resumed)`, c.where, c.again));
    } catch (error) {
      // A link down, a full pool, a refusal or a busy tree would stop a fresh start too: say so now.
      const stops: number[] = [ExitCode.unavailable, ExitCode.cannotCreate, ExitCode.notPermitted, ExitCode.temporary];
      if (!(error instanceof BackupError) || stops.includes(error.exitCode)) throw error;
      return `resuming ${name} failed: ${error.message}`;
    }
  }
  if (tokens.length > 0) partial = await listLocal(deps, c.caps, c.temp);
  const plan = planRestoreForward(c.wanted, partial, c.snap);
  if (plan.kind === 'restart') return plan.reason;
  if (plan.kind === 'steps') for (const step of plan.steps) await forward(deps, receiver, c, step);
  return undefined;
}

async function forward(deps: RestoreDeps, receiver: Receiver, c: Continuation, step: ForwardStep): Promise<void> {
  const here = joinDataset(c.temp, step.relative);
  const there = joinDataset(c.rd, step.relative);
  const what = step.kind === 'incremental' ? `${there}@${step.to} (from @${step.from})` : `${there}@${step.to} (whole, with what is below it)`;
  deps.log.warn(step.kind === 'incremental' ? `bringing ${here} forward from @${step.from} to @${step.to}` : `receiving ${here} whole up to @${step.to}, with what is below it`);
  const channel = await receiver.openSend(there, step.to, c.flags, step.kind === 'incremental' ? step.from : undefined);
  c.count(await pull(deps, channel, restoreReceiveArgs(here, c.caps, step.kind === 'whole'), what, c.where, c.again));
}
