// One zfs send stream into the loopback sshd by a chosen carrier (ssh2 as the CLI does, ssh2 tuned, or OpenSSH's client), run as its own process; prints JSON with bytes, seconds and this process's CPU.
//
// A prototype for issue 17 (which transport should carry the stream), not wired into src: the
// carriers are measured side by side by bench/throughput.ts. Usage (one JSON argument):
//   node --import tsx bench/stream-child.ts '{"carrier":"openssh-relay","config":…,"destination":"offsite","sendArgs":[…],"receiveArgs":[…]}'
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import ssh2, { type ClientChannel } from 'ssh2';
import { remoteZfsCommand } from '../src/core/remote-command';
import { runCommand } from '../src/io/command';
import { resolveDestination } from '../src/io/ssh-destination';
import { openSession } from '../src/io/ssh-session';
import { sendIntoChannel } from '../src/io/transfer';

export type Carrier =
  /** The CLI's own path: openSession, openChannel, sendIntoChannel. */
  | 'ssh2'
  /** ssh2 with the settings in `tune` (cipher, one write per tick, Nagle). */
  | 'ssh2-tuned'
  /** OpenSSH's client, zfs send's stdout handed to it as its stdin (no byte passes through node). */
  | 'openssh-fd'
  /** OpenSSH's client, node reading zfs send and writing ssh's stdin (counts bytes; where a rate limit would go). */
  | 'openssh-relay';

export interface StreamRequest {
  carrier: Carrier;
  config: string;
  destination: string;
  zfs?: string;
  sendArgs: string[];
  receiveArgs: string[];
  /** A remote command instead of `zfs RECEIVEARGS` (transport-only measurements, e.g. `cat > /dev/null`). */
  remoteCommand?: string;
  /** Extra ssh options for OpenSSH's client, e.g. ["-c", "aes128-gcm@openssh.com"]. */
  sshOptions?: string[];
  /** Prefix for the ssh client's argv (the benchmark's cgroup wrapper). */
  sshPrefix?: string[];
  tune?: { cipher?: string[]; coalesce?: boolean; noDelay?: boolean };
}

export interface StreamReport {
  carrier: Carrier;
  ok: boolean;
  bytes: number;
  /** From the start of this process's work (resolve, connect) to both ends exiting. */
  seconds: number;
  /** Connecting (ssh2: resolve + handshake + channel open); for OpenSSH it is inside streamSeconds. */
  connectSeconds: number;
  streamSeconds: number;
  /** This process's own CPU over the same span (not its children's). */
  cpuSeconds: number;
  sendExit: number | null;
  receiveExit: number | null;
  error?: string;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('close', (code) => resolve(code));
  });
}

function stderrOf(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  return () => text.trim();
}

/** The ssh2 client the CLI makes, but with the tuning under test; the bench's own key and known host key. */
async function tunedChannel(r: StreamRequest, command: string): Promise<{ channel: ClientChannel; close: () => void }> {
  const dest = await resolveDestination(runCommand, r.destination, r.config);
  const o = dest.options;
  const sock = connect({ host: o.hostname, port: o.port, noDelay: true });
  if (r.tune?.coalesce) {
    // ssh2 writes each packet as three socket writes (length, ciphertext, tag): cork the socket for
    // the rest of the tick, so they leave in one writev and one TCP segment run.
    const write = sock.write.bind(sock) as (data: Buffer) => boolean;
    let corked = false;
    (sock as unknown as { write: (data: Buffer) => boolean }).write = (data: Buffer) => {
      if (!corked) {
        corked = true;
        sock.cork();
        process.nextTick(() => {
          corked = false;
          sock.uncork();
        });
      }
      return write(data);
    };
  }
  const client = new ssh2.Client();
  const key = readFileSync(dest.identityFiles.find((f) => { try { readFileSync(f); return true; } catch { return false; } }) as string);
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({
      sock,
      username: o.user,
      privateKey: key,
      // The bench's own loopback server; the CLI checks known_hosts (src/io/known-hosts.ts).
      hostVerifier: () => true,
      algorithms: { cipher: (r.tune?.cipher ?? ['aes128-gcm@openssh.com']) as never },
    });
  });
  const channel = await new Promise<ClientChannel>((resolve, reject) => client.exec(command, (e, ch) => (e ? reject(e) : resolve(ch))));
  sock.setNoDelay(r.tune?.noDelay ?? false);
  return { channel, close: () => client.end() };
}

async function run(r: StreamRequest): Promise<StreamReport> {
  const zfs = r.zfs ?? 'zfs';
  const command = r.remoteCommand ?? remoteZfsCommand(r.receiveArgs, false);
  const t0 = now();
  const c0 = cpu();
  const report = (partial: Omit<StreamReport, 'carrier' | 'seconds' | 'cpuSeconds'>): StreamReport => ({ carrier: r.carrier, seconds: now() - t0, cpuSeconds: cpu() - c0, ...partial });

  if (r.carrier === 'ssh2' || r.carrier === 'ssh2-tuned') {
    let channel: ClientChannel;
    let close: () => void;
    if (r.carrier === 'ssh2') {
      const session = await openSession(await resolveDestination(runCommand, r.destination, r.config));
      channel = await session.openChannel(command);
      close = () => session.close();
    } else {
      ({ channel, close } = await tunedChannel(r, command));
    }
    const connected = now();
    try {
      const result = await sendIntoChannel(channel, { zfsProgram: zfs, sendArgs: r.sendArgs });
      const ok = result.sendExitCode === 0 && result.receiveExitCode === 0;
      return report({
        ok,
        bytes: result.bytes,
        connectSeconds: connected - t0,
        streamSeconds: now() - connected,
        sendExit: result.sendExitCode,
        receiveExit: result.receiveExitCode,
        ...(ok ? {} : { error: `${result.sendStderr.trim()} ${result.receiveStderr.trim()}`.trim() }),
      });
    } finally {
      close();
    }
  }

  // OpenSSH's client: the same config file, host keys only from known_hosts, no prompts.
  const sshArgv = [...(r.sshPrefix ?? []), 'ssh', '-F', r.config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', ...(r.sshOptions ?? []), r.destination, command];
  const send = spawn(zfs, r.sendArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const sendErr = stderrOf(send);
  let bytes = 0;
  let ssh: ChildProcess;
  if (r.carrier === 'openssh-fd') {
    ssh = spawn(sshArgv[0] as string, sshArgv.slice(1), { stdio: [send.stdout, 'pipe', 'pipe'] });
    // Our copy of the pipe's read end is closed: only ssh reads it.
    send.stdout?.destroy();
  } else {
    ssh = spawn(sshArgv[0] as string, sshArgv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    send.stdout?.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    send.stdout?.pipe(ssh.stdin!);
    ssh.stdin?.on('error', () => send.kill('SIGTERM'));
  }
  ssh.stdout?.resume();
  const sshErr = stderrOf(ssh);
  const [sendExit, receiveExit] = await Promise.all([exited(send), exited(ssh)]);
  const ok = sendExit === 0 && receiveExit === 0;
  return report({ ok, bytes, connectSeconds: 0, streamSeconds: now() - t0, sendExit, receiveExit, ...(ok ? {} : { error: `${sendErr()} ${sshErr()}`.trim() }) });
}

if (process.argv[1]?.endsWith('stream-child.ts')) {
  const request = JSON.parse(process.argv[2] ?? '{}') as StreamRequest;
  run(request).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ carrier: request.carrier, ok: false, error: String((e as Error).stack ?? e) }) + '\n');
      process.exitCode = 1;
    },
  );
}
