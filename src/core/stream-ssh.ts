// The stream's own connection by OpenSSH's client: its argv (the destination exactly as the session resolved it) and what its debug log says about how the remote command ended.
import type { Keepalive } from './link';

/** What the argv is built from: the destination as `ssh -G` resolved it, with paths already expanded. */
export interface StreamSshTarget {
  /** The alias as given (so the config's Host and Match blocks apply as for `ssh -G`). */
  destination: string;
  /** `--ssh-config`, or undefined for ssh's own default files. */
  config: string | undefined;
  hostname: string;
  port: number;
  user: string;
  /** In OpenSSH's order, tokens expanded. */
  identityFiles: readonly string[];
  identitiesOnly: boolean;
  /** The agent socket the session uses, or undefined for none. */
  agentSocket: string | undefined;
  userKnownHostsFiles: readonly string[];
  globalKnownHostsFiles: readonly string[];
  hostKeyAlias: string | undefined;
  /** The keepalives the session applies (the tool's default where the config sets none). */
  keepalive: Keepalive;
  connectTimeoutSeconds: number;
  /** The ciphers `ssh -G` resolved (the config's list, or OpenSSH's defaults). */
  ciphers: readonly string[];
}

/** The AES-GCM ciphers, fastest where the CPU has AES instructions (OpenSSH's default puts chacha20-poly1305 first). */
const GCM_FIRST = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];

/**
 * The resolved ciphers with AES-GCM moved to the front, as the session's own connection prefers
 * them: only the order changes, never the set, so a config that leaves GCM out keeps it out.
 */
export function streamCiphers(resolved: readonly string[]): string[] {
  const preferred = GCM_FIRST.filter((c) => resolved.includes(c));
  return [...preferred, ...resolved.filter((c) => !preferred.includes(c))];
}

