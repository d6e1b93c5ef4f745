// An SSH session to the resolved destination (node-ssh/ssh2) that only trusts host keys in known_hosts.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import ssh2 from 'ssh2';
import { BackupError, ExitCode } from '../core/exit-codes';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, keepaliveFor, REMOTE_COMMAND_TIMEOUT_SECONDS, silentLinkError, type LinkSilence } from '../core/link';
import type { StreamSshTarget } from '../core/stream-ssh';
import { knownKeyTypes, sshKeyTypeFromBlob, verifyHostKey, type HostKeyVerdict } from './known-hosts';
import type { ResolvedDestination } from './ssh-destination';
import { startMaster } from './stream-master';
import type { StreamTarget } from './transfer-ssh';

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SshSession {
  /** Runs a short remote command and collects its output; one that does not end in time is given up (exit 69). */
  exec(command: string): Promise<ExecResult>;
  /** Opens an exec channel (for streaming); the caller consumes its output. */
  openChannel(command: string): Promise<ClientChannel>;
  /** The remote end of a push stream: an exec channel on this connection, or OpenSSH's client to start for it (see SessionOptions.streamCarrier). */
  openStream(command: string): Promise<StreamTarget>;
  /** What openStream hands out: OpenSSH's client (which can take a zfs send started early) or an ssh2 channel. */
  readonly streamCarrier: 'openssh' | 'ssh2';
  /** Set once the connection (or its jump host's) was ended because keepalives went unanswered. */
  silence(): LinkSilence | undefined;
  close(): void;
}

export interface SessionOptions {
  /** How long a remote command other than the stream may take (REMOTE_COMMAND_TIMEOUT_SECONDS). */
  execTimeoutSeconds?: number;
  /**
   * What carries a push stream: OpenSSH's own client (the default; a second connection, to the
   * same resolved destination, for the stream alone), or this connection's ssh2 channel. A
   * destination behind a ProxyJump host always streams through ssh2 (the jump is followed here).
   */
  streamCarrier?: 'openssh' | 'ssh2';
  /**
   * A push that will stream: OpenSSH's client logs in beside this connection as the master of a
   * private control socket, and the stream opens its session there, without a handshake and login
   * of its own (about 0.15 s on loopback, more across a WAN). Only with the OpenSSH carrier.
   */
  shareStreamConnection?: boolean;
}

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/** GCM first: it is the fastest cipher ssh2 runs through Node's OpenSSL. */
const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'chacha20-poly1305@openssh.com'] as const;

export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `offsite (root@[192.0.2.1]:2222)`: the alias and where it leads, for every line about a link. */
function linkLabel(dest: ResolvedDestination): string {
  return `${dest.destination} (${dest.options.user}@${hostLabel(dest.options.hostname, dest.options.port)})`;
}

/** Loads the identity files like OpenSSH: missing ones are skipped, unprotected ones refused. */
function loadKeys(dest: ResolvedDestination): { methods: AnyAuthMethod[]; skipped: string[] } {
  const methods: AnyAuthMethod[] = [];
  const skipped: string[] = [];
  const username = dest.options.user;
  const agent = dest.agentSocket;
  if (agent && !dest.options.identitiesOnly) methods.push({ type: 'agent', username, agent });
  for (const file of dest.identityFiles) {
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch {
      skipped.push(`${file} does not exist`);
      continue;
    }
    if ((mode & 0o077) !== 0 && process.getuid?.() !== undefined) {
      throw new BackupError(ExitCode.notPermitted, `the private key ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); like ssh, cyber-zfs-backup refuses it: run chmod 600 ${file}`);
    }
    let key: Buffer;
    try {
      key = readFileSync(file);
    } catch (error) {
      throw new BackupError(ExitCode.notPermitted, `cannot read the private key ${file}: ${(error as Error).message}; run as root or fix its owner`);
    }
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) {
        if (agent) {
          skipped.push(`${file} is encrypted (the agent is used instead)`);
          continue;
        }
        throw new BackupError(ExitCode.notPermitted, `the private key ${file} is encrypted and no ssh-agent is available; a timer cannot type a passphrase: use an unencrypted key readable only by root, or an agent (SSH_AUTH_SOCK or IdentityAgent)`);
      }
      throw new BackupError(ExitCode.usage, `the private key ${file} cannot be read: ${parsed.message}; regenerate it with ssh-keygen -t ed25519`);
    }
    methods.push({ type: 'publickey', username, key });
  }
  if (methods.length === 0) {
    throw new BackupError(ExitCode.noInput, `no SSH identity for ${dest.destination}: ${skipped.join('; ') || 'none configured'}; set IdentityFile in the ssh config (the package generates /etc/ssh/cyber-zfs-backup.id_ed25519)`);
  }
  return { methods, skipped };
}

