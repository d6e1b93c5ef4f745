// Table tests for known_hosts parsing, host pattern matching (plain, wildcard, negated, hashed) and key verdicts.
import test from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hostMatches,
  knownKeyTypes,
  parseKnownHosts,
  sshKeyTypeFromBlob,
  verifyHostKey,
  type HostKeyVerdict,
  type KnownHostEntry,
} from '../../src/io/known-hosts';

// Real public keys made once with ssh-keygen (OpenSSH 9.2p1): -t ed25519, -t rsa -b 2048, -t ecdsa.
const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIDQoP9WRHLJfmIwF6W9kQ2gwvSKoBQWqcfBpbM0g5wPo';
const ED2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIAVbC0WsrZWeAUw99Ivt8zOQp+ex/8BDQPW764vzGph8';
const RSA =
  'AAAAB3NzaC1yc2EAAAADAQABAAABAQC+pTh+DQxy00NsIKQgjuSSdqXt6qwTwwcwbyYvX7WkSzs2B80FV4t+rRdfZgDb2nsjDaZcrenTZH4Uat0fL1t3iiGex5a6dYf/t11nOO13sr4N2Ax7NshyPTJk10WwBfJ5XM8S66RTURGBIxN/0dCuSEA0zC9d2xYYTCW+iiGKt/nWoAVJVwGWJPl4ALqYRbcg1fLZ5sSqXWe3A2FA7+ZOToLMUZU7Qjd6Ht767g7yc1NYNQVbp0RqTHEHbpPOUa3YE6yNzM3g7nziJiqHyix3viVHOry6tx7xqJL/f+3QWNJ5u+M/Fnw9zSk7KjQBLOw0idY/9GPHG0p/MuXimq/r';
const EC =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHspqzQXnQN+ADch9gMJPjvhTtDdMCh9Aq48GX8r2y7sbmBJnSyNOk2+CE1IiaryzdHnXq1VpYwakcxFtOSAeNw=';

// `ssh-keygen -H -f kh` on a file holding "backup.example.org ssh-ed25519 ED" and
// "[backup.example.org]:2222 ssh-rsa RSA", and on one holding "Foo.Example.org ssh-ed25519 ED2"
// (ssh-keygen lower-cases the name before hashing it).
const HASHED_22 = `|1|serptVZ7hSuAoStaMGmHVy0BllY=|5wLzS21Fe/ldTRlxlNsgWNn1z/s= ssh-ed25519 ${ED}`;
const HASHED_2222 = `|1|ece5P2djkaWQijFxqPuQoSl5qmM=|jRhHDlTnb0sSzB22v6vLbOwhMp4= ssh-rsa ${RSA}`;
const HASHED_MIXED_CASE = `|1|IcX+wDLjoq0mAS81lVDmik28mOk=|/rPtDZw8TJdwMSwGrry32bv8EIU= ssh-ed25519 ${ED2}`;

const blob = (base64: string): Buffer => Buffer.from(base64, 'base64');

/** The single entry parsed from one line (fails loudly if the line is not one good entry). */
function entryOf(line: string): KnownHostEntry {
  const parsed = parseKnownHosts(line, 'fixture');
  if (parsed.entries.length !== 1 || parsed.malformed.length !== 0) {
    throw new Error(`fixture line did not parse to one entry: ${JSON.stringify(parsed)}`);
  }
  return parsed.entries[0] as KnownHostEntry;
}

test('parseKnownHosts: fields, markers, comments, blank lines and line numbers', (t) => {
  const text = [
    '# a comment',
    '',
    `backup.example.org,10.0.0.5 ssh-ed25519 ${ED} root@backup`,
    '   ',
    `@revoked * ssh-ed25519 ${ED2}`,
    `@cert-authority *.example.org ecdsa-sha2-nistp256 ${EC} my ca`,
    `\t[backup.example.org]:2222\tssh-rsa\t${RSA}\r`,
    '  # indented comment',
  ].join('\n');
  t.deepEqual(parseKnownHosts(text, '/root/.ssh/known_hosts'), {
    entries: [
      { marker: 'none', hosts: 'backup.example.org,10.0.0.5', keyType: 'ssh-ed25519', keyBase64: ED, source: '/root/.ssh/known_hosts', line: 3 },
      { marker: 'revoked', hosts: '*', keyType: 'ssh-ed25519', keyBase64: ED2, source: '/root/.ssh/known_hosts', line: 5 },
      { marker: 'cert-authority', hosts: '*.example.org', keyType: 'ecdsa-sha2-nistp256', keyBase64: EC, source: '/root/.ssh/known_hosts', line: 6 },
      { marker: 'none', hosts: '[backup.example.org]:2222', keyType: 'ssh-rsa', keyBase64: RSA, source: '/root/.ssh/known_hosts', line: 7 },
    ],
    malformed: [],
  });
});