/** A path of OpenSSH's is one word of its option line: one with white space or a quote in it cannot be passed (`ssh -G` cannot print it either). */
function pathWord(path: string): string {
  if (/[\s"'\\]/.test(path)) throw new Error(`the path ${JSON.stringify(path)} holds white space or a quote, which an OpenSSH option cannot carry`);
  return path;
}

/** `none` for an empty list, else the paths separated by spaces (how ssh reads UserKnownHostsFile). */
function pathList(paths: readonly string[]): string {
  return paths.length === 0 ? 'none' : paths.map(pathWord).join(' ');
}

/** A control socket's path: one word, and no `%`, which OpenSSH would expand as a token. */
function controlPathWord(path: string): string {
  if (path.includes('%')) throw new Error(`the path ${JSON.stringify(path)} holds a %, which OpenSSH's ControlPath would expand`);
  return pathWord(path);
}

/**
 * Every setting the session uses, given on the command line after the same config file (the first
 * value wins over the file): host keys only from the same known_hosts files and never changed
 * (StrictHostKeyChecking yes, UpdateHostKeys no), no prompt, no pty, no forwarding, no jump, and the
 * client's own log in `logFile` at DEBUG1 (ssh closes every descriptor above 2 as it starts, so a
 * file). `controlPath` is the shared connection's socket, or none.
 */
function connectionArgv(target: StreamSshTarget, logFile: string, controlMaster: 'yes' | 'no', controlPath: string | undefined): string[] {
  const o = (option: string, value: string | number) => ['-o', `${option}=${value}`];
  return [
    ...(target.config === undefined ? [] : ['-F', target.config]),
    '-T',
    '-x',
    '-a',
    '-E',
    logFile,
    ...o('LogLevel', 'DEBUG1'),
    ...o('BatchMode', 'yes'),
    ...o('StrictHostKeyChecking', 'yes'),
    ...o('UpdateHostKeys', 'no'),
    ...o('UserKnownHostsFile', pathList(target.userKnownHostsFiles)),
    ...o('GlobalKnownHostsFile', pathList(target.globalKnownHostsFiles)),
    ...(target.hostKeyAlias === undefined ? [] : o('HostKeyAlias', target.hostKeyAlias)),
    ...o('HostName', target.hostname),
    ...o('Port', target.port),
    ...o('User', target.user),
    ...o('IdentitiesOnly', target.identitiesOnly ? 'yes' : 'no'),
    ...o('IdentityAgent', target.agentSocket === undefined ? 'none' : pathWord(target.agentSocket)),
    ...target.identityFiles.flatMap((f) => o('IdentityFile', pathWord(f))),
    ...o('ServerAliveInterval', target.keepalive.intervalSeconds),
    ...o('ServerAliveCountMax', target.keepalive.countMax),
    ...o('ConnectTimeout', target.connectTimeoutSeconds),
    ...(target.ciphers.length === 0 ? [] : o('Ciphers', streamCiphers(target.ciphers).join(','))),
    ...o('ControlMaster', controlMaster),
    ...o('ControlPath', controlPath === undefined ? 'none' : controlPathWord(controlPath)),
    ...(controlMaster === 'yes' ? o('ControlPersist', 'no') : []),
    ...o('ProxyJump', 'none'),
    ...o('PermitLocalCommand', 'no'),
    ...o('ClearAllForwardings', 'yes'),
    ...o('EscapeChar', 'none'),
  ];
}

/**
 * The argv (without the program) of `ssh` for the stream: every setting the session uses (see
 * connectionArgv), where ssh says whether the remote command sent an exit status, was killed by a
 * signal, or the connection ended without either; the remote command's stderr stays alone on
 * ssh's stderr. The remote command is one argument: ssh sends it as it is. With `controlPath` (the
 * shared connection's socket, see masterSshArgv) the stream is a session on that connection, with
 * no handshake or login of its own; if the socket does not answer, ssh connects by itself as
 * without it, with the same settings.
 */
export function streamSshArgv(target: StreamSshTarget, remoteCommand: string, logFile: string, controlPath?: string): string[] {
  return [...connectionArgv(target, logFile, 'no', controlPath), '--', target.destination, remoteCommand];
}

/**
 * The argv of the stream's shared connection: the same settings, logged in and then waiting (-N:
 * no remote command, so an offsite host's forced command does not run for it), answering on
 * `controlPath` for the stream's sessions, in the foreground until it is stopped (ControlPersist
 * no). Its log holds what the sessions' own logs do not: their exit statuses and signals, and a
 * link gone silent.
 */
export function masterSshArgv(target: StreamSshTarget, controlPath: string, logFile: string): string[] {
  return ['-N', ...connectionArgv(target, logFile, 'yes', controlPath), '--', target.destination];
}

/** How the stream's ssh ended, as its log and exit status tell it. */
export type StreamSshEnd =
  /** The remote command sent its exit status (ssh exits with it, 255 included). */
  | { kind: 'status'; code: number }
  /** The remote command was killed by a signal (OpenSSH's client logs the request, not the signal's name). */
  | { kind: 'signal' }
  /** Keepalives went unanswered: the link went silent. */
  | { kind: 'silent'; detail: string }
  /** The server's host key was not the one known_hosts holds for it. */
  | { kind: 'host-key'; detail: string }
  /** The login was refused for every key. */
  | { kind: 'login'; detail: string }
  /** No connection was made at all. */
  | { kind: 'connect'; detail: string }
  /** The connection ended without an exit status (reset, closed). */
  | { kind: 'lost'; detail: string };

/** ssh's own lines without the debug chatter, for a failure line. */
function ownLines(log: string): string {
  return log
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l.length > 0 && !l.startsWith('debug') && !/^@+$/.test(l) && !/^(Warning: Permanently added|Transferred:|Bytes per second:)/.test(l))
    .join('; ');
}

/**
 * Reads how the stream's ssh ended from its exit status and its DEBUG1 log (fd 3): an exit-status
 * request is the remote command's status whatever ssh exits with; an exit-signal request is a
 * killed remote command; otherwise ssh's exit 255 is its own failure, told apart by its lines.
 */
export function readStreamSshEnd(exitCode: number | null, log: string): StreamSshEnd {
  const request = (rtype: string) => new RegExp(`client_input_channel_req: (?:channel \\d+ )?rtype ${rtype} `, 'm').test(log);
  if (request('exit-status') && exitCode !== null) return { kind: 'status', code: exitCode };
  if (request('exit-signal')) return { kind: 'signal' };
  const lines = ownLines(log);
  const detail = lines || (exitCode === null ? 'ssh was stopped' : `ssh exited ${exitCode}`);
  if (/^Timeout, server .* not responding/m.test(log)) return { kind: 'silent', detail };
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for .* you have requested strict checking|No .* host key is known for/i.test(log)) return { kind: 'host-key', detail };
  if (/Permission denied \(/.test(log)) return { kind: 'login', detail };
  // Before the handshake: nothing came (refused, unreachable, timed out).
  if (!/Remote protocol version|Authenticated to /.test(log) && /ssh: connect to host|Could not resolve hostname|Connection timed out during banner exchange|Connection refused/i.test(log)) return { kind: 'connect', detail };
  return { kind: 'lost', detail };
}