function refusalFor(dest: ResolvedDestination, verdict: HostKeyVerdict, blob: Buffer): BackupError {
  const host = dest.options.hostKeyAlias ?? dest.options.hostname;
  const label = hostLabel(host, dest.options.port);
  const offered = `${sshKeyTypeFromBlob(blob)} ${fingerprint(blob)}`;
  const file = dest.knownHostsFiles[0] ?? '~/.ssh/known_hosts';
  const scan = `ssh-keyscan${dest.options.port === 22 ? '' : ' -p ' + dest.options.port} ${host}`;
  switch (verdict.kind) {
    case 'revoked':
      return new BackupError(ExitCode.unavailable, `host key refused: ${label} offered ${offered}, which ${verdict.entry.source}:${verdict.entry.line} marks @revoked; do not connect until the host has a new key`);
    case 'changed':
      return new BackupError(
        ExitCode.unavailable,
        `host key refused: ${label} offered ${offered}, but known_hosts (${verdict.entries.map((e) => `${e.source}:${e.line}`).join(', ')}) holds another key for it; this may be an attack: if the host was really re-keyed, check the new fingerprint out of band, then run ssh-keygen -R '${label}' -f ${file} and record the new key (${scan} >> ${file})`,
      );
    case 'cert-authority-only':
      return new BackupError(ExitCode.unavailable, `host key refused: ${label} is trusted only through @cert-authority, which cyber-zfs-backup cannot verify (ssh2 has no host certificates); record the host's own key in ${file}`);
    default:
      return new BackupError(
        ExitCode.unavailable,
        `host key refused: ${label} is not in known_hosts (${dest.knownHostsFiles.join(', ') || 'no files configured'}); it offered ${offered}; check that fingerprint out of band, then record the key: ${scan} >> ${file}`,
      );
  }
}

function connectConfig(dest: ResolvedDestination, onVerdict: (v: HostKeyVerdict, blob: Buffer) => void): ConnectConfig {
  const { options } = dest;
  const host = options.hostKeyAlias ?? options.hostname;
  const types = knownKeyTypes(dest.knownHosts, host, options.port);
  const serverHostKey = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []);
  // Keepalives are always on: ssh -G prints 0 for "unset", and the tool then applies its own.
  const keepalive = keepaliveFor(options.serverAliveIntervalSeconds, options.serverAliveCountMax);
  return {
    host: options.hostname,
    port: options.port,
    username: options.user,
    readyTimeout: (options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000,
    keepaliveInterval: keepalive.intervalSeconds * 1000,
    keepaliveCountMax: keepalive.countMax,
    algorithms: { cipher: [...CIPHERS], ...(serverHostKey.length > 0 ? { serverHostKey } : {}) },
    hostVerifier: (blob: Buffer) => {
      const verdict = verifyHostKey(dest.knownHosts, host, options.port, sshKeyTypeFromBlob(blob), blob);
      onVerdict(verdict, blob);
      return verdict.kind === 'trusted';
    },
  };
}

interface Connection {
  ssh: NodeSSH;
  /** The socket (or forwarded channel) the connection runs over: destroyed at close, whatever the far end does. */
  transport: NodeJS.ReadableStream & { destroy(): void };
}

