// The push action: resolve and connect, probe the receiver, plan, repair a cut push, send, move the base hold.
import { parseCapabilities, type ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { joinDataset } from '../core/names';
import { refusalError, type PushContext } from '../core/push-messages';
import { listReceivedArgs, parseReceivedFilesystems, receivedPropertyFixes } from '../core/received-properties';
import { receiveProblems } from '../core/receive-check';
import { remoteZfsBatch, remoteZfsCommand, remoteZfsSequence, splitBatch, type BatchPart } from '../core/remote-command';
import { planReplication, type CatchUpStep, type RepairStep } from '../core/replication-plan';
import { parseTree, type DatasetTree } from '../core/tree';
import {
  abortReceiveArgs,
  catchUpReceiveArgs,
  catchUpSendArgs,
  destroyDatasetArgs,
  holdArgs,
  listResumeTokensArgs,
  listTreeArgs,
  receiveArgs,
  receiverResumable,
  releaseArgs,
  resumeReceiveArgs,
  resumeSendArgs,
  rollbackArgs,
  sendArgs,
  streamFlags,
} from '../core/zfs-argv';
import { classifyZfsError, firstErrorLine } from '../core/zfs-errors';
import type { CommandRunner } from '../io/command';
import { resolveDestination, type ResolvedDestination } from '../io/ssh-destination';
import type { SshSession } from '../io/ssh-session';
import { sendIntoChannel, type TransferResult } from '../io/transfer';
import type { Deps } from './deps';
import type { RunOptions } from './options';

export interface PushDeps {
  runner: CommandRunner;
  connect: (destination: ResolvedDestination) => Promise<SshSession>;
  zfsProgram: string;
  /** Where a progress line goes (a TTY), if anywhere. */
  progress?: NodeJS.WriteStream;
}

/** The hold tag that pins the replication base; it names the destination. */
export function holdTag(options: Pick<RunOptions, 'sshDestination' | 'receiveDataset'>): string {
  return `cyber-zfs-backup:${options.sshDestination}:${options.receiveDataset}`;
}

export function receivedMountpoint(hostname: string): string {
  return `/srv/backup/${hostname}`;
}

async function remoteZfs(session: SshSession, args: string[], useSudo: boolean) {
  return session.exec(remoteZfsCommand(args, useSudo));
}

/** Every remote command line is shown with --debug, exactly as the remote shell gets it. */
function traced(log: Deps['log'], session: SshSession): SshSession {
  return {
    exec: (command) => {
      log.debug({ remote: command }, 'running on the receiving host');
      return session.exec(command);
    },
    openChannel: (command) => {
      log.debug({ remote: command }, 'streaming into the receiving host');
      return session.openChannel(command);
    },
    close: () => session.close(),
  };
}

function remoteFailure(what: string, stderr: string, code: number | null): BackupError {
  if (code === null) {
    return new BackupError(ExitCode.unavailable, `${what} on the receiving host did not finish: the connection was lost; check the link to the offsite host and run again`);
  }
  const failure = classifyZfsError(stderr, 'remote');
  return new BackupError(failure.exitCode, `${what} failed on the receiving host (exit ${code ?? 'none'}): ${firstErrorLine(stderr)}; ${failure.hint}`);
}

/** The tree listing of one batch part: undefined when the receive dataset does not exist. */
function treeFromPart(receiveDataset: string, part: BatchPart, tokens?: BatchPart): DatasetTree | undefined {
  if (part.code === 0) return parseTree(receiveDataset, part.stdout + (tokens?.code === 0 ? tokens.stdout : ''));
  if (/dataset does not exist/i.test(part.stderr)) return undefined;
  throw remoteFailure(`listing ${receiveDataset}`, part.stderr, part.code);
}

/**
 * The probe, in one remote exec: the receiver's zfs usage text (what it supports), its tree with
 * GUIDs, and (where the receiver has them) partial-receive tokens, which fail harmlessly elsewhere.
 */
async function probeReceiver(session: SshSession, receiveDataset: string, useSudo: boolean): Promise<{ caps: ZfsCapabilities; tree: DatasetTree | undefined }> {
  const commands = [[], listTreeArgs(receiveDataset), listResumeTokensArgs(receiveDataset)];
  const result = await session.exec(remoteZfsBatch(commands, useSudo));
  const [usage, tree, tokens] = splitBatch(commands.length, result.stdout, result.stderr) as [BatchPart, BatchPart, BatchPart];
  const text = usage.stderr + usage.stdout;
  if (usage.code === null) throw remoteFailure(`listing ${receiveDataset}`, result.stderr, null);
  if (!/usage:/i.test(text)) throw remoteFailure('running zfs', text, usage.code);
  const caps = parseCapabilities(text);
  return { caps, tree: treeFromPart(receiveDataset, tree, receiverResumable(caps) ? tokens : undefined) };
}

async function probeTree(session: SshSession, receiveDataset: string, useSudo: boolean, receiver: ZfsCapabilities): Promise<DatasetTree | undefined> {
  const result = await remoteZfs(session, listTreeArgs(receiveDataset, receiverResumable(receiver)), useSudo);
  return treeFromPart(receiveDataset, result);
}

function describeRepair(step: RepairStep, receiveDataset: string): string {
  const ds = joinDataset(receiveDataset, step.relative);
  return step.kind === 'rollback'
    ? `rolling ${ds} back to @${step.to}, discarding ${step.discards.map((s) => '@' + s).join(', ')} (a cut push left them; they are sent again)`
    : `destroying ${ds} (${step.snapshots.length} snapshot(s)), created after the base and received only in part; it is sent again whole`;
}

function repairArgs(step: RepairStep, receiveDataset: string): string[] {
  const ds = joinDataset(receiveDataset, step.relative);
  return step.kind === 'rollback' ? rollbackArgs(ds, step.to) : destroyDatasetArgs(ds);
}

/** Pins `snapshot` (recursively) for this destination and releases our tag from every other snapshot. */
async function moveHold(deps: Deps, tag: string, dataset: string, snapshot: string, tree: DatasetTree): Promise<void> {
  const hold = await deps.zfs.tryRun(holdArgs(tag, dataset, snapshot));
  if (hold.exitCode !== 0 && !/tag already exists/i.test(hold.stderr)) {
    throw new BackupError(classifyZfsError(hold.stderr, 'local').exitCode, `the push succeeded, but holding ${dataset}@${snapshot} failed: ${firstErrorLine(hold.stderr)}; expire could destroy the base: run the push again`);
  }
  const candidates = new Set<string>();
  for (const ds of tree.datasets.values()) for (const s of ds.snapshots) if (s.userrefs > 0 && s.name !== snapshot) candidates.add(s.name);
  for (const name of candidates) {
    const release = await deps.zfs.tryRun(releaseArgs(tag, dataset, name));
    if (release.exitCode === 0) deps.log.info(`released the old base hold on ${dataset}@${name}`);
    else if (!/no such tag/i.test(release.stderr)) deps.log.warn(`could not release ${tag} from ${dataset}@${name}: ${firstErrorLine(release.stderr)}`);
  }
}

function describeCatchUp(step: CatchUpStep, options: RunOptions): string {
  const ds = joinDataset(options.receiveDataset, step.relative);
  return step.kind === 'catch-up'
    ? `${ds} forward from @${step.from} to @${step.to} on its own (a cut or resumed push left it behind the rest of the tree)`
    : `${ds} over whole up to @${step.to} with what is below it (it is missing on the receiver)`;
}

/** One zfs send piped into one remote zfs receive, with progress on a TTY; throws on any failure. */
async function transfer(deps: Deps & PushDeps, session: SshSession, options: RunOptions, args: string[], receive: string[], what: string, where: string): Promise<void> {
  const channel = await session.openChannel(remoteZfsCommand(receive, options.useSudo));
  deps.log.debug({ argv: [deps.zfsProgram, ...args] }, 'running zfs');
  const progress = deps.progress;
  const result = await sendIntoChannel(channel, {
    zfsProgram: deps.zfsProgram,
    sendArgs: args,
    ...(progress ? { onProgress: (bytes: number, seconds: number) => progress.write(`\r${what}: ${mib(bytes)} MiB, ${mib(bytes / Math.max(seconds, 0.001))} MiB/s   `) } : {}),
  });
  if (progress) progress.write('\n');
  reportTransfer(result, what, where);
  deps.log.info(`pushed ${what} to ${where}: ${result.bytes} bytes in ${result.seconds.toFixed(1)} s, ${mib(result.bytes / Math.max(result.seconds, 0.001))} MiB/s`);
}

function mib(bytes: number): string {
  const value = bytes / 1048576;
  return value >= 10 ? value.toFixed(0) : value >= 0.1 ? value.toFixed(1) : value.toFixed(3);
}

async function estimateSize(deps: Deps & PushDeps, caps: ZfsCapabilities, args: string[]): Promise<number | undefined> {
  if (!caps.sendFlags.has('n') || !caps.sendFlags.has('P')) return undefined;
  const [, ...rest] = args;
  const result = await deps.zfs.tryRun(['send', '-n', '-P', ...rest]);
  const m = /^size\s+(\d+)/m.exec(result.stdout + '\n' + result.stderr);
  return m ? Number(m[1]) : undefined;
}

function reportTransfer(result: TransferResult, what: string, where: string): void {
  if (result.sendExitCode === 0 && result.receiveExitCode === 0) return;
  const prefix = `push of ${what} to ${where} failed after ${mib(result.bytes)} MiB`;
  if (result.receiveExitCode === null && result.receiveSignal) {
    throw new BackupError(ExitCode.temporary, `${prefix}: zfs receive on the receiving host was killed (${result.receiveSignal}); the next run repairs the receiver and resumes from the last common snapshot`);
  }
  if (result.receiveExitCode === null) {
    throw new BackupError(
      ExitCode.unavailable,
      `${prefix}: the connection closed without an exit status${result.receiveSignal ? ` (signal ${result.receiveSignal})` : ''}, so zfs send was stopped; check the link to the offsite host; the next run repairs the receiver and resumes from the last common snapshot`,
    );
  }
  const send = result.sendStoppedByUs ? 'zfs send was stopped when the receiver ended' : result.sendSignal ? `zfs send was stopped (${result.sendSignal})` : `zfs send exited ${result.sendExitCode}${result.sendStderr.trim() ? ': ' + firstErrorLine(result.sendStderr) : ''}`;
  const recv = `zfs receive exited ${result.receiveExitCode}${result.receiveStderr.trim() ? ': ' + firstErrorLine(result.receiveStderr) : ''}`;
  if (result.sendSignal && !result.sendStoppedByUs) {
    throw new BackupError(ExitCode.temporary, `${prefix}: ${send}, so the receiver got a cut stream (${recv}); the next run resumes from the last common snapshot`);
  }
  const failure = result.receiveExitCode !== 0 ? classifyZfsError(result.receiveStderr, 'remote') : classifyZfsError(result.sendStderr, 'local');
  throw new BackupError(failure.exitCode, `${prefix}: ${recv}; ${send}; ${failure.hint}; the next run resumes from the last common snapshot`);
}

/** Resolves the destination, connects and probes; the session is closed again if the probe fails. */
async function connectAndProbe(deps: Deps & PushDeps, options: RunOptions): Promise<{ session: SshSession; caps: ZfsCapabilities; tree: DatasetTree | undefined }> {
  const destination = await resolveDestination(deps.runner, options.sshDestination, options.sshConfig, [], (m) => deps.log.warn(m));
  const session = traced(deps.log, await deps.connect(destination));
  try {
    return { session, ...(await probeReceiver(session, options.receiveDataset, options.useSudo)) };
  } catch (error) {
    session.close();
    throw error;
  }
}

export async function pushTree(deps: Deps & PushDeps, options: RunOptions): Promise<void> {
  const { zfs, log } = deps;
  const ctx: PushContext = { dataset: options.dataset, receiveDataset: options.receiveDataset, destination: options.sshDestination, sshConfig: options.sshConfig };
  const where = `${options.sshDestination}:${options.receiveDataset}`;
  const caps = await zfs.capabilities();
  // The local listing and the connection with its probe overlap: on a large tree each takes seconds.
  const [listed, connected] = await Promise.allSettled([zfs.tree(options.dataset), connectAndProbe(deps, options)]);
  if (listed.status === 'rejected' || !listed.value) {
    if (connected.status === 'fulfilled') connected.value.session.close();
    if (listed.status === 'rejected') throw listed.reason;
    throw new BackupError(ExitCode.noInput, `dataset ${options.dataset} does not exist on this host; check --dataset against "zfs list"`);
  }
  if (connected.status === 'rejected') throw connected.reason;
  const local = listed.value;
  const { session } = connected.value;
  try {
    const remoteCaps = connected.value.caps;
    let remote = connected.value.tree;
    if (remote && (await settlePartialReceives(deps, session, options, caps, remoteCaps, remote))) {
      remote = await probeTree(session, options.receiveDataset, options.useSudo, remoteCaps);
    }
    if (!remote) await requireParent(session, options, where);
    const plan = planReplication(local, remote, options.forceNonIncremental);
    log.debug({ plan }, 'replication plan');
    if (plan.kind === 'refused') throw refusalError(plan.refusal, ctx);
    const tag = holdTag(options);
    const repairs = plan.kind === 'full' ? [] : plan.repairs;
    const catchUps = plan.kind === 'full' ? [] : plan.catchUps;
    for (const step of repairs) log.warn(`${options.dryRun ? 'dry run: would repair' : 'repairing'} ${where}: ${describeRepair(step, options.receiveDataset)}`);
    const flags = plan.kind === 'up-to-date' && catchUps.length === 0 ? [] : streamFlags(caps, remoteCaps, await isEncrypted(deps, caps, options.dataset));
    const base = plan.kind === 'full' ? undefined : plan.base;
    const target = plan.kind === 'up-to-date' ? plan.base : plan.target;
    const args = plan.kind === 'up-to-date' ? undefined : sendArgs(options.dataset, base, target, flags);
    const what = `${options.dataset}@${target}${base ? ` (incremental from @${base})` : ' (full)'}`;

    if (options.dryRun) {
      for (const step of catchUps) log.info(`dry run: would bring ${describeCatchUp(step, options)}: zfs ${catchUpSendArgs(joinDataset(options.dataset, step.relative), step, flags).join(' ')}`);
      if (!args) return void log.info(`dry run: ${where} is up to date at @${target}${catchUps.length > 0 ? ' once those datasets catch up' : ''}`);
      const size = await estimateSize(deps, caps, args);
      return void log.info(`dry run: would send ${what} to ${where}${size === undefined ? '' : `, about ${mib(size)} MiB`}: zfs ${args.join(' ')}`);
    }
    if (repairs.length > 0) await runRemote(session, repairs.map((s) => repairArgs(s, options.receiveDataset)), options.useSudo, 'repairing the receiver');
    const mountpoint = receivedMountpoint(options.hostname);
    try {
      for (const step of catchUps) {
        const dataset = joinDataset(options.dataset, step.relative);
        const stepWhat = `${dataset}@${step.to} (${step.kind === 'catch-up' ? `catch-up from @${step.from}` : 'whole, missing on the receiver'})`;
        log.warn(`bringing ${describeCatchUp(step, options)}`);
        const receiveInto = joinDataset(options.receiveDataset, step.relative);
        await transfer(deps, session, options, catchUpSendArgs(dataset, step, flags), catchUpReceiveArgs(receiveInto, remoteCaps), stepWhat, where);
      }
      if (args) await transfer(deps, session, options, args, receiveArgs(options.receiveDataset, remoteCaps, mountpoint), what, where);
    } catch (error) {
      // What did arrive must not mount over the offsite host's own filesystems at its next boot.
      if (error instanceof BackupError && error.exitCode !== ExitCode.unavailable) await secureReceivedTree(deps, session, options, mountpoint, undefined).catch(() => undefined);
      throw error;
    }
    if (args || catchUps.length > 0) {
      // One exec lists the received filesystems' mount properties and the tree with its GUIDs.
      const commands = [listReceivedArgs(options.receiveDataset), listTreeArgs(options.receiveDataset, receiverResumable(remoteCaps))];
      const listed = await session.exec(remoteZfsBatch(commands, options.useSudo));
      const [props, tree] = splitBatch(commands.length, listed.stdout, listed.stderr) as [BatchPart, BatchPart];
      await secureReceivedTree(deps, session, options, mountpoint, props);
      const startedAt = new Map(catchUps.map((c): [string, string | undefined] => [c.relative, c.kind === 'catch-up' ? c.from : undefined]));
      checkReceived(deps, options, local, treeFromPart(options.receiveDataset, tree), args ? base : target, target, where, startedAt);
    }
    await moveHold(deps, tag, options.dataset, target, local);
    if (!args) log.info(`${where} is up to date at @${target}`);
  } finally {
    session.close();
  }
}

/**
 * A `send -R` stream brings each dataset's own canmount, readonly and mountpoint; set what would let
 * the received tree mount by itself, be written, or mount outside the backup mount point.
 */
/** Fix commands per remote exec: the command line stays far below what sshd accepts. */
const FIXES_PER_EXEC = 200;

async function secureReceivedTree(deps: Deps, session: SshSession, options: RunOptions, mountpoint: string, listed: BatchPart | undefined): Promise<void> {
  const dataset = options.receiveDataset;
  const list = async (): Promise<BatchPart> => remoteZfs(session, listReceivedArgs(dataset), options.useSudo);
  const fixesFrom = (part: BatchPart): string[][] => {
    if (part.code !== 0) throw remoteFailure(`listing the properties of ${dataset}`, part.stderr, part.code);
    return receivedPropertyFixes(dataset, mountpoint, parseReceivedFilesystems(dataset, part.stdout));
  };
  let fixes = fixesFrom(listed ?? (await list()));
  const say = (fix: string[]) => deps.log.info(`on ${options.sshDestination}: zfs ${fix.join(' ')} (the received tree never mounts by itself, is read-only, and mounts only below ${mountpoint})`);
  const rootFixes = fixes.filter((f) => f[f.length - 1] === dataset);
  if (rootFixes.length > 0) {
    // What the children inherit from the receive dataset follows it: set it first, then look again.
    rootFixes.forEach(say);
    await runRemote(session, rootFixes, options.useSudo, `setting canmount/readonly/mountpoint on ${dataset}`);
    fixes = fixesFrom(await list()).filter((f) => f[f.length - 1] !== dataset);
  }
  fixes.forEach(say);
  for (let i = 0; i < fixes.length; i += FIXES_PER_EXEC) {
    await runRemote(session, fixes.slice(i, i + FIXES_PER_EXEC), options.useSudo, 'setting canmount/readonly/mountpoint on the received tree');
  }
}

/**
 * Both exit statuses 0 is not proof: list the receiver again and compare every snapshot the stream
 * carried, by name and GUID. On a mismatch the base hold stays where it was.
 */
function checkReceived(
  deps: Deps,
  options: RunOptions,
  local: DatasetTree,
  after: DatasetTree | undefined,
  base: string | undefined,
  target: string,
  where: string,
  startedAt: ReadonlyMap<string, string | undefined>,
): void {
  const problems = after ? receiveProblems(local, after, base, target, startedAt) : [`${options.receiveDataset} does not exist`];
  if (problems.length === 0) {
    deps.log.debug(`checked ${where}: every snapshot up to @${target} is there with the sender's GUID`);
    return;
  }
  const kept = base === undefined ? 'no base hold was placed' : `the base hold stays on ${options.dataset}@${base}`;
  throw new BackupError(
    ExitCode.internal,
    `zfs send and receive both reported success, but ${where} does not match the sender: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; ${kept}; compare "zfs list -t snapshot -o name,guid -r" on both hosts before the next run`,
    problems.slice(1, 20),
  );
}

/**
 * An interrupted `receive -s` leaves partial state that blocks every other receive into that
 * dataset: resume it with `send -t` where the sender can, otherwise (or if that fails) abort it
 * with `receive -A`. Returns whether anything changed on the receiver.
 */
async function settlePartialReceives(
  deps: Deps & PushDeps,
  session: SshSession,
  options: RunOptions,
  sender: ZfsCapabilities,
  receiver: ZfsCapabilities,
  remote: DatasetTree,
): Promise<boolean> {
  const partial = [...remote.datasets.values()].filter((d) => d.resumeToken !== undefined);
  if (partial.length === 0) return false;
  for (const ds of partial) {
    const name = joinDataset(options.receiveDataset, ds.relative);
    const canResume = sender.sendFlags.has('t');
    if (options.dryRun) {
      deps.log.info(`dry run: would ${canResume ? 'resume' : 'abort'} the interrupted receive of ${name}`);
      continue;
    }
    if (canResume) {
      deps.log.warn(`resuming the interrupted receive of ${name}`);
      const channel = await session.openChannel(remoteZfsCommand(resumeReceiveArgs(name), options.useSudo));
      const result = await sendIntoChannel(channel, { zfsProgram: deps.zfsProgram, sendArgs: resumeSendArgs(ds.resumeToken as string) });
      if (result.sendExitCode === 0 && result.receiveExitCode === 0) {
        deps.log.info(`resumed ${name}: ${result.bytes} bytes in ${result.seconds.toFixed(1)} s`);
        continue;
      }
      if (result.receiveExitCode === null) reportTransfer(result, `the resumed receive of ${name}`, options.sshDestination);
      const why = result.sendExitCode !== 0 && result.sendStderr.trim() ? result.sendStderr : result.receiveStderr;
      deps.log.warn(`resuming ${name} failed (${firstErrorLine(why)}); aborting the partial receive instead`);
    }
    if (!receiver.receiveFlags.has('A')) {
      throw new BackupError(ExitCode.dataRefused, `${name} on ${options.sshDestination} holds a partial receive that cannot be resumed or aborted here; run "zfs receive -A ${name}" there, then push again`);
    }
    await runRemote(session, [abortReceiveArgs(name)], options.useSudo, `aborting the partial receive of ${name}`);
    deps.log.warn(`aborted the partial receive of ${name}; the push sends it again from the last common snapshot`);
  }
  return !options.dryRun;
}

/**
 * Encrypted datasets go raw (-w), so the offsite host never holds their keys; zfs refuses a non-raw
 * -R stream of a tree with any encrypted dataset. Only OpenZFS has encryption.
 */
async function isEncrypted(deps: Deps, caps: ZfsCapabilities, dataset: string): Promise<boolean> {
  if (caps.flavour !== 'openzfs') return false;
  const result = await deps.zfs.run(['get', '-H', '-p', '-o', 'value', '-r', 'encryption', dataset], `reading the encryption of ${dataset}`);
  return result.stdout.split('\n').some((v) => v.trim() !== '' && v.trim() !== 'off' && v.trim() !== '-');
}

/** A first push needs the receive dataset's parent; say so before anything is sent. */
async function requireParent(session: SshSession, options: RunOptions, where: string): Promise<void> {
  const parent = options.receiveDataset.slice(0, options.receiveDataset.lastIndexOf('/'));
  if (parent === '') return;
  const result = await remoteZfs(session, ['list', '-H', '-o', 'name', parent], options.useSudo);
  if (result.code === 0) return;
  if (/dataset does not exist/i.test(result.stderr)) {
    throw new BackupError(ExitCode.noInput, `${where} cannot be received: its parent ${parent} does not exist on ${options.sshDestination}; create it there (zfs create -p ${parent}) or fix --zfs-receive-dataset`);
  }
  throw remoteFailure(`listing ${parent}`, result.stderr, result.code);
}

async function runRemote(session: SshSession, commands: string[][], useSudo: boolean, what: string): Promise<void> {
  const result = await session.exec(remoteZfsSequence(commands, useSudo));
  if (result.code !== 0) throw remoteFailure(what, result.stderr, result.code);
}