const malformedRows: Array<{ name: string; line: string; reason: RegExp }> = [
  { name: 'host only', line: 'backup.example.org', reason: /too few fields/ },
  { name: 'no key', line: 'backup.example.org ssh-ed25519', reason: /too few fields/ },
  { name: 'marker and too few fields', line: `@revoked ssh-ed25519 ${ED}`, reason: /too few fields/ },
  { name: 'unknown marker', line: `@trusted h ssh-ed25519 ${ED}`, reason: /unknown marker "@trusted"/ },
  { name: 'bad base64 characters', line: 'h ssh-ed25519 AAAA$$$$', reason: /not valid base64/ },
  { name: 'bad base64 length', line: `h ssh-ed25519 ${ED}A`, reason: /not valid base64/ },
  { name: 'base64 that is no SSH key', line: 'h ssh-ed25519 AAAA', reason: /not an SSH public key/ },
  { name: 'key type differs from the key', line: `h ssh-rsa ${ED}`, reason: /says key type "ssh-rsa" but the key is "ssh-ed25519"/ },
  { name: 'old SSH1 RSA line', line: 'h 1024 35 1234567', reason: /not valid base64|not an SSH public key/ },
  { name: 'hashed, wrong magic', line: `|2|serptVZ7hSuAoStaMGmHVy0BllY=|5wLzS21Fe/ldTRlxlNsgWNn1z/s= ssh-ed25519 ${ED}`, reason: /does not start with \|1\|/ },
  { name: 'hashed, missing hash', line: `|1|serptVZ7hSuAoStaMGmHVy0BllY= ssh-ed25519 ${ED}`, reason: /not \|1\|salt\|hash/ },
  { name: 'hashed, short salt', line: `|1|AAAA|5wLzS21Fe/ldTRlxlNsgWNn1z/s= ssh-ed25519 ${ED}`, reason: /bad salt/ },
  { name: 'hashed, bad hash', line: `|1|serptVZ7hSuAoStaMGmHVy0BllY=|!!!! ssh-ed25519 ${ED}`, reason: /bad hash/ },
];

for (const row of malformedRows) {
  test(`parseKnownHosts malformed: ${row.name}`, (t) => {
    const text = `# header\n${row.line}\ngood ssh-ed25519 ${ED}\n`;
    const parsed = parseKnownHosts(text, 'kh');
    t.is(parsed.malformed.length, 1);
    t.is(parsed.malformed[0]?.line, 2);
    t.is(parsed.malformed[0]?.source, 'kh');
    t.regex(parsed.malformed[0]?.reason ?? '', row.reason);
    t.deepEqual(parsed.entries.map((e) => [e.hosts, e.line]), [['good', 3]]);
  });
}

