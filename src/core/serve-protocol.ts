// The serve protocol: the requests a sender makes of an offsite host's `serve`, how serve reads and confines them, and its replies.
import { datasetNameProblem, relativeDataset, splitSnapshot } from './names';
import { shellCommand } from './quote';
import { parseJson } from './json';

/**
 * The first word of every request. It contains a "/" and names no program, so a plain shell login
 * answers it at once with "not found" (exit 127): that is how a sender tells the two apart.
 */
export const SERVE_PROTOCOL = 'cyber-zfs-backup-serve/1';

/** Longer requests are refused unread: the longest real one (a repair of many datasets) stays far below. */
export const MAX_REQUEST_LENGTH = 16384;

/** Received trees mount only below this directory (and only when an administrator mounts them). */
export const BACKUP_MOUNT_BASE = '/srv/backup';

/** What a receive brings: the tree's -R stream, one dataset brought forward on its own, or a resumed partial receive. */
export type ReceiveMode = 'tree' | 'catch-up' | 'resume';

export type RepairItem = { kind: 'rollback'; dataset: string; snapshot: string } | { kind: 'destroy'; dataset: string };

/** Send flags a restore may ask for: none of them reaches outside the named snapshot's tree. */
export const RESTORE_SEND_FLAGS = ['L', 'e', 'c', 'w', 'b'] as const;

export type ServeRequest =
  /** Capabilities, append-only or not, and the tree with GUIDs (whether its parent exists when it does not). */
  | { verb: 'probe'; dataset: string }
  /** The tree with GUIDs only. */
  | { verb: 'list'; dataset: string }
  /**
   * A stream on stdin into `zfs receive` of `dataset` (the tree's receive dataset, or one dataset in
   * it); serve chooses the flags, then makes the whole `tree` inert below `mountpoint` and lists it.
   */
  | { verb: 'receive'; dataset: string; tree: string; mode: ReceiveMode; mountpoint: string }
  /** Roll datasets back or destroy a half-received newcomer (never under --append-only). */
  | { verb: 'repair'; items: RepairItem[] }
  /** Discard an interrupted receive's partial state (`zfs receive -A`). */
  | { verb: 'abort'; dataset: string }
  /**
   * A read-only `zfs send -R` of one snapshot of the tree, for restore; with `from`, one dataset's
   * snapshots after @from up to it (`zfs send -I`, no -R: a cut restore brought forward).
   */
  | { verb: 'send'; dataset: string; snapshot: string; flags: string[]; from?: string }
  /** About how many bytes that `send` (without `from`) would stream: `zfs send -n -P`, or the space the tree uses. */
  | { verb: 'send-size'; dataset: string; snapshot: string; flags: string[] }
  /** What a restore needs besides snapshots: the received (original) canmount/readonly/mountpoint, and encryption. */
  | { verb: 'restore-info'; dataset: string }
  /** A read-only `zfs send -t TOKEN` that resumes a cut restore (serve checks what the token names). */
  | { verb: 'resume-send'; token: string };

/** The command line that carries `request` (every word is a plain word: no quoting is ever needed). */
export function serveRequestCommand(request: ServeRequest): string {
  return shellCommand([SERVE_PROTOCOL, ...requestWords(request)]);
}

function requestWords(request: ServeRequest): string[] {
  switch (request.verb) {
    case 'probe':
    case 'list':
    case 'abort':
    case 'restore-info':
      return [request.verb, request.dataset];
    case 'receive':
      return ['receive', request.dataset, `mode=${request.mode}`, ...(request.tree === request.dataset ? [] : [`tree=${request.tree}`]), `mountpoint=${request.mountpoint}`];
    case 'repair':
      return ['repair', ...request.items.map((i) => (i.kind === 'rollback' ? `rollback=${i.dataset}@${i.snapshot}` : `destroy=${i.dataset}`))];
    case 'send':
    case 'send-size':
      return [
        request.verb,
        `${request.dataset}@${request.snapshot}`,
        ...(request.flags.length > 0 ? [`flags=${request.flags.join('')}`] : []),
        ...(request.verb === 'send' && request.from !== undefined ? [`from=${request.from}`] : []),
      ];
    case 'resume-send':
      return ['resume-send', request.token];
  }
}

