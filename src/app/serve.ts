// The offsite host's side: one confined request from a sender's key (SSH_ORIGINAL_COMMAND), run with local zfs, refused whole when out of bounds.
import { parseCapabilities, type ZfsCapabilities } from '../core/capabilities';
import { BackupError, ExitCode } from '../core/exit-codes';
import { relativeDataset } from '../core/names';
import { listReceivedArgs } from '../core/received-properties';
import type { BatchPart } from '../core/remote-command';
import { authorizeRequest, confinementProblem, describeRequest, refusalLine, type ListingReply, type ServePolicy, type ServeRequest } from '../core/serve-protocol';
import { encryptionArgs, originalValuesArgs } from '../core/restore-properties';
import {
  abortReceiveArgs,
  canEstimateSend,
  destroyDatasetArgs,
  existsArgs,
  incrementalSendArgs,
  listTreeArgs,
  receiveModeArgs,
  receiverResumable,
  resumeSendArgs,
  rollbackArgs,
  sendSizeArgs,
  treeSendArgs,
  usedArgs,
} from '../core/zfs-argv';
import { firstErrorLine } from '../core/zfs-errors';
import type { CommandResult } from '../io/command';
import type { Lock } from '../io/lock';
import type { Syslog } from '../io/syslog';
import { makeInert } from './inert-tree';
import type { TreeHold } from './serve-lease';

export interface ServeDeps {
  /** Runs local zfs with its output captured. */
  zfs(args: readonly string[]): Promise<CommandResult>;
  /** Runs local zfs on serve's own stdin (a receive) or stdout (a send); its stderr goes to the sender. */
  zfsAttached(args: readonly string[], stdio: { stdin: 'inherit' | 'ignore'; stdout: 'inherit' | 'pipe'; onStart?: (pid: number) => void }): Promise<CommandResult>;
  /**
   * Takes the lock of a received tree (the offsite host's own expire takes the same one), or throws
   * exit 75; an earlier receive of serve's own whose client is gone is ended first (serve-lease.ts).
   * `receive` names the dataset a receive goes into: the hold then keeps a lease on it.
   */
  holdTree(dataset: string, receive: { dataset: string } | undefined, who: string): Promise<TreeHold>;
  syslog: Syslog;
  /** One line to the sender on stdout (a JSON reply). */
  reply(line: string): void;
  /** One line to the sender on stderr. */
  say(line: string): void;
  /** Who is asking, from SSH_CLIENT ("ADDRESS port PORT"). */
  client: string;
  version: string;
  now(): number;
}

/** Exit status of serve when it refuses a request: nothing ran. */
export const REFUSED = ExitCode.notPermitted;