const matchRows: Array<{ hosts: string; host: string; port: number; expected: boolean }> = [
  // plain names, case-insensitive
  { hosts: 'backup.example.org', host: 'backup.example.org', port: 22, expected: true },
  { hosts: 'backup.example.org', host: 'BACKUP.Example.org', port: 22, expected: true },
  { hosts: 'BACKUP.EXAMPLE.ORG', host: 'backup.example.org', port: 22, expected: true },
  { hosts: 'backup.example.org', host: 'backup.example', port: 22, expected: false },
  { hosts: 'backup.example.org', host: 'xbackup.example.org', port: 22, expected: false },
  { hosts: 'a,backup.example.org,10.0.0.5', host: '10.0.0.5', port: 22, expected: true },
  { hosts: 'a,,b', host: 'b', port: 22, expected: true },
  // ports: plain names only on 22, [host]:port otherwise
  { hosts: 'backup.example.org', host: 'backup.example.org', port: 2222, expected: false },
  { hosts: '[backup.example.org]:2222', host: 'backup.example.org', port: 2222, expected: true },
  { hosts: '[backup.example.org]:2222', host: 'backup.example.org', port: 22, expected: false },
  { hosts: '[backup.example.org]:2222', host: 'backup.example.org', port: 2223, expected: false },
  { hosts: '[backup.example.org]:22', host: 'backup.example.org', port: 22, expected: false },
  { hosts: '[::1]:2222', host: '::1', port: 2222, expected: true },
  // wildcards
  { hosts: '*.example.org', host: 'backup.example.org', port: 22, expected: true },
  { hosts: '*.example.org', host: 'example.org', port: 22, expected: false },
  { hosts: 'backup?.example.org', host: 'backup1.example.org', port: 22, expected: true },
  { hosts: 'backup?.example.org', host: 'backup12.example.org', port: 22, expected: false },
  { hosts: '10.0.0.*', host: '10.0.0.77', port: 22, expected: true },
  { hosts: '*', host: 'anything', port: 22, expected: true },
  { hosts: '*', host: 'anything', port: 2222, expected: true },
  { hosts: '[*.example.org]:2222', host: 'backup.example.org', port: 2222, expected: true },
  { hosts: '[*.example.org]:*', host: 'backup.example.org', port: 2222, expected: true },
  { hosts: '*.example.org', host: 'backup.example.org', port: 2222, expected: false },
  { hosts: 'a*b*c', host: 'axxbyyc', port: 22, expected: true },
  { hosts: 'a*b*c', host: 'axxbyycd', port: 22, expected: false },
  // negation excludes the entry even when another pattern matches
  { hosts: '*.example.org,!secret.example.org', host: 'secret.example.org', port: 22, expected: false },
  { hosts: '!secret.example.org,*.example.org', host: 'secret.example.org', port: 22, expected: false },
  { hosts: '*.example.org,!secret.example.org', host: 'backup.example.org', port: 22, expected: true },
  { hosts: '!secret.example.org', host: 'backup.example.org', port: 22, expected: false },
  { hosts: '*,!*.lan', host: 'NAS.LAN', port: 22, expected: false },
];

for (const row of matchRows) {
  test(`hostMatches: ${JSON.stringify(row.hosts)} vs ${row.host} port ${row.port} -> ${row.expected}`, (t) => {
    t.is(hostMatches(entryOf(`${row.hosts} ssh-ed25519 ${ED}`), row.host, row.port), row.expected);
  });
}

const hashedRows: Array<{ line: string; host: string; port: number; expected: boolean }> = [
  { line: HASHED_22, host: 'backup.example.org', port: 22, expected: true },
  { line: HASHED_22, host: 'Backup.Example.ORG', port: 22, expected: true },
  { line: HASHED_22, host: 'backup.example.org', port: 2222, expected: false },
  { line: HASHED_22, host: 'other.example.org', port: 22, expected: false },
  { line: HASHED_2222, host: 'backup.example.org', port: 2222, expected: true },
  { line: HASHED_2222, host: 'backup.example.org', port: 22, expected: false },
  { line: HASHED_MIXED_CASE, host: 'foo.example.org', port: 22, expected: true },
  { line: HASHED_MIXED_CASE, host: 'Foo.Example.org', port: 22, expected: true },
];

for (const row of hashedRows) {
  test(`hostMatches hashed (ssh-keygen -H): ${row.line.slice(0, 12)}… vs ${row.host}:${row.port} -> ${row.expected}`, (t) => {
    t.is(hostMatches(entryOf(row.line), row.host, row.port), row.expected);
  });
}

test('hostMatches hashed: an entry hashed here with node:crypto agrees', (t) => {
  const salt = randomBytes(20);
  const hashOf = (name: string) => createHmac('sha1', salt).update(name).digest('base64');
  const plain = entryOf(`|1|${salt.toString('base64')}|${hashOf('offsite.example.net')} ssh-ed25519 ${ED}`);
  const ported = entryOf(`|1|${salt.toString('base64')}|${hashOf('[offsite.example.net]:2200')} ssh-ed25519 ${ED}`);
  t.true(hostMatches(plain, 'offsite.example.net', 22));
  t.false(hostMatches(plain, 'offsite.example.net', 2200));
  t.false(hostMatches(plain, 'offsite.example.com', 22));
  t.true(hostMatches(ported, 'offsite.example.net', 2200));
  t.false(hostMatches(ported, 'offsite.example.net', 22));
});

test('hostMatches hashed: the ssh-keygen salt and hash are HMAC-SHA1(salt, name)', (t) => {
  const salt = Buffer.from('serptVZ7hSuAoStaMGmHVy0BllY=', 'base64');
  t.is(createHmac('sha1', salt).update('backup.example.org').digest('base64'), '5wLzS21Fe/ldTRlxlNsgWNn1z/s=');
});

