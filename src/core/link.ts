// The link to the offsite host: keepalive settings (the tool's default when the ssh config sets none), the phases of a push, and the lines a silent link or a left-over receive end a run with.
import { BackupError, ExitCode } from './exit-codes';

/**
 * Applied when the ssh config sets no ServerAliveInterval (ssh -G prints 0 then, exactly as for an
 * explicit 0): with OpenSSH's ServerAliveCountMax of 3, a silent link ends the run 40 s after the
 * last answer, well inside the 90 s the tool promises.
 */
export const DEFAULT_KEEPALIVE_INTERVAL_SECONDS = 10;

/** What the tool promises: a link that goes silent ends the run within this many seconds (with the default keepalives). */
export const SILENT_LINK_PROMISE_SECONDS = 90;

/** How long one remote command other than the stream (probe, listing, repair, check) may take. */
export const REMOTE_COMMAND_TIMEOUT_SECONDS = 600;

/** ConnectTimeout when the ssh config sets none: the TCP connect, the SSH handshake and the login together. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

export interface Keepalive {
  intervalSeconds: number;
  /** Keepalives that may go unanswered; one more ends the connection. */
  countMax: number;
  /** False when the ssh config left ServerAliveInterval unset (or 0) and the tool's default applies. */
  fromConfig: boolean;
}

/**
 * The keepalives a connection uses. `ssh -G` prints `serveraliveinterval 0` both when the config
 * sets nothing and when it sets 0, so 0 means "unset": keepalives cannot be switched off. A count
 * of 0 would end every connection after one interval in ssh2, so it counts as 1.
 */
export function keepaliveFor(serverAliveInterval: number, serverAliveCountMax: number): Keepalive {
  const countMax = Math.max(1, serverAliveCountMax);
  if (serverAliveInterval > 0) return { intervalSeconds: serverAliveInterval, countMax, fromConfig: true };
  return { intervalSeconds: DEFAULT_KEEPALIVE_INTERVAL_SECONDS, countMax, fromConfig: false };
}

/** The longest a silent link can last before the connection ends: one interval per unanswered keepalive, and one more. */
export function silenceBoundSeconds(keepalive: Keepalive): number {
  return keepalive.intervalSeconds * (keepalive.countMax + 1);
}

/** The --debug line that says which keepalives a destination gets, and why. */
export function describeKeepalive(destination: string, keepalive: Keepalive): string {
  const bound = silenceBoundSeconds(keepalive);
  const every = `a keepalive every ${keepalive.intervalSeconds} s, ${keepalive.countMax} may go unanswered: a silent link ends the run within ${bound} s`;
  if (!keepalive.fromConfig) {
    return `${destination}: the ssh config sets no ServerAliveInterval (or 0, which ssh -G cannot tell from unset; BatchMode's own 300 s does not count), so cyber-zfs-backup applies its own: ${every}`;
  }
  const over = bound > SILENT_LINK_PROMISE_SECONDS ? ` (longer than the ${SILENT_LINK_PROMISE_SECONDS} s of the default: lower ServerAliveInterval or ServerAliveCountMax to shorten it)` : '';
  return `${destination}: ServerAliveInterval ${keepalive.intervalSeconds} and ServerAliveCountMax ${keepalive.countMax} from the ssh config: ${every}${over}`;
}

/** Where a push was when its link went silent. */
export type LinkPhase = 'connect' | 'probe' | 'repair' | 'stream' | 'check';

/** A link that stopped answering: which host, and how long the tool waited. */
export interface LinkSilence {
  /** e.g. `offsite (root@[192.0.2.1]:2222)`, or the jump host's. */
  link: string;
  /** What ended the wait: keepalives, or the handshake timeout while connecting. */
  waited: { kind: 'keepalive'; keepalive: Keepalive } | { kind: 'handshake'; seconds: number };
}

function phaseWords(phase: LinkPhase, streamed: number | undefined): string {
  switch (phase) {
    case 'connect':
      return 'while connecting (the SSH handshake and login)';
    case 'probe':
      return 'while probing the receiver';
    case 'repair':
      return 'while repairing the receiver (a partial receive, rollback or destroy left by an earlier cut push)';
    case 'stream':
      return `mid-stream${streamed === undefined ? '' : `, after ${(streamed / 1048576).toFixed(1)} MiB`}`;
    case 'check':
      return 'after the stream was sent, while the receiver finished it and was checked (the receive may have completed there)';
  }
}

/** The one line a run ends with when its link went silent: where it was, how long it waited, what happens next (exit 69). */
export function silentLinkError(destination: string, phase: LinkPhase, silence: LinkSilence, streamed?: number): BackupError {
  const waited =
    silence.waited.kind === 'handshake'
      ? `nothing came back for ${silence.waited.seconds} s (ConnectTimeout)`
      : `${silence.waited.keepalive.countMax} keepalives, one every ${silence.waited.keepalive.intervalSeconds} s, went unanswered (${silenceBoundSeconds(silence.waited.keepalive)} s)`;
  const after =
    phase === 'stream' || phase === 'check'
      ? '; the receive there ends when the offsite host notices the dead connection, and the next run goes on from the last common snapshot'
      : '; the next run tries again';
  return new BackupError(
    ExitCode.unavailable,
    `the link to ${silence.link} went silent ${phaseWords(phase, streamed)}: ${waited}, so the run stopped; the connection was neither reset nor closed, so check the network path to ${destination} (a firewall or NAT that drops idle or long connections, a saturated uplink)${after}`,
  );
}

/**
 * An earlier receive into the dataset still runs on the offsite host (a run whose link died left
 * it, and the offsite host has not noticed yet): zfs answers "dataset is busy", serve says so itself.
 * Exit 75: the next run after it has ended heals as usual.
 */
export function earlierReceiveError(what: string, where: string, serveSays: string | undefined): BackupError {
  const ends = serveSays
    ? `serve there ends it by itself once it has read nothing for a while (${serveSays})`
    : "it ends when that connection times out there (the offsite sshd's ClientAliveInterval and ClientAliveCountMax decide when; unset, that can take hours)";
  return new BackupError(
    ExitCode.temporary,
    `${what} to ${where} cannot start: an earlier receive into that dataset is still running there, left by a run whose connection died; ${ends}; run again after that, and the next run heals as usual`,
  );
}

/** The words serve's refusal line starts with when an earlier receive of its own still holds the tree (the sender recognises them). */
export const EARLIER_RECEIVE_MARK = 'an earlier receive into';

/** Whether a receive failed because an earlier receive into the same dataset still runs (zfs's "dataset is busy", or serve's line). */
export function earlierReceiveRunning(stderr: string): { serveSays: string | undefined } | undefined {
  const serveLine = stderr.split('\n').find((l) => l.includes(`serve: ${EARLIER_RECEIVE_MARK}`));
  if (serveLine !== undefined) {
    const detail = /\(([^()]*read nothing[^()]*)\)/.exec(serveLine)?.[1];
    return { serveSays: detail ?? 'see its syslog' };
  }
  return /dataset is busy/i.test(stderr) ? { serveSays: undefined } : undefined;
}
