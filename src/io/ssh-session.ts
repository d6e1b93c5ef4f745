// An SSH session to the resolved destination (node-ssh/ssh2) that only trusts host keys in known_hosts.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import ssh2 from 'ssh2';
import { BackupError, ExitCode } from '../core/exit-codes';
import { knownKeyTypes, sshKeyTypeFromBlob, verifyHostKey, type HostKeyVerdict } from './known-hosts';
import type { ResolvedDestination } from './ssh-destination';

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SshSession {
  /** Runs a short remote command and collects its output. */
  exec(command: string): Promise<ExecResult>;
  /** Opens an exec channel (for streaming); the caller consumes its output. */
  openChannel(command: string): Promise<ClientChannel>;
  close(): void;
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
  return {
    host: options.hostname,
    port: options.port,
    username: options.user,
    readyTimeout: (options.connectTimeoutSeconds ?? 30) * 1000,
    keepaliveInterval: options.serverAliveIntervalSeconds * 1000,
    keepaliveCountMax: options.serverAliveCountMax,
    algorithms: { cipher: [...CIPHERS], ...(serverHostKey.length > 0 ? { serverHostKey } : {}) },
    hostVerifier: (blob: Buffer) => {
      const verdict = verifyHostKey(dest.knownHosts, host, options.port, sshKeyTypeFromBlob(blob), blob);
      onVerdict(verdict, blob);
      return verdict.kind === 'trusted';
    },
  };
}

async function connectOne(dest: ResolvedDestination, sock?: NodeJS.ReadableStream): Promise<NodeSSH> {
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
    if (!sock) (transport as Socket).destroy();
    if (refused) throw refused;
    const err = error as Error & { level?: string; code?: string };
    const label = `${dest.options.user}@${hostLabel(dest.options.hostname, dest.options.port)} (${dest.destination})`;
    if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
      throw new BackupError(ExitCode.notPermitted, `SSH login to ${label} was refused for the key(s) ${dest.identityFiles.join(', ')}; add the public key to the remote user's authorized_keys`);
    }
    throw new BackupError(ExitCode.unavailable, `cannot connect to ${label}: ${err.message}; check that the host is up and reachable, then run again`);
  }
  // After connecting, a dropped link surfaces as an 'error' on the client: the open channels then
  // close without an exit status, which the caller reports. Without a listener it would crash.
  ssh.connection?.on('error', () => {});
  return ssh;
}

function execOn(ssh: NodeSSH, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const connection = ssh.connection;
    if (!connection) return reject(new BackupError(ExitCode.unavailable, 'the SSH connection is closed'));
    connection.exec(command, (error, channel) => {
      if (error) return reject(new BackupError(ExitCode.unavailable, `cannot start a remote command: ${error.message}`));
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | null = null;
      channel.on('data', (c: Buffer) => out.push(c));
      channel.stderr.on('data', (c: Buffer) => err.push(c));
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? null;
      });
      channel.on('close', () => resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    });
  });
}

export async function openSession(dest: ResolvedDestination): Promise<SshSession> {
  let jump: NodeSSH | undefined;
  let sock: NodeJS.ReadableStream | undefined;
  if (dest.jump) {
    jump = await connectOne(dest.jump);
    try {
      sock = await jump.forwardOut('127.0.0.1', 0, dest.options.hostname, dest.options.port);
    } catch (error) {
      jump.dispose();
      throw new BackupError(ExitCode.unavailable, `the jump host ${dest.jump.destination} could not reach ${dest.options.hostname}:${dest.options.port}: ${(error as Error).message}`);
    }
  }
  let ssh: NodeSSH;
  try {
    ssh = await connectOne(dest, sock);
  } catch (error) {
    jump?.dispose();
    throw error;
  }
  return {
    exec: (command) => execOn(ssh, command),
    openChannel: (command) =>
      new Promise((resolve, reject) => {
        const connection = ssh.connection;
        if (!connection) return reject(new BackupError(ExitCode.unavailable, 'the SSH connection is closed'));
        connection.exec(command, (error, channel) => {
          if (error) return reject(new BackupError(ExitCode.unavailable, `cannot start the remote receive: ${error.message}`));
          // A bulk stream wants full segments (Nagle on); short commands want no delay. Back after it.
          connection.setNoDelay(false);
          channel.once('close', () => connection.setNoDelay(true));
          resolve(channel);
        });
      }),
    close() {
      ssh.dispose();
      jump?.dispose();
    },
  };
}