/** What serve is allowed to do: its roots, and whether the offsite copy may only grow. */
export interface ServePolicy {
  roots: readonly string[];
  appendOnly: boolean;
}

export type Authorized = { ok: true; request: ServeRequest } | { ok: false; reason: string };

const WORD = /^[A-Za-z0-9_./:=@+,-]+$/;
const SNAPSHOT_NAME = /^[A-Za-z0-9_.:-]+$/;
const TOKEN = /^[0-9]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/;

const refuse = (reason: string): Authorized => ({ ok: false, reason });

/** A printable, bounded rendering of what the client sent, for the refusal line and the log. */
export function describeRequest(command: string | undefined): string {
  if (command === undefined) return '(no command)';
  const shown = JSON.stringify(command.length > 120 ? `${command.slice(0, 120)}…` : command);
  return command.length > 120 ? `${shown} (${command.length} bytes)` : shown;
}

/** Why `dataset` may not be touched under `policy`, or undefined when it lies inside one of the roots. */
export function confinementProblem(dataset: string, policy: ServePolicy, strictlyBelow = false): string | undefined {
  const problem = datasetNameProblem(dataset);
  if (problem) return `${JSON.stringify(dataset)} is not a dataset name this serve accepts: ${problem}`;
  for (const root of policy.roots) {
    const relative = relativeDataset(root, dataset);
    if (relative === undefined) continue;
    if (strictlyBelow && relative === '') return `${dataset} is this key's root itself; only datasets below it may be destroyed`;
    return undefined;
  }
  return `${dataset} is outside this key's root${policy.roots.length > 1 ? 's' : ''} (${policy.roots.join(', ')})`;
}

function snapshotProblem(full: string, policy: ServePolicy): { problem?: string; dataset: string; snapshot: string } {
  const split = splitSnapshot(full);
  if (!split) return { problem: `${JSON.stringify(full)} is not a snapshot (DATASET@NAME)`, dataset: '', snapshot: '' };
  const { dataset, snapshot } = split;
  if (!SNAPSHOT_NAME.test(snapshot) || snapshot.startsWith('-') || full.length > 255) {
    return { problem: `${JSON.stringify(snapshot)} is not a snapshot name this serve accepts (letters, digits and _ . : - only)`, dataset, snapshot };
  }
  const problem = confinementProblem(dataset, policy);
  return problem ? { problem, dataset, snapshot } : { dataset, snapshot };
}

/** Why `path` is not a mount point below /srv/backup, or undefined. */
export function mountpointProblem(path: string): string | undefined {
  if (!path.startsWith(`${BACKUP_MOUNT_BASE}/`)) return `mount point ${JSON.stringify(path)} is not below ${BACKUP_MOUNT_BASE}`;
  const parts = path.slice(BACKUP_MOUNT_BASE.length + 1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9_.:-]+$/.test(p))) return `mount point ${JSON.stringify(path)} has an empty, "." or ".." component or an unusual character`;
  return undefined;
}

/** key=value words after the verb's positional arguments; each key at most once, none unknown. */
function options(words: readonly string[], allowed: readonly string[]): Map<string, string> | string {
  const out = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (eq < 0 || !allowed.includes(key)) return `unexpected word ${JSON.stringify(word)}`;
    if (out.has(key)) return `${key}= given twice`;
    out.set(key, word.slice(eq + 1));
  }
  return out;
}

/**
 * Reads a request as serve receives it (SSH_ORIGINAL_COMMAND) and decides whether it may run. Only
 * the words `serveRequestCommand` makes are understood; nothing is ever handed to a shell, and a
 * request is refused whole, before anything runs, at the first thing out of place.
 */