const KH = parseKnownHosts(
  [
    '# user known_hosts',
    `backup.example.org ssh-ed25519 ${ED}`, // line 2
    `backup.example.org ecdsa-sha2-nistp256 ${EC}`, // line 3
    HASHED_2222, // line 4: [backup.example.org]:2222 rsa
    `rsa-only.example.org ssh-rsa ${RSA}`, // line 5
    `@revoked stolen.example.org ssh-ed25519 ${ED2}`, // line 6
    `stolen.example.org ssh-ed25519 ${ED2}`, // line 7
    `@cert-authority *.ca.example.org ssh-ed25519 ${ED2}`, // line 8
    `@revoked gone.example.org ssh-ed25519 ${ED}`, // line 9
    `*.wild.example.org,!bad.wild.example.org ssh-ed25519 ${ED}`, // line 10
    `@revoked elsewhere.example.org ssh-ed25519 ${ED}`, // line 11: revoked for another host only
    `other.example.org ssh-ed25519 ${ED}`, // line 12
    `multi.example.org ssh-ed25519 ${ED}`, // line 13
    `multi.example.org ssh-ed25519 ${ED2}`, // line 14
  ].join('\n'),
  'kh',
);

type Expect =
  | { kind: 'trusted' | 'revoked'; line: number }
  | { kind: 'changed'; knownTypes: string[]; lines: number[] }
  | { kind: 'cert-authority-only'; lines: number[] }
  | { kind: 'unknown' };

function summarise(verdict: HostKeyVerdict): Expect {
  switch (verdict.kind) {
    case 'trusted':
    case 'revoked':
      return { kind: verdict.kind, line: verdict.entry.line };
    case 'changed':
      return { kind: 'changed', knownTypes: verdict.knownTypes, lines: verdict.entries.map((e) => e.line) };
    case 'cert-authority-only':
      return { kind: 'cert-authority-only', lines: verdict.entries.map((e) => e.line) };
    case 'unknown':
      return { kind: 'unknown' };
  }
}

