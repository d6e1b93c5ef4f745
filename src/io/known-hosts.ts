// OpenSSH known_hosts parsing and host key verification (ssh2 trusts any key unless we check it here).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  marker: 'none' | 'revoked' | 'cert-authority';
  /** The raw host pattern field: comma-separated patterns, or one hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  keyBase64: string;
  /** Where the line came from (usually the file path), for messages. */
  source: string;
  /** 1-based line number in source. */
  line: number;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  malformed: Array<{ source: string; line: number; reason: string }>;
}

export type HostKeyVerdict =
  | { kind: 'trusted'; entry: KnownHostEntry }
  | { kind: 'revoked'; entry: KnownHostEntry }
  /** The host is known, but no entry holds the presented key (same or other type). */
  | { kind: 'changed'; knownTypes: string[]; entries: KnownHostEntry[] }
  | { kind: 'unknown' }
  /** Only @cert-authority lines match; we cannot verify host certificates. */
  | { kind: 'cert-authority-only'; entries: KnownHostEntry[] };

const HASH_MAGIC = '|1|';
const SHA1_LENGTH = 20;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode strict base64 (what OpenSSH writes), or undefined when it is not valid base64. */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** The type string inside an SSH wire-format public key blob (uint32 length, then the string). */
export function sshKeyTypeFromBlob(blob: Buffer): string {
  if (blob.length < 4) throw new Error(`SSH key blob of ${blob.length} bytes is too short to hold a key type`);
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 256 || 4 + length > blob.length) {
    throw new Error(`SSH key blob says its key type is ${length} bytes long, but the blob has ${blob.length} bytes`);
  }
  const type = blob.subarray(4, 4 + length).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('SSH key blob has a key type that is not printable ASCII');
  return type;
}

/** Why a hashed host field `|1|salt|hash` is unusable, or undefined when it is fine. */
function hashedFieldProblem(field: string): string | undefined {
  if (!field.startsWith(HASH_MAGIC)) return `hashed host field "${field}" does not start with ${HASH_MAGIC}`;
  const parts = field.slice(HASH_MAGIC.length).split('|');
  if (parts.length !== 2) return 'hashed host field is not |1|salt|hash';
  const [salt = '', hash = ''] = parts;
  if (decodeBase64(salt)?.length !== SHA1_LENGTH) return 'hashed host field has a bad salt (not 20 bytes of base64)';
  if (decodeBase64(hash)?.length !== SHA1_LENGTH) return 'hashed host field has a bad hash (not 20 bytes of base64)';
  return undefined;
}

/** Parse known_hosts text. Comments and blank lines are skipped; unusable lines land in `malformed`. */
export function parseKnownHosts(text: string, source: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const malformed: ParsedKnownHosts['malformed'] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.replace(/\r$/, '').trim();
    if (trimmed.length === 0 || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'] = 'none';
    if (fields[0]?.startsWith('@')) {
      const word = fields.shift() ?? '';
      if (word === '@revoked') marker = 'revoked';
      else if (word === '@cert-authority') marker = 'cert-authority';
      else {
        malformed.push({ source, line, reason: `unknown marker "${word}"` });
        return;
      }
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) {
      malformed.push({ source, line, reason: 'too few fields (expected [marker] hosts keytype base64-key [comment])' });
      return;
    }
    if (hosts.startsWith('|')) {
      const problem = hashedFieldProblem(hosts);
      if (problem !== undefined) {
        malformed.push({ source, line, reason: problem });
        return;
      }
    }
    const blob = decodeBase64(keyBase64);
    if (blob === undefined) {
      malformed.push({ source, line, reason: 'the key is not valid base64' });
      return;
    }
    let blobType: string;
    try {
      blobType = sshKeyTypeFromBlob(blob);
    } catch (error) {
      malformed.push({ source, line, reason: `the key is not an SSH public key (${(error as Error).message})` });
      return;
    }
    if (blobType !== keyType) {
      malformed.push({ source, line, reason: `the line says key type "${keyType}" but the key is "${blobType}"` });
      return;
    }
    entries.push({ marker, hosts, keyType, keyBase64, source, line });
  });
  return { entries, malformed };
}

/** The name OpenSSH looks up: `host` on port 22, otherwise `[host]:port`. Lower-case, as ssh does. */
function lookupName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Shell-style wildcard match (`*` any run, `?` one character), whole string, no backtracking blow-up. */
function wildcardMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function hashedMatches(field: string, name: string): boolean {
  const [salt = '', hash = ''] = field.slice(HASH_MAGIC.length).split('|');
  const saltBytes = decodeBase64(salt);
  const hashBytes = decodeBase64(hash);
  if (saltBytes === undefined || hashBytes?.length !== SHA1_LENGTH) return false;
  const computed = createHmac('sha1', saltBytes).update(name).digest();
  return timingSafeEqual(computed, hashBytes);
}

/** Whether the entry's host field names `host` on `port` (negated patterns exclude the entry). */
export function hostMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = lookupName(host, port);
  if (entry.hosts.startsWith('|')) return hashedMatches(entry.hosts, name);
  let positive = false;
  for (const rawPattern of entry.hosts.split(',')) {
    const negated = rawPattern.startsWith('!');
    const pattern = (negated ? rawPattern.slice(1) : rawPattern).toLowerCase();
    if (pattern.length === 0) continue;
    if (wildcardMatch(name, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

function sameKey(entry: KnownHostEntry, keyBlob: Buffer): boolean {
  const blob = decodeBase64(entry.keyBase64);
  return blob !== undefined && blob.equals(keyBlob);
}

function plainKeyTypes(entries: KnownHostEntry[]): string[] {
  return [...new Set(entries.filter((e) => e.marker === 'none').map((e) => e.keyType))];
}

/** Key types of the non-revoked, non-CA entries for this host, de-duplicated, in file order. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  return plainKeyTypes(entries.filter((e) => hostMatches(e, host, port)));
}

/**
 * Decide whether the presented host key is trusted. `host` is the HostKeyAlias if set, else the
 * resolved hostname. The decision is on the key blob; `keyType` is informational only (the signature
 * algorithm ssh2 negotiated, e.g. rsa-sha2-512, need not equal the `ssh-rsa` written in the file).
 */
export function verifyHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyVerdict {
  const matching = entries.filter((e) => hostMatches(e, host, port));
  const revoked = matching.find((e) => e.marker === 'revoked' && sameKey(e, keyBlob));
  if (revoked !== undefined) return { kind: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === 'none');
  const trusted = plain.find((e) => sameKey(e, keyBlob));
  if (trusted !== undefined) return { kind: 'trusted', entry: trusted };
  if (plain.length > 0) return { kind: 'changed', knownTypes: plainKeyTypes(plain), entries: plain };
  const authorities = matching.filter((e) => e.marker === 'cert-authority');
  if (authorities.length > 0) return { kind: 'cert-authority-only', entries: authorities };
  return { kind: 'unknown' };
}