export function authorizeRequest(command: string | undefined, policy: ServePolicy): Authorized {
  if (command === undefined || command.trim() === '') return refuse('no request: this key only pushes and restores through cyber-zfs-backup (an interactive login is not allowed)');
  if (command.length > MAX_REQUEST_LENGTH) return refuse(`the request is ${command.length} bytes long (at most ${MAX_REQUEST_LENGTH})`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(command)) return refuse('the request holds control characters (newline, NUL, escape) or non-ASCII bytes');
  const words = command.split(' ');
  if (words[0] !== SERVE_PROTOCOL) return refuse(`not a cyber-zfs-backup request: this key may only push and restore through cyber-zfs-backup (expected "${SERVE_PROTOCOL} …")`);
  const bad = words.find((w) => !WORD.test(w));
  if (bad !== undefined) return refuse(`${JSON.stringify(bad)} is not a plain word (empty, quoted, or holding shell metacharacters)`);
  const [verb = '', ...args] = words.slice(1);
  const one = (n: number): string | undefined => (args.length < n ? `${verb} needs ${n} argument${n > 1 ? 's' : ''}` : undefined);
  switch (verb) {
    case 'probe':
    case 'list':
    case 'abort':
    case 'restore-info': {
      if (args.length !== 1) return refuse(`${verb} takes one dataset`);
      const dataset = args[0] as string;
      const problem = confinementProblem(dataset, policy);
      return problem ? refuse(problem) : { ok: true, request: { verb, dataset } };
    }
    case 'receive': {
      const missing = one(1);
      if (missing) return refuse(missing);
      const [dataset = '', ...rest] = args;
      const problem = confinementProblem(dataset, policy);
      if (problem) return refuse(problem);
      const opts = options(rest, ['mode', 'tree', 'mountpoint']);
      if (typeof opts === 'string') return refuse(`receive: ${opts}`);
      const tree = opts.get('tree') ?? dataset;
      const treeProblem = confinementProblem(tree, policy);
      if (treeProblem) return refuse(`receive: ${treeProblem}`);
      if (relativeDataset(tree, dataset) === undefined) return refuse(`receive: ${dataset} is not in the tree ${tree}`);
      const mode = opts.get('mode') ?? 'tree';
      if (mode !== 'tree' && mode !== 'catch-up' && mode !== 'resume') return refuse(`receive: mode ${JSON.stringify(mode)} is not tree, catch-up or resume`);
      const mountpoint = opts.get('mountpoint');
      if (mountpoint === undefined) return refuse('receive: mountpoint= is missing');
      const mpProblem = mountpointProblem(mountpoint);
      if (mpProblem) return refuse(`receive: ${mpProblem}`);
      return { ok: true, request: { verb: 'receive', dataset, tree, mode, mountpoint } };
    }
    case 'repair': {
      if (policy.appendOnly) return refuse('repair: this offsite copy is append-only: nothing on it is rolled back or destroyed');
      if (args.length === 0) return refuse('repair needs at least one rollback= or destroy=');
      const items: RepairItem[] = [];
      for (const word of args) {
        if (word.startsWith('rollback=')) {
          const s = snapshotProblem(word.slice('rollback='.length), policy);
          if (s.problem) return refuse(`repair: ${s.problem}`);
          items.push({ kind: 'rollback', dataset: s.dataset, snapshot: s.snapshot });
        } else if (word.startsWith('destroy=')) {
          const dataset = word.slice('destroy='.length);
          const problem = confinementProblem(dataset, policy, true);
          if (problem) return refuse(`repair: ${problem}`);
          items.push({ kind: 'destroy', dataset });
        } else return refuse(`repair: unexpected word ${JSON.stringify(word)}`);
      }
      return { ok: true, request: { verb: 'repair', items } };
    }
    case 'send':
    case 'send-size': {
      const missing = one(1);
      if (missing) return refuse(missing);
      const [full = '', ...rest] = args;
      const s = snapshotProblem(full, policy);
      if (s.problem) return refuse(`${verb}: ${s.problem}`);
      const opts = options(rest, verb === 'send' ? ['flags', 'from'] : ['flags']);
      if (typeof opts === 'string') return refuse(`${verb}: ${opts}`);
      const flags = [...(opts.get('flags') ?? '')];
      const unknown = flags.find((f) => !(RESTORE_SEND_FLAGS as readonly string[]).includes(f));
      if (unknown !== undefined) return refuse(`${verb}: flag -${unknown} is not one a restore uses (${RESTORE_SEND_FLAGS.join(' ')})`);
      if (new Set(flags).size !== flags.length) return refuse(`${verb}: a flag is given twice`);
      const from = opts.get('from');
      if (from !== undefined && (!SNAPSHOT_NAME.test(from) || from.startsWith('-'))) return refuse(`send: from=${JSON.stringify(from)} is not a snapshot name this serve accepts (letters, digits and _ . : - only)`);
      if (verb === 'send-size') return { ok: true, request: { verb, dataset: s.dataset, snapshot: s.snapshot, flags } };
      return { ok: true, request: { verb, dataset: s.dataset, snapshot: s.snapshot, flags, ...(from === undefined ? {} : { from }) } };
    }
    case 'resume-send': {
      if (args.length !== 1 || !TOKEN.test(args[0] as string)) return refuse('resume-send takes one receive_resume_token');
      return { ok: true, request: { verb: 'resume-send', token: args[0] as string } };
    }
    default:
      return refuse(`${JSON.stringify(verb)} is not something serve does (probe, list, receive, repair, abort, send, send-size, restore-info, resume-send)`);
  }
}

