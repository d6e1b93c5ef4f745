// Parsers for OpenSSH's resolved client options (`ssh -G` output), its path tokens, and ProxyJump values.

/** The options of `ssh -G` that the push needs, already typed. */
export interface SshOptions {
  hostname: string;
  port: number;
  user: string;
  /** In order, as printed; `~` and `%` tokens still unexpanded (see expandSshTokens). `none` is dropped. */
  identityFiles: string[];
  /** `ssh -G` prints these already expanded. `none` gives an empty list. */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: 'yes' | 'no' | 'accept-new' | 'ask' | 'off';
  /** `none` (and 0, which OpenSSH also treats as "no timeout") give undefined. */
  connectTimeoutSeconds: number | undefined;
  /** 0 = off. */
  serverAliveIntervalSeconds: number;
  serverAliveCountMax: number;
  /** `none` or absent give undefined. */
  proxyJump: string | undefined;
  /** Tokens still unexpanded, `none` dropped. */
  certificateFiles: string[];
  hostKeyAlias: string | undefined;
  identitiesOnly: boolean;
  /** As printed (`none` and `SSH_AUTH_SOCK` kept); undefined when not set. */
  identityAgent: string | undefined;
  /** The ciphers OpenSSH would offer, in its order (the config's, or its defaults); empty if ssh -G printed none. */
  ciphers: string[];
  /** Set only when configured; the push refuses both (no shell, no tokens through ssh2). */
  proxyCommand: string | undefined;
  pkcs11Provider: string | undefined;
}

/** What is wrong with `ssh -G` output or a ProxyJump value. */
export class SshOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshOptionsError';
  }
}

/** One hop of a ProxyJump chain. Absent user/port means "whatever ssh config says for that host". */
export interface ProxyJumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** Everything expandSshTokens needs to know about the connection. */
export interface SshTokenContext {
  home: string;
  localUser: string;
  remoteUser: string;
  host: string;
  originalHost: string;
  port: number;
  localHostname: string;
}

/** Split `ssh -G` output into keyword -> values (one value per line the keyword appeared on). */
function collectLines(stdout: string): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  for (const rawLine of stdout.split('\n')) {
    const line = rawLine.replace(/\r$/, '').trim();
    if (line.length === 0) continue;
    const match = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (match === null) continue;
    // OpenSSH 9.x prints one keyword in mixed case (canonicalizePermittedcnames): fold them all.
    const keyword = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').trim();
    const list = lines.get(keyword);
    if (list === undefined) lines.set(keyword, [value]);
    else list.push(value);
  }
  return lines;
}

function first(lines: Map<string, string[]>, keyword: string): string | undefined {
  return lines.get(keyword)?.[0];
}

function required(lines: Map<string, string[]>, keyword: string): string {
  const value = first(lines, keyword);
  if (value === undefined || value.length === 0) {
    throw new SshOptionsError(`ssh -G output has no "${keyword}" line; is this the output of "ssh -G DEST"?`);
  }
  return value;
}

function parseNonNegativeInteger(keyword: string, value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new SshOptionsError(`ssh -G printed "${keyword} ${value}"; expected a whole number`);
  }
  return Number(value);
}

function parsePortValue(what: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new SshOptionsError(`${what} "${value}" is not a port number`);
  const port = Number(value);
  if (port < 1 || port > 65535) throw new SshOptionsError(`${what} ${value} is outside 1-65535`);
  return port;
}

function parseYesNo(keyword: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  switch (value.toLowerCase()) {
    case 'yes':
    case 'true':
      return true;
    case 'no':
    case 'false':
      return false;
    default:
      throw new SshOptionsError(`ssh -G printed "${keyword} ${value}"; expected yes or no`);
  }
}

function parseStrictHostKeyChecking(value: string | undefined): SshOptions['strictHostKeyChecking'] {
  if (value === undefined) return 'ask';
  switch (value.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'no':
    case 'false':
      return 'no';
    case 'off':
      return 'off';
    case 'ask':
      return 'ask';
    case 'accept-new':
      return 'accept-new';
    default:
      throw new SshOptionsError(`ssh -G printed "stricthostkeychecking ${value}", which is not a known value`);
  }
}

/** Paths from keywords that may repeat, one path per line; `none` entries dropped. */
function pathLines(lines: Map<string, string[]>, keyword: string): string[] {
  return (lines.get(keyword) ?? []).filter((v) => v.length > 0 && v.toLowerCase() !== 'none');
}

/**
 * Space-separated path lists (userknownhostsfile, globalknownhostsfile). Note: `ssh -G` prints paths unquoted, so a path that contains a space
 * cannot be told apart from two paths; we split on white space like every other reader does.
 */
function pathListLines(lines: Map<string, string[]>, keyword: string): string[] {
  const paths: string[] = [];
  for (const value of lines.get(keyword) ?? []) {
    for (const path of value.split(/\s+/)) {
      if (path.length > 0 && path.toLowerCase() !== 'none') paths.push(path);
    }
  }
  return paths;
}

function noneToUndefined(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.toLowerCase() === 'none') return undefined;
  return value;
}

