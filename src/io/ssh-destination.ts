// Resolves an SSH destination with OpenSSH's own resolver (`ssh -G`) and loads its keys and known_hosts.
import { readFileSync, statSync } from 'node:fs';
import { homedir, hostname as osHostname, userInfo } from 'node:os';
import { BackupError, ExitCode } from '../core/exit-codes';
import { expandSshTokens, parseProxyJump, parseSshG, type SshOptions } from '../core/ssh-options';
import type { CommandRunner } from './command';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts';

export interface ResolvedDestination {
  /** The alias or host name the administrator gave. */
  destination: string;
  options: SshOptions;
  /** Identity files in OpenSSH's order, with tokens expanded. */
  identityFiles: string[];
  knownHosts: KnownHostEntry[];
  knownHostsFiles: string[];
  /** The same files, the user's and the global ones apart (for OpenSSH's client, which carries the stream). */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** The ssh config file it was resolved with (`-F`), or undefined for ssh's own default files. */
  config: string | undefined;
  /** The ssh-agent socket to use (IdentityAgent, else $SSH_AUTH_SOCK), or undefined for none. */
  agentSocket: string | undefined;
  /** One hop, resolved the same way, when ProxyJump is set. */
  jump?: ResolvedDestination;
}

function sshGArgs(destination: string, config: string | undefined, extra: string[] = []): string[] {
  return ['-G', ...(config === undefined ? [] : ['-F', config]), ...extra, '--', destination];
}

function expandAll(paths: readonly string[], options: SshOptions, destination: string): string[] {
  const user = userInfo().username;
  const ctx = { home: homedir(), localUser: user, remoteUser: options.user, host: options.hostname, originalHost: destination, port: options.port, localHostname: osHostname().split('.')[0] ?? '' };
  return paths.map((p) => expandSshTokens(p, ctx));
}

/** IdentityAgent as OpenSSH reads it: none, SSH_AUTH_SOCK or $VAR from the environment, or a path. */
function agentSocket(identityAgent: string | undefined, options: SshOptions, destination: string): string | undefined {
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') return process.env.SSH_AUTH_SOCK || undefined;
  if (identityAgent.toLowerCase() === 'none') return undefined;
  const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(identityAgent);
  if (variable) return process.env[variable[1] as string] || undefined;
  return expandAll([identityAgent], options, destination)[0];
}

function readKnownHosts(files: readonly string[]): { entries: KnownHostEntry[]; read: string[]; malformed: string[] } {
  const entries: KnownHostEntry[] = [];
  const read: string[] = [];
  const malformed: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      throw new BackupError(ExitCode.noInput, `cannot read known_hosts file ${file}: ${(error as Error).message}; fix its permissions`);
    }
    read.push(file);
    const parsed = parseKnownHosts(text, file);
    entries.push(...parsed.entries);
    for (const m of parsed.malformed) malformed.push(`${m.source}:${m.line}: ${m.reason}`);
  }
  return { entries, read, malformed };
}

export async function resolveDestination(
  runner: CommandRunner,
  destination: string,
  config: string | undefined,
  extra: string[] = [],
  warn: (message: string) => void = () => {},
): Promise<ResolvedDestination> {
  if (config !== undefined) {
    try {
      statSync(config);
      readFileSync(config);
    } catch (error) {
      throw new BackupError(ExitCode.noInput, `cannot read the ssh config ${config}: ${(error as Error).message}; check --ssh-config`);
    }
  }
  // BatchMode=no: under BatchMode yes, OpenSSH fills an unset ServerAliveInterval with 300 (a
  // 20-minute wait on a silent link), which ssh -G prints as it would an explicit 300. Without it,
  // unset prints 0 and the tool's own keepalive applies; nothing else ssh -G prints changes, and
  // neither connection reads BatchMode (the stream's ssh sets its own). One look instead of two.
  const result = await runner('ssh', sshGArgs(destination, config, [...extra, '-o', 'BatchMode=no']));
  if (result.spawnError !== undefined) {
    throw new BackupError(ExitCode.unavailable, `cannot run ssh to resolve ${destination}: ${result.spawnError}; install openssh-client`);
  }
  if (result.exitCode !== 0) {
    const line = result.stderr.split('\n').map((l) => l.trim()).filter(Boolean).join('; ') || `ssh -G exited ${result.exitCode}`;
    throw new BackupError(ExitCode.usage, `the ssh config${config ? ' ' + config : ''} is not usable for ${destination}: ${line}; fix the file (check it with "ssh -G${config ? ' -F ' + config : ''} ${destination}")`);
  }
  const options = parseSshG(result.stdout);
  if (options.certificateFiles.length > 0) {
    throw new BackupError(ExitCode.usage, `${destination} uses CertificateFile ${options.certificateFiles.join(', ')}, which cyber-zfs-backup cannot present (ssh2 has no user certificates); use a plain key for this host`);
  }
  if (options.proxyCommand !== undefined) {
    throw new BackupError(ExitCode.usage, `${destination} uses ProxyCommand ${options.proxyCommand}, which cyber-zfs-backup does not run (it starts no shell); use ProxyJump (one hop) in the ssh config instead`);
  }
  if (options.pkcs11Provider !== undefined) {
    throw new BackupError(ExitCode.usage, `${destination} uses PKCS11Provider ${options.pkcs11Provider}, which cyber-zfs-backup cannot use (ssh2 has no PKCS#11); use a key file (IdentityFile) or an ssh-agent holding the token's key (IdentityAgent)`);
  }
  const userKnownHostsFiles = expandAll(options.userKnownHostsFiles, options, destination);
  const globalKnownHostsFiles = expandAll(options.globalKnownHostsFiles, options, destination);
  const knownHostsFiles = [...userKnownHostsFiles, ...globalKnownHostsFiles];
  const known = readKnownHosts(knownHostsFiles);
  for (const m of known.malformed) warn(`ignoring a malformed known_hosts line: ${m}`);
  const resolved: ResolvedDestination = {
    destination,
    options,
    identityFiles: expandAll(options.identityFiles, options, destination),
    knownHosts: known.entries,
    knownHostsFiles,
    userKnownHostsFiles,
    globalKnownHostsFiles,
    config,
    agentSocket: agentSocket(options.identityAgent, options, destination),
  };
  if (options.proxyJump !== undefined) {
    const hops = parseProxyJump(options.proxyJump);
    if (hops.length > 1) throw new BackupError(ExitCode.usage, `ProxyJump ${options.proxyJump} for ${destination} has ${hops.length} hops; cyber-zfs-backup follows one hop`);
    const hop = hops[0];
    if (hop) {
      const hopExtra = [...(hop.user ? ['-l', hop.user] : []), ...(hop.port ? ['-p', String(hop.port)] : []), '-o', 'ProxyJump=none'];
      resolved.jump = await resolveDestination(runner, hop.host, config, hopExtra, warn);
    }
  }
  return resolved;
}