/** The zfs output of one listing, passed through as zfs printed it. */
export interface ListingReply {
  code: number;
  stdout: string;
  stderr: string;
}

/** serve's answer to a probe: one JSON line on stdout. */
export interface ProbeReply {
  serve: 1;
  version: string;
  appendOnly: boolean;
  /** The usage text its zfs prints: the sender reads the receiver's capabilities from it. */
  usage: string;
  tree: ListingReply;
  /** Whether the dataset's parent exists, when the dataset itself does not. */
  parentExists?: boolean;
}

/** What serve prints on stdout after a receive ends (whatever its outcome): the tree as it is now. */
export interface ReceiveReply {
  serve: 1;
  /** `zfs set` commands serve ran to keep the received tree inert. */
  fixes: string[][];
  tree: ListingReply;
}

function isListing(value: unknown): value is ListingReply {
  const v = value as ListingReply;
  return typeof v === 'object' && v !== null && typeof v.code === 'number' && typeof v.stdout === 'string' && typeof v.stderr === 'string';
}

/** The last line of `stdout` as a serve reply, or undefined when it is not one (a plain shell answered). */
export function parseProbeReply(stdout: string): ProbeReply | undefined {
  const reply = lastJsonLine(stdout) as ProbeReply | undefined;
  if (!reply || reply.serve !== 1 || typeof reply.usage !== 'string' || typeof reply.appendOnly !== 'boolean' || !isListing(reply.tree)) return undefined;
  return reply;
}

export function parseReceiveReply(stdout: string): ReceiveReply | undefined {
  const reply = lastJsonLine(stdout) as ReceiveReply | undefined;
  if (!reply || reply.serve !== 1 || !Array.isArray(reply.fixes) || !isListing(reply.tree)) return undefined;
  return reply;
}

export function parseListReply(stdout: string): ListingReply | undefined {
  const reply = lastJsonLine(stdout) as { serve?: number; tree?: unknown } | undefined;
  return reply?.serve === 1 && isListing(reply.tree) ? reply.tree : undefined;
}

function lastJsonLine(stdout: string): unknown {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1];
  return last === undefined || !last.startsWith('{') ? undefined : parseJson(last);
}

/** serve's answer to restore-info: the offsite copy's received values, and (where zfs has encryption) which datasets are encrypted. */
export interface RestoreInfoReply {
  serve: 1;
  received: ListingReply;
  encryption?: ListingReply;
}

/** serve's answer to send-size: the output of `zfs send -n -P` (exact) or of `zfs get used` (a rough upper bound). */
export interface SendSizeReply {
  serve: 1;
  size: ListingReply;
  exact: boolean;
}

export function parseRestoreInfoReply(stdout: string): RestoreInfoReply | undefined {
  const reply = lastJsonLine(stdout) as RestoreInfoReply | undefined;
  if (!reply || reply.serve !== 1 || !isListing(reply.received) || (reply.encryption !== undefined && !isListing(reply.encryption))) return undefined;
  return reply;
}

export function parseSendSizeReply(stdout: string): SendSizeReply | undefined {
  const reply = lastJsonLine(stdout) as SendSizeReply | undefined;
  if (!reply || reply.serve !== 1 || !isListing(reply.size) || typeof reply.exact !== 'boolean') return undefined;
  return reply;
}

/** The one line serve prints on stderr when it refuses; the sender recognises it by its start. */
export const REFUSAL_PREFIX = 'cyber-zfs-backup serve: refused';

export function refusalLine(command: string | undefined, reason: string): string {
  return `${REFUSAL_PREFIX} ${describeRequest(command)}: ${reason}`;
}