/** Parse the stdout of `ssh -G [-F file] DEST`. Throws SshOptionsError when it cannot be used. */
export function parseSshG(stdout: string): SshOptions {
  const lines = collectLines(stdout);
  const hostname = required(lines, 'hostname');
  const user = required(lines, 'user');
  const port = parsePortValue('ssh -G "port"', required(lines, 'port'));

  const connectTimeoutRaw = noneToUndefined(first(lines, 'connecttimeout'));
  let connectTimeoutSeconds: number | undefined;
  if (connectTimeoutRaw !== undefined) {
    const seconds = parseNonNegativeInteger('connecttimeout', connectTimeoutRaw);
    connectTimeoutSeconds = seconds === 0 ? undefined : seconds;
  }

  const serverAliveIntervalRaw = first(lines, 'serveraliveinterval');
  const serverAliveCountMaxRaw = first(lines, 'serveralivecountmax');

  return {
    hostname,
    port,
    user,
    identityFiles: pathLines(lines, 'identityfile'),
    userKnownHostsFiles: pathListLines(lines, 'userknownhostsfile'),
    globalKnownHostsFiles: pathListLines(lines, 'globalknownhostsfile'),
    strictHostKeyChecking: parseStrictHostKeyChecking(first(lines, 'stricthostkeychecking')),
    connectTimeoutSeconds,
    serverAliveIntervalSeconds:
      serverAliveIntervalRaw === undefined ? 0 : parseNonNegativeInteger('serveraliveinterval', serverAliveIntervalRaw),
    serverAliveCountMax:
      serverAliveCountMaxRaw === undefined ? 3 : parseNonNegativeInteger('serveralivecountmax', serverAliveCountMaxRaw),
    proxyJump: noneToUndefined(first(lines, 'proxyjump')),
    certificateFiles: pathLines(lines, 'certificatefile'),
    hostKeyAlias: noneToUndefined(first(lines, 'hostkeyalias')),
    identitiesOnly: parseYesNo('identitiesonly', first(lines, 'identitiesonly'), false),
    identityAgent: first(lines, 'identityagent') || undefined,
    ciphers: (first(lines, 'ciphers') ?? '').split(',').map((c) => c.trim()).filter((c) => c.length > 0),
    proxyCommand: noneToUndefined(first(lines, 'proxycommand')),
    pkcs11Provider: noneToUndefined(first(lines, 'pkcs11provider')),
  };
}

/**
 * Expand what OpenSSH expands in IdentityFile/CertificateFile: a leading `~/` or bare `~` (home), then
 * %d home, %u local user, %r remote user, %h host, %n original host, %p port, %l local hostname,
 * %L local hostname up to the first dot, %% a literal %. Any other %x (e.g. %C, %i, %k) is left as is.
 */
export function expandSshTokens(path: string, ctx: SshTokenContext): string {
  let rest = path;
  let prefix = '';
  if (rest === '~') {
    rest = '';
    prefix = ctx.home;
  } else if (rest.startsWith('~/')) {
    rest = rest.slice(1);
    prefix = ctx.home.endsWith('/') ? ctx.home.slice(0, -1) : ctx.home;
  }
  const shortHostname = ctx.localHostname.split('.')[0] ?? ctx.localHostname;
  const tokens: Record<string, string> = {
    '%': '%',
    d: ctx.home,
    u: ctx.localUser,
    r: ctx.remoteUser,
    h: ctx.host,
    n: ctx.originalHost,
    p: String(ctx.port),
    l: ctx.localHostname,
    L: shortHostname,
  };
  const expanded = rest.replace(/%(.?)/gs, (whole, letter: string) => {
    const value = Object.prototype.hasOwnProperty.call(tokens, letter) ? tokens[letter] : undefined;
    return value ?? whole;
  });
  return prefix + expanded;
}

function parseHostPort(text: string, what: string): { host: string; port?: number } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new SshOptionsError(`${what}: "[" without a closing "]"`);
    const host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (host.length === 0) throw new SshOptionsError(`${what}: empty host inside [ ]`);
    if (after.length === 0) return { host };
    if (!after.startsWith(':')) throw new SshOptionsError(`${what}: unexpected "${after}" after "]"`);
    return { host, port: parsePortValue(what, after.slice(1)) };
  }
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host = '', portText = ''] = text.split(':');
    if (host.length === 0) throw new SshOptionsError(`${what}: empty host`);
    return { host, port: parsePortValue(what, portText) };
  }
  // No colon, or a bare IPv6 address (several colons, no brackets): all host, no port.
  if (text.length === 0) throw new SshOptionsError(`${what}: empty host`);
  return { host: text };
}

function parseHop(raw: string): ProxyJumpHop {
  const what = `ProxyJump hop "${raw}"`;
  let text = raw;
  const isUri = /^ssh:\/\//i.test(text);
  if (isUri) {
    text = text.slice('ssh://'.length);
    if (text.endsWith('/')) text = text.slice(0, -1);
    if (text.includes('/')) throw new SshOptionsError(`${what}: an ssh:// URI may not have a path`);
  }
  let user: string | undefined;
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    user = text.slice(0, at);
    text = text.slice(at + 1);
    if (isUri) {
      // ssh:// URIs may carry ;parameters after the user, and the user is percent-encoded.
      const semicolon = user.indexOf(';');
      if (semicolon >= 0) user = user.slice(0, semicolon);
      try {
        user = decodeURIComponent(user);
      } catch {
        throw new SshOptionsError(`${what}: bad percent-encoding in the user name`);
      }
    }
    if (user.length === 0) throw new SshOptionsError(`${what}: empty user name before "@"`);
  }
  const { host, port } = parseHostPort(text, what);
  const hop: ProxyJumpHop = { host };
  if (user !== undefined) hop.user = user;
  if (port !== undefined) hop.port = port;
  return hop;
}

/** Split a ProxyJump value into hops, first hop first. `none` or empty gives []. */
export function parseProxyJump(value: string): ProxyJumpHop[] {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map((part) => {
    const hop = part.trim();
    if (hop.length === 0) throw new SshOptionsError(`ProxyJump "${value}" has an empty hop`);
    return parseHop(hop);
  });
}