async function connectOne(dest: ResolvedDestination, onSilent: (silence: LinkSilence) => void, sock?: NodeJS.ReadableStream & { destroy(): void }): Promise<Connection> {
  const { methods } = loadKeys(dest);
  let refused: BackupError | undefined;
  const config = connectConfig(dest, (verdict, blob) => {
    if (verdict.kind !== 'trusted') refused = refusalFor(dest, verdict, blob);
  });
  const ssh = new NodeSSH();
  // Our own socket, so that TCP_NODELAY holds from the first packet: with Nagle's algorithm every
  // small SSH message waits for a delayed ACK (here: connect 220 ms -> 50 ms, each exec -70 ms).
  const transport = sock ?? connect({ host: dest.options.hostname, port: dest.options.port, noDelay: true });
  // ssh2 reports socket errors itself; this only keeps one that came first from being unhandled.
  if (!sock) (transport as Socket).on('error', () => {});
  try {
    await ssh.connect({ ...config, sock: transport as never, authHandler: methods } as never);
  } catch (error) {
    ssh.dispose();
    transport.destroy();
    if (refused) throw refused;
    const err = error as Error & { level?: string; code?: string };
    const label = linkLabel(dest);
    if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
      throw new BackupError(ExitCode.notPermitted, `SSH login to ${dest.options.user}@${hostLabel(dest.options.hostname, dest.options.port)} (${dest.destination}) was refused for the key(s) ${dest.identityFiles.join(', ')}; add the public key to the remote user's authorized_keys`);
    }
    if (err.level === 'client-timeout') {
      const seconds = config.readyTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT_SECONDS : config.readyTimeout / 1000;
      // Still connecting: nothing answered at all. Connected: the far end took the connection and went silent.
      if (!sock && (transport as Socket).connecting) {
        throw new BackupError(ExitCode.unavailable, `cannot connect to ${label}: no answer within ${seconds} s (ConnectTimeout); check that the host is up and reachable, then run again`);
      }
      throw silentLinkError(dest.destination, 'connect', { link: label, waited: { kind: 'handshake', seconds } });
    }
    throw new BackupError(ExitCode.unavailable, `cannot connect to ${label}: ${err.message}; check that the host is up and reachable, then run again`);
  }
  // After connecting, a dropped link surfaces as an 'error' on the client: the open channels then
  // close without an exit status, which the caller reports. Unanswered keepalives are one such
  // error (ssh2 then destroys the socket): the caller names the link as silent.
  const keepalive = keepaliveFor(dest.options.serverAliveIntervalSeconds, dest.options.serverAliveCountMax);
  ssh.connection?.on('error', (error: Error & { level?: string }) => {
    if (error.level === 'client-timeout') onSilent({ link: linkLabel(dest), waited: { kind: 'keepalive', keepalive } });
  });
  return { ssh, transport };
}

/** The one line for a connection that ended before or while a remote command (`what`) could start. */
function lostBeforeStart(where: string, what: string, detail: string | undefined): BackupError {
  return new BackupError(ExitCode.unavailable, `the connection to ${where} was lost before ${what} could start${detail ? ` (${detail})` : ''}; check the link to the offsite host, then run again`);
}

/** ssh2 throws instead of calling back when the connection has already ended (a silent link ended it). */
function guardedExec(
  connection: ssh2.Client,
  command: string,
  lost: (detail: string) => BackupError,
  reject: (error: BackupError) => void,
  callback: (error: Error | undefined, channel: ClientChannel) => void,
): void {
  try {
    connection.exec(command, callback);
  } catch (error) {
    reject(lost((error as Error).message));
  }
}

function execOn(ssh: NodeSSH, command: string, timeoutSeconds: number, where: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const connection = ssh.connection;
    const lost = (detail?: string) => lostBeforeStart(where, 'a remote command', detail);
    if (!connection) return reject(lost());
    guardedExec(connection, command, lost, reject, (error, channel) => {
      if (error) return reject(lost(error.message));
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | null = null;
      // The link answers keepalives, yet the command does not end (a hung zfs there): give it up.
      const timer = setTimeout(() => {
        channel.close();
        const shown = command.length > 100 ? `${command.slice(0, 100)}…` : command;
        reject(new BackupError(ExitCode.unavailable, `a remote command on ${where} did not finish within ${timeoutSeconds} s (${shown}); the link answers, so look at zfs there (a hung pool or zfs process), then run again`));
      }, timeoutSeconds * 1000);
      channel.on('data', (c: Buffer) => out.push(c));
      channel.stderr.on('data', (c: Buffer) => err.push(c));
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? null;
      });
      channel.on('close', () => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
    });
  });
}