function listing(result: CommandResult): ListingReply {
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

async function capabilities(deps: ServeDeps): Promise<{ caps: ZfsCapabilities; usage: string }> {
  const result = await deps.zfs([]);
  const usage = result.stderr + result.stdout;
  if (!/usage:/i.test(usage)) throw new BackupError(ExitCode.unavailable, `zfs does not work on the offsite host: ${firstErrorLine(usage)}`);
  return { caps: parseCapabilities(usage), usage };
}

/** The root of `policy` that holds `dataset` (it names the lock the offsite host's expire also takes). */
function rootOf(policy: ServePolicy, dataset: string): string {
  return policy.roots.find((r) => relativeDataset(r, dataset) !== undefined) ?? dataset;
}

function datasetsOf(request: ServeRequest): string[] {
  switch (request.verb) {
    case 'repair':
      return request.items.map((i) => i.dataset);
    case 'resume-send':
      return [];
    default:
      return [request.dataset];
  }
}

/**
 * Runs one request and returns serve's exit status: 0, zfs's own status when zfs failed (its
 * message reaches the sender on stderr), 75 when the tree is busy, 77 when refused.
 */
export async function serveRequest(deps: ServeDeps, policy: ServePolicy, command: string | undefined): Promise<number> {
  const who = `for ${deps.client} (root${policy.roots.length > 1 ? 's' : ''} ${policy.roots.join(', ')})`;
  const refuse = async (reason: string): Promise<number> => {
    deps.say(refusalLine(command, reason));
    await deps.syslog('warning', `refused ${describeRequest(command)} ${who}: ${reason}`);
    return REFUSED;
  };
  const auth = authorizeRequest(command, policy);
  if (!auth.ok) return refuse(auth.reason);
  const request = auth.request;
  let lock: Lock | undefined;
  try {
    const { caps, usage } = await capabilities(deps);
    switch (request.verb) {
      case 'probe': {
        const tree = await deps.zfs(listTreeArgs(request.dataset, receiverResumable(caps)));
        let parentExists: boolean | undefined;
        if (tree.exitCode !== 0 && /dataset does not exist/i.test(tree.stderr)) {
          const parent = request.dataset.slice(0, Math.max(0, request.dataset.lastIndexOf('/')));
          parentExists = parent !== '' && (await deps.zfs(existsArgs(parent))).exitCode === 0;
        }
        deps.reply(JSON.stringify({ serve: 1, version: deps.version, appendOnly: policy.appendOnly, usage, tree: listing(tree), ...(parentExists === undefined ? {} : { parentExists }) }));
        return 0;
      }
      case 'list': {
        const tree = await deps.zfs(listTreeArgs(request.dataset, receiverResumable(caps)));
        deps.reply(JSON.stringify({ serve: 1, tree: listing(tree) }));
        return 0;
      }
      case 'receive': {
        const hold = await deps.holdTree(rootOf(policy, request.tree), { dataset: request.dataset }, who);
        lock = hold.lock;
        try {
          return await receive(deps, policy, caps, request, who, hold);
        } finally {
          hold.end();
        }
      }
      case 'repair': {
        lock = (await deps.holdTree(rootOf(policy, request.items[0]?.dataset ?? ''), undefined, who)).lock;
        for (const item of request.items) {
          const args = item.kind === 'rollback' ? rollbackArgs(item.dataset, item.snapshot) : destroyDatasetArgs(item.dataset);
          const result = await deps.zfs(args);
          const what = `zfs ${args.join(' ')}`;
          if (result.exitCode !== 0) {
            deps.say(result.stderr.trimEnd());
            await deps.syslog('err', `${what} ${who} failed: ${firstErrorLine(result.stderr)}`);
            return result.exitCode;
          }
          await deps.syslog('notice', `${what} ${who} (a repair after a cut push)`);
        }
        return 0;
      }
      case 'abort': {
        lock = (await deps.holdTree(rootOf(policy, request.dataset), undefined, who)).lock;
        const result = await deps.zfs(abortReceiveArgs(request.dataset));
        await deps.syslog(result.exitCode === 0 ? 'notice' : 'err', `zfs receive -A ${request.dataset} ${who}: ${result.exitCode === 0 ? 'discarded the partial receive' : firstErrorLine(result.stderr)}`);
        if (result.exitCode !== 0) deps.say(result.stderr.trimEnd());
        return result.exitCode;
      }
      case 'send': {
        const missing = request.flags.find((f) => !caps.sendFlags.has(f));
        if (missing !== undefined) return refuse(`send: this offsite host's zfs has no send -${missing}`);
        const args = request.from === undefined ? treeSendArgs(request.dataset, request.snapshot, request.flags) : incrementalSendArgs(request.dataset, request.from, request.snapshot, request.flags);
        return await sendOut(deps, args, `zfs ${args.join(' ')} ${who}`);
      }
      case 'send-size': {
        const exact = canEstimateSend(caps) && request.flags.every((f) => caps.sendFlags.has(f));
        const size = await deps.zfs(exact ? sendSizeArgs(request.dataset, request.snapshot, request.flags) : usedArgs(request.dataset));
        deps.reply(JSON.stringify({ serve: 1, size: listing(size), exact }));
        return 0;
      }
      case 'restore-info': {
        const openzfs = caps.flavour === 'openzfs';
        const received = await deps.zfs(originalValuesArgs(request.dataset, openzfs));
        const encryption = openzfs ? listing(await deps.zfs(encryptionArgs(request.dataset))) : undefined;
        deps.reply(JSON.stringify({ serve: 1, received: listing(received), ...(encryption ? { encryption } : {}) }));
        return 0;
      }
      case 'resume-send': {
        if (!caps.sendFlags.has('t')) return refuse("resume-send: this offsite host's zfs cannot resume a send (no send -t)");
        const dry = await deps.zfs(['send', '-n', '-v', '-t', request.token]);
        const toname = /^\s*toname = (\S+)$/m.exec(dry.stdout + '\n' + dry.stderr)?.[1];
        if (dry.exitCode !== 0 || toname === undefined) {
          deps.say(`cyber-zfs-backup serve: the resume token cannot be read: ${firstErrorLine(dry.stderr)}`);
          return dry.exitCode || 1;
        }
        const problem = confinementProblem(toname.split('@')[0] ?? '', policy);
        if (problem) return refuse(`resume-send: the token names ${toname}: ${problem}`);
        return await sendOut(deps, resumeSendArgs(request.token), `zfs send -t (resuming ${toname}) ${who}`);
      }
    }
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    deps.say(`cyber-zfs-backup serve: ${error.message}`);
    await deps.syslog('err', `${describeRequest(command)} ${who}: ${error.message}`);
    return error.exitCode;
  } finally {
    lock?.release();
  }
  return ExitCode.internal;
}

async function sendOut(deps: ServeDeps, args: string[], what: string): Promise<number> {
  const started = deps.now();
  const result = await deps.zfsAttached(args, { stdin: 'ignore', stdout: 'inherit' });
  const seconds = ((deps.now() - started) / 1000).toFixed(1);
  await deps.syslog(result.exitCode === 0 ? 'notice' : 'err', `${what}: ${result.exitCode === 0 ? `sent in ${seconds} s` : `failed after ${seconds} s: ${firstErrorLine(result.stderr)}`}`);
  return result.exitCode;
}

/**
 * A receive: zfs reads serve's own stdin (the stream never passes through JavaScript); then,
 * whatever the outcome, the tree is made inert and listed, and the listing goes back on stdout so
 * the sender checks it without another round trip.
 */
async function receive(deps: ServeDeps, policy: ServePolicy, caps: ZfsCapabilities, request: Extract<ServeRequest, { verb: 'receive' }>, who: string, hold: TreeHold): Promise<number> {
  const args = receiveModeArgs(request.mode, request.dataset, caps, request.mountpoint, !policy.appendOnly);
  const started = deps.now();
  const result = await deps.zfsAttached(args, { stdin: 'inherit', stdout: 'pipe', onStart: (pid) => hold.receiving(pid) });
  const seconds = ((deps.now() - started) / 1000).toFixed(1);
  const set = async (fixes: string[][]): Promise<void> => {
    for (const fix of fixes) {
      const r = await deps.zfs(fix);
      if (r.exitCode !== 0) throw new BackupError(ExitCode.internal, `zfs ${fix.join(' ')} failed: ${firstErrorLine(r.stderr)}`);
    }
  };
  const list = async (): Promise<BatchPart> => listing(await deps.zfs(listReceivedArgs(request.tree)));
  let fixes: string[][] = [];
  let inertProblem: string | undefined;
  const exists = (await deps.zfs(existsArgs(request.tree))).exitCode === 0;
  if (exists) {
    try {
      fixes = await makeInert({ list, set }, request.tree, request.mountpoint);
    } catch (error) {
      inertProblem = (error as Error).message;
    }
  }
  const tree = await deps.zfs(listTreeArgs(request.tree, receiverResumable(caps)));
  deps.reply(JSON.stringify({ serve: 1, fixes, tree: listing(tree) }));
  const outcome = result.exitCode === 0 ? `received in ${seconds} s` : `failed after ${seconds} s: ${firstErrorLine(result.stderr)}`;
  const fixed = fixes.length > 0 ? `; set ${fixes.map((f) => f.slice(1).join(' ')).join(', ')}` : '';
  await deps.syslog(result.exitCode === 0 ? 'notice' : 'err', `zfs ${args.join(' ')} ${who}: ${outcome}${fixed}`);
  if (result.exitCode !== 0) return result.exitCode;
  if (inertProblem !== undefined) {
    deps.say(`cyber-zfs-backup serve: received into ${request.dataset}, but keeping the tree inert failed: ${inertProblem}`);
    await deps.syslog('err', `keeping ${request.tree} inert ${who} failed: ${inertProblem}`);
    return 1;
  }
  return 0;
}
