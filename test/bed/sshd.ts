// Test bed: an OpenSSH server on 127.0.0.1 with its own host key, a client key, known_hosts and an ssh_config.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { descendants, hasEnded, pause } from './watch';

export interface TestSshd {
  port: number;
  /** The listening sshd: every session's processes descend from it. */
  pid: number;
  dir: string;
  /** ssh_config with `Host offsite` pointing at this server. */
  config: string;
  knownHosts: string;
  clientKey: string;
  hostKeyLine: string;
  stop(): Promise<void>;
  /** Writes another ssh_config in dir; `extra` lines go into the Host block. */
  writeConfig(name: string, extra?: string[], alias?: string, identity?: string): string;
  /**
   * A new client key whose authorized_keys line makes `serve` its forced command, as an offsite host's
   * administrator writes it: `restrict,command="… serve ARGS"`. Returns the key, an ssh_config using
   * it, and the file serve logs to (--log-file).
   */
  addServeKey(name: string, serveArgs: string[], options?: { user?: string }): ServeKey;
}

export interface ServeKey {
  key: string;
  config: string;
  log: string;
  /** The authorized_keys line as written. */
  line: string;
}

/** The node that runs the CLI under test (Debian's node 18 in the OpenZFS guest), and the bundle. */
export const CLI_NODE = process.env.CZB_CLI_NODE ?? process.execPath;
export const CLI_BUNDLE = fileURLToPath(new URL('../../dist/cyber-zfs-backup.mjs', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function keygen(file: string, type = 'ed25519', passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'czb-test', '-f', file], { stdio: 'ignore' });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${log()}`);
}

/** Starts sshd in the foreground as a child; stop() kills that PID. Logins as root with the client key only. */
export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'czb-sshd-'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = await freePort();
  const sshdConfig = join(dir, 'sshd_config');
  writeFileSync(
    sshdConfig,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const hostKeyLine = `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}`;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hostKeyLine + '\n');
  let stderr = '';
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await waitForPort(port, child, () => stderr);
  const writeConfig = (name: string, extra: string[] = [], alias = 'offsite', identity = clientKey) => {
    const file = join(dir, name);
    writeFileSync(
      file,
      [
        `Host ${alias}`,
        // ssh_config takes the first value given, so the overrides come first.
        ...extra.map((l) => `  ${l}`),
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User root',
        `  IdentityFile ${identity}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '',
      ].join('\n'),
    );
    return file;
  };
  const config = writeConfig('ssh_config');
  const addServeKey = (name: string, serveArgs: string[], options: { user?: string } = {}): ServeKey => {
    const key = join(dir, `serve_${name}`);
    keygen(key);
    const log = join(dir, `serve_${name}.log`);
    writeFileSync(log, '');
    if (options.user !== undefined) {
      // sshd reads authorized_keys as that user, and serve appends to its log here: both must be
      // reachable by it (the directory can be passed through, not listed).
      chmodSync(dir, 0o711);
      chmodSync(join(dir, 'authorized_keys'), 0o644);
      chmodSync(log, 0o666);
    }
    const command = [CLI_NODE, CLI_BUNDLE, 'serve', ...serveArgs, '--log-file', log].join(' ');
    const line = `restrict,command="${command}" ${readFileSync(`${key}.pub`, 'utf8').trim()}`;
    appendFileSync(join(dir, 'authorized_keys'), `${line}\n`);
    return { key, config: writeConfig(`ssh_config.serve_${name}`, options.user === undefined ? [] : [`User ${options.user}`], 'offsite', key), log, line };
  };
  return {
    port,
    pid: child.pid ?? 0,
    dir,
    config,
    knownHosts,
    clientKey,
    hostKeyLine,
    writeConfig,
    addServeKey,
    async stop() {
      // The sessions (sshd's per-connection processes and the commands they run) outlive the listener
      // when it alone is stopped, and they hold its stderr pipe, which would keep this test process
      // alive: each is stopped by its PID, read before the listener goes.
      const sessions = child.pid === undefined ? [] : descendants(child.pid);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, pause(10_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await stopAll(sessions, 10_000);
      child.stderr?.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM to each PID (gone ones are skipped); SIGKILL to those still there after `graceMs`. */
async function stopAll(pids: number[], graceMs: number): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      /* already gone */
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (pids.some((pid) => !hasEnded(pid)) && Date.now() < until) await pause(100);
  for (const pid of pids.filter((p) => !hasEnded(p))) signal(pid, 'SIGKILL');
}