/** The destination as the stream's OpenSSH client gets it: exactly what this session resolved and uses. */
function streamTarget(dest: ResolvedDestination, keepalive: StreamSshTarget['keepalive']): StreamSshTarget {
  const { options } = dest;
  return {
    destination: dest.destination,
    config: dest.config,
    hostname: options.hostname,
    port: options.port,
    user: options.user,
    identityFiles: dest.identityFiles,
    identitiesOnly: options.identitiesOnly,
    agentSocket: dest.agentSocket,
    userKnownHostsFiles: dest.userKnownHostsFiles,
    globalKnownHostsFiles: dest.globalKnownHostsFiles,
    hostKeyAlias: options.hostKeyAlias,
    keepalive,
    connectTimeoutSeconds: options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ciphers: options.ciphers,
  };
}

/** Ends a connection: a polite disconnect, and the socket destroyed a moment later even if the far end never answers (a silent link). */
function closeConnection(connection: Connection): void {
  connection.ssh.dispose();
  setTimeout(() => connection.transport.destroy(), 1000).unref();
}

export async function openSession(dest: ResolvedDestination, options: SessionOptions = {}): Promise<SshSession> {
  let silence: LinkSilence | undefined;
  const onSilent = (s: LinkSilence) => {
    silence ??= s;
  };
  const byOpenSsh = (options.streamCarrier ?? 'openssh') === 'openssh' && dest.jump === undefined;
  const keepalive = keepaliveFor(dest.options.serverAliveIntervalSeconds, dest.options.serverAliveCountMax);
  // Logs in while this connection is made and the receiver probed; stopped with the session.
  const master = byOpenSsh && options.shareStreamConnection ? startMaster(streamTarget(dest, keepalive)) : undefined;
  let jump: Connection | undefined;
  let sock: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  if (dest.jump) {
    jump = await connectOne(dest.jump, onSilent);
    try {
      sock = await jump.ssh.forwardOut('127.0.0.1', 0, dest.options.hostname, dest.options.port);
    } catch (error) {
      closeConnection(jump);
      if (silence) throw silentLinkError(dest.destination, 'connect', silence);
      throw new BackupError(ExitCode.unavailable, `the jump host ${dest.jump.destination} could not reach ${dest.options.hostname}:${dest.options.port}: ${(error as Error).message}`);
    }
  }
  let main: Connection;
  try {
    main = await connectOne(dest, onSilent, sock);
  } catch (error) {
    if (jump) closeConnection(jump);
    master?.stop();
    throw error;
  }
  const { ssh } = main;
  const timeout = options.execTimeoutSeconds ?? REMOTE_COMMAND_TIMEOUT_SECONDS;
  const openChannel = (command: string): Promise<ClientChannel> =>
      new Promise((resolve, reject) => {
        const connection = ssh.connection;
        const lost = (detail?: string) => lostBeforeStart(linkLabel(dest), 'the remote receive', detail);
        if (!connection) return reject(lost());
        guardedExec(connection, command, lost, reject, (error, channel) => {
          if (error) return reject(lost(error.message));
          // A bulk stream wants full segments (Nagle on); short commands want no delay. Back after it.
          connection.setNoDelay(false);
          channel.once('close', () => connection.setNoDelay(true));
          resolve(channel);
        });
      });
  return {
    exec: (command) => execOn(ssh, command, timeout, linkLabel(dest)),
    openChannel,
    streamCarrier: byOpenSsh ? 'openssh' : 'ssh2',
    openStream: async (command) => {
      if (!byOpenSsh) return { carrier: 'ssh2', channel: await openChannel(command) };
      const link = linkLabel(dest);
      return {
        carrier: 'openssh',
        program: 'ssh',
        target: streamTarget(dest, keepalive),
        command,
        link,
        onSilent: () => onSilent({ link, waited: { kind: 'keepalive', keepalive } }),
        ...(master ? { master } : {}),
      };
    },
    silence: () => silence,
    close() {
      master?.stop();
      closeConnection(main);
      if (jump) closeConnection(jump);
    },
  };
}