const verdictRows: Array<{ name: string; host: string; port: number; keyType: string; key: string; expected: Expect }> = [
  { name: 'plain entry, ed25519', host: 'backup.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'trusted', line: 2 } },
  { name: 'plain entry, second key of the host', host: 'backup.example.org', port: 22, keyType: 'ecdsa-sha2-nistp256', key: EC, expected: { kind: 'trusted', line: 3 } },
  { name: 'upper-case host name', host: 'BACKUP.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'trusted', line: 2 } },
  { name: 'hashed [host]:port entry', host: 'backup.example.org', port: 2222, keyType: 'ssh-rsa', key: RSA, expected: { kind: 'trusted', line: 4 } },
  { name: 'rsa key with the rsa-sha2-512 algorithm name', host: 'rsa-only.example.org', port: 22, keyType: 'rsa-sha2-512', key: RSA, expected: { kind: 'trusted', line: 5 } },
  { name: 'wildcard entry', host: 'nas.wild.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'trusted', line: 10 } },
  { name: 'several keys of one type for one host', host: 'multi.example.org', port: 22, keyType: 'ssh-ed25519', key: ED2, expected: { kind: 'trusted', line: 14 } },
  {
    name: 'changed: same type, different key',
    host: 'backup.example.org', port: 22, keyType: 'ssh-ed25519', key: ED2,
    expected: { kind: 'changed', knownTypes: ['ssh-ed25519', 'ecdsa-sha2-nistp256'], lines: [2, 3] },
  },
  {
    name: 'changed: different type than known',
    host: 'rsa-only.example.org', port: 22, keyType: 'ssh-ed25519', key: ED,
    expected: { kind: 'changed', knownTypes: ['ssh-rsa'], lines: [5] },
  },
  {
    name: 'changed: hashed entry, other key',
    host: 'backup.example.org', port: 2222, keyType: 'ssh-ed25519', key: ED,
    expected: { kind: 'changed', knownTypes: ['ssh-rsa'], lines: [4] },
  },
  { name: 'revoked beats a trusting line for the same key', host: 'stolen.example.org', port: 22, keyType: 'ssh-ed25519', key: ED2, expected: { kind: 'revoked', line: 6 } },
  { name: 'revoked key of a host with no other line', host: 'gone.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'revoked', line: 9 } },
  { name: 'other key of a host that only has a revoked line', host: 'gone.example.org', port: 22, keyType: 'ssh-ed25519', key: ED2, expected: { kind: 'unknown' } },
  { name: 'cert-authority only', host: 'db.ca.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'cert-authority-only', lines: [8] } },
  { name: 'cert-authority only, even with the CA key itself', host: 'db.ca.example.org', port: 22, keyType: 'ssh-ed25519', key: ED2, expected: { kind: 'cert-authority-only', lines: [8] } },
  { name: 'unknown host', host: 'new.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'unknown' } },
  { name: 'known host on another port is unknown', host: 'backup.example.org', port: 2200, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'unknown' } },
  { name: 'negated host is unknown', host: 'bad.wild.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'unknown' } },
  // As in OpenSSH, an @revoked line applies to the hosts its pattern names.
  { name: 'key revoked for another host only', host: 'other.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'trusted', line: 12 } },
  { name: 'key revoked for that host', host: 'elsewhere.example.org', port: 22, keyType: 'ssh-ed25519', key: ED, expected: { kind: 'revoked', line: 11 } },
];

for (const row of verdictRows) {
  test(`verifyHostKey: ${row.name}`, (t) => {
    t.deepEqual(summarise(verifyHostKey(KH.entries, row.host, row.port, row.keyType, blob(row.key))), row.expected);
  });
}

test('verifyHostKey: no entries at all is unknown', (t) => {
  t.deepEqual(verifyHostKey([], 'backup.example.org', 22, 'ssh-ed25519', blob(ED)), { kind: 'unknown' });
});

test('verifyHostKey: a key that only shares a prefix with the known one is not trusted', (t) => {
  const truncated = blob(ED).subarray(0, 40);
  t.is(verifyHostKey(KH.entries, 'backup.example.org', 22, 'ssh-ed25519', truncated).kind, 'changed');
});

const typeRows: Array<{ host: string; port: number; expected: string[] }> = [
  { host: 'backup.example.org', port: 22, expected: ['ssh-ed25519', 'ecdsa-sha2-nistp256'] },
  { host: 'backup.example.org', port: 2222, expected: ['ssh-rsa'] },
  { host: 'rsa-only.example.org', port: 22, expected: ['ssh-rsa'] },
  { host: 'multi.example.org', port: 22, expected: ['ssh-ed25519'] },
  { host: 'stolen.example.org', port: 22, expected: ['ssh-ed25519'] },
  { host: 'gone.example.org', port: 22, expected: [] },
  { host: 'db.ca.example.org', port: 22, expected: [] },
  { host: 'new.example.org', port: 22, expected: [] },
];

for (const row of typeRows) {
  test(`knownKeyTypes: ${row.host}:${row.port}`, (t) => {
    t.deepEqual(knownKeyTypes(KH.entries, row.host, row.port), row.expected);
  });
}

const blobRows: Array<[string, string]> = [
  [ED, 'ssh-ed25519'],
  [RSA, 'ssh-rsa'],
  [EC, 'ecdsa-sha2-nistp256'],
];

for (const [key, expected] of blobRows) {
  test(`sshKeyTypeFromBlob: pasted ${expected} key`, (t) => {
    t.is(sshKeyTypeFromBlob(blob(key)), expected);
  });
}

const badBlobs: Array<[string, Buffer, RegExp]> = [
  ['empty', Buffer.alloc(0), /too short/],
  ['three bytes', Buffer.from([0, 0, 0]), /too short/],
  ['length past the end', Buffer.from([0, 0, 0, 11, 0x73, 0x73, 0x68]), /11 bytes long, but the blob has 7 bytes/],
  ['zero length', Buffer.from([0, 0, 0, 0]), /0 bytes long/],
  ['unprintable type', Buffer.from([0, 0, 0, 2, 0x0a, 0x00]), /not printable/],
];

for (const [name, input, message] of badBlobs) {
  test(`sshKeyTypeFromBlob error: ${name}`, (t) => {
    t.throws(() => sshKeyTypeFromBlob(input), { message });
  });
}

test('sshKeyTypeFromBlob and parseKnownHosts on keys fresh from ssh-keygen', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'czb-known-hosts-'));
  try {
    for (const [type, expected] of [['ed25519', 'ssh-ed25519'], ['rsa', 'ssh-rsa']] as const) {
      const file = join(dir, `id_${type}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test', '-f', file], { stdio: 'ignore' });
      const [keyType = '', keyBase64 = ''] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
      t.is(keyType, expected);
      t.is(sshKeyTypeFromBlob(blob(keyBase64)), expected);
      const parsed = parseKnownHosts(`fresh.example.org ${keyType} ${keyBase64}\n`, 'fresh');
      t.deepEqual(parsed.malformed, []);
      t.is(verifyHostKey(parsed.entries, 'fresh.example.org', 22, keyType, blob(keyBase64)).kind, 'trusted');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
