// The bad-input matrix: each case gets one clear line, its documented exit code, and zfs state identical on both sides.
import test from 'ava';
import { copyFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../bed/cli';
import { createPool, poolState, zfs, type TestPool } from '../bed/pools';
import { keygen, startSshd, type TestSshd } from '../bed/sshd';

let sshd: TestSshd;
let local: TestPool;
let receiver: TestPool;
let root: string;
let receive: string;
const PWNED = '/tmp/czb-pwned';

test.before(async () => {
  sshd = await startSshd();
  local = createPool('czbbad');
  receiver = createPool('czbbadr');
  root = `${local.name}/h`;
  receive = `${receiver.name}/offsite/h`;
  zfs('create', root);
  zfs('create', `${root}/a`);
  zfs('create', `${receiver.name}/offsite`);
  zfs('snapshot', '-r', `${root}@2026-10-01T00:00:00Z`);
  const first = runCli(['--action', 'push', '--dataset', root, '--zfs-receive-dataset', receive, '--ssh-config', sshd.config, '--force-non-incremental']);
  if (first.code !== 0) throw new Error(first.stderr);
  // A push would now have work to do, so every refusal below is a real refusal.
  zfs('snapshot', '-r', `${root}@2026-10-02T00:00:00Z`);
  writeFixtures();
});
test.after.always(async () => {
  local?.destroy();
  receiver?.destroy();
  await sshd?.stop();
});

interface Case {
  title: string;
  args: () => string[];
  code: number;
  message: RegExp;
  /** Extra environment, computed when the case runs (fixture paths exist only then). */
  env?: () => NodeJS.ProcessEnv;
  asUser?: number;
  /** Lines allowed before the error line (e.g. a warning about a malformed known_hosts line). */
  warnings?: number;
}

const file = (name: string) => join(sshd.dir, name);
const push = (...extra: string[]) => ['--action', 'push', '--dataset', root, '--zfs-receive-dataset', receive, ...extra];
const withConfig = (name: string, lines: string[], identity?: string) => ['--ssh-config', sshd.writeConfig(name, lines, 'offsite', identity)];

const cases: Case[] = [
  // Flags
  { title: 'an unknown flag', args: () => ['--frobnicate'], code: 64, message: /Unknown argument: frobnicate/ },
  { title: 'an --action without a value (0.5 ran none)', args: () => ['--action', '--dataset', root], code: 64, message: /--action needs a value/ },
  { title: 'an unknown action', args: () => ['--action', 'backup'], code: 64, message: /--action "backup" is not one of snapshot, expire, push, restore, status/ },
  { title: 'a --bwlimit in bits', args: () => ['--bwlimit', '20Mbit'], code: 64, message: /--bwlimit "20Mbit" looks like bits; the limit is in bytes per second/ },
  { title: 'a --bwlimit of nothing', args: () => ['--bwlimit', '0'], code: 64, message: /--bwlimit "0" is below 1K/ },
  { title: 'two --zfs-receive-dataset for three --ssh-destination', args: () => ['--ssh-destination', 'a', 'b', 'c', '--zfs-receive-dataset', 'p/x', '--zfs-receive-dataset', 'p/y'], code: 64, message: /3 --ssh-destination and 2 --zfs-receive-dataset do not pair up/ },
  { title: 'a stray positional argument', args: () => ['now'], code: 64, message: /Unknown argument: now/ },
  { title: 'a negative retention', args: () => ['--retention-policy', '-1', '12', '36'], code: 64, message: /"-1" is not a whole number/ },
  { title: 'a non-numeric retention', args: () => ['--retention-policy', 'a', 'b', 'c'], code: 64, message: /"a" is not a whole number/ },
  { title: 'a fractional retention', args: () => ['--retention-policy', '1.5', '2', '3'], code: 64, message: /"1.5" is not a whole number/ },
  { title: 'a retention with two numbers', args: () => ['--retention-policy', '1', '2'], code: 64, message: /retention-policy|Not enough arguments/ },
  { title: 'an ssh destination that is an ssh option', args: () => [`--ssh-destination=-oProxyCommand=touch ${PWNED}`], code: 64, message: /--ssh-destination .* is not a host name/ },
  { title: 'an empty --ssh-config', args: () => ['--ssh-config='], code: 64, message: /--ssh-config "" is not a file path/ },
  // Dataset and receive-dataset names
  { title: 'a dataset with ;', args: () => ['--dataset', `${root};touch ${PWNED}`], code: 64, message: /--dataset .* is not a valid ZFS dataset name/ },
  { title: 'a dataset with $( )', args: () => ['--dataset', `${root}$(id)`], code: 64, message: /contains "\$"/ },
  { title: 'a dataset with backquotes', args: () => ['--dataset', `${root}\`id\``], code: 64, message: /contains "`"/ },
  { title: 'a dataset with a space', args: () => ['--dataset', `${root} x`], code: 64, message: /white space/ },
  { title: 'a dataset with a leading -', args: () => [`--dataset=-${root}`], code: 64, message: /starts with "-"/ },
  { title: 'a snapshot given as dataset', args: () => ['--dataset', `${root}@2026-10-01T00:00:00Z`], code: 64, message: /contains "@"/ },
  { title: 'an empty dataset', args: () => ['--dataset='], code: 64, message: /it is empty/ },
  { title: 'a receive dataset with ;', args: () => push('--zfs-receive-dataset', `offsite/h;touch ${PWNED}`), code: 64, message: /--zfs-receive-dataset .* is not a valid ZFS dataset name/ },
  { title: 'a receive dataset with a quote', args: () => push('--zfs-receive-dataset', "offsite/h'x"), code: 64, message: /contains "'"/ },
  { title: 'a receive dataset with a newline', args: () => push('--zfs-receive-dataset', 'offsite/h\nx'), code: 64, message: /white space/ },
  // The host
  { title: 'a dataset that does not exist', args: () => ['--dataset', `${local.name}/nope`], code: 66, message: /dataset .*\/nope does not exist on this host/ },
  { title: 'no zfs on PATH', args: () => ['--dataset', root], env: () => ({ PATH: '/nonexistent' }), code: 69, message: /cannot run "zfs".*install zfsutils-linux/ },
  { title: 'a zfs whose listing cannot be read', args: () => ['--action', 'expire', '--dataset', root], env: () => ({ CYBER_ZFS_BACKUP_ZFS: file('zfs.garbled') }), code: 70, message: /cannot read what zfs printed \(unexpected zfs get line: "garbled"\); .*--debug.*zfs version/ },
  { title: 'not root', args: () => ['--dataset', root], asUser: 65534, code: 77, message: /run as root, or delegate the needed permissions with "zfs allow"/ },
  // ssh config files
  { title: 'a missing ssh config', args: () => push('--ssh-config', file('no-such-config')), code: 66, message: /cannot read the ssh config .*no-such-config/ },
  { title: 'an ssh config that is a directory', args: () => push('--ssh-config', sshd.dir), code: 66, message: /cannot read the ssh config/ },
  { title: 'an ssh config with a syntax error', args: () => push('--ssh-config', file('cfg.syntax')), code: 64, message: /ssh config .* is not usable for offsite: .*Bad configuration option/ },
  { title: 'an ssh config with an Include loop', args: () => push('--ssh-config', file('cfg.loop')), code: 64, message: /is not usable for offsite: .*(recursive|depth|include)/i },
  { title: 'a ProxyJump with two hops', args: () => push(...withConfig('cfg.jump2', ['ProxyJump a@127.0.0.1,b@127.0.0.1'])), code: 64, message: /has 2 hops; cyber-zfs-backup follows one hop/ },
  { title: 'a ProxyCommand', args: () => push(...withConfig('cfg.proxycmd', [`ProxyCommand touch ${PWNED}`])), code: 64, message: /uses ProxyCommand touch .* does not run \(it starts no shell\); use ProxyJump/ },
  { title: 'a PKCS11Provider', args: () => push(...withConfig('cfg.pkcs11', ['PKCS11Provider /usr/lib/no-such-pkcs11.so'])), code: 64, message: /uses PKCS11Provider .* cannot use/ },
  { title: 'a CertificateFile', args: () => push(...withConfig('cfg.cert', [`CertificateFile ${file('client_ed25519')}-cert.pub`])), code: 64, message: /uses CertificateFile .* cannot present/ },
  // known_hosts
  { title: 'a missing known_hosts', args: () => push(...withConfig('cfg.kh-missing', [`UserKnownHostsFile ${file('no-such-known-hosts')}`])), code: 69, message: /host key refused: .* is not in known_hosts/ },
  { title: 'an empty known_hosts', args: () => push(...withConfig('cfg.kh-empty', [`UserKnownHostsFile ${file('kh.empty')}`])), code: 69, message: /host key refused: .* is not in known_hosts/ },
  { title: 'a malformed known_hosts line', args: () => push(...withConfig('cfg.kh-bad', [`UserKnownHostsFile ${file('kh.bad')}`])), code: 69, warnings: 1, message: /host key refused: .* is not in known_hosts/ },
  // Keys
  { title: 'a missing identity file', args: () => push(...withConfig('cfg.key-missing', [], file('no-such-key'))), code: 66, message: /no SSH identity for offsite: .*no-such-key does not exist/ },
  { title: 'an identity readable by others', args: () => push(...withConfig('cfg.key-0644', [], file('key.0644'))), code: 77, message: /is readable by other users \(mode 644\).*chmod 600/ },
  { title: 'an encrypted identity and no agent', args: () => push(...withConfig('cfg.key-enc', [], file('key.enc'))), env: () => ({ SSH_AUTH_SOCK: '' }), code: 77, message: /is encrypted and no ssh-agent is available/ },
  { title: 'an encrypted identity, IdentityAgent none (over $SSH_AUTH_SOCK)', args: () => push(...withConfig('cfg.key-enc-noagent', ['IdentityAgent none'], file('key.enc'))), env: () => ({ SSH_AUTH_SOCK: '/nonexistent/czb-agent.sock' }), code: 77, message: /is encrypted and no ssh-agent is available/ },
  { title: 'a corrupt identity file', args: () => push(...withConfig('cfg.key-junk', [], file('key.junk'))), code: 64, message: /cannot be read: .*regenerate it/ },
  { title: 'a key the server does not accept', args: () => push(...withConfig('cfg.key-stranger', [], file('key.stranger'))), code: 77, message: /SSH login to .* was refused/ },
  { title: 'a receive dataset whose parent does not exist', args: () => ['--action', 'push', '--dataset', root, '--zfs-receive-dataset', `${receiver.name}/nope/h`, '--ssh-config', sshd.config, '--force-non-incremental'], code: 66, message: /cannot be received: its parent .*\/nope does not exist on offsite; create it there \(zfs create -p/ },
];

function writeFixtures(): void {
  writeFileSync(file('cfg.syntax'), 'Host offsite\n  HostName 127.0.0.1\n  Frobnicate yes\n');
  writeFileSync(file('cfg.loop'), `Include ${file('cfg.loop')}\nHost offsite\n  HostName 127.0.0.1\n`);
  writeFileSync(file('kh.empty'), '');
  writeFileSync(file('kh.bad'), `[127.0.0.1]:${sshd.port} ssh-ed25519\n`);
  copyFileSync(sshd.clientKey, file('key.0644'));
  chmodSync(file('key.0644'), 0o644);
  keygen(file('key.enc'), 'ed25519', 'secret passphrase');
  writeFileSync(file('key.junk'), 'this is not a key\n', { mode: 0o600 });
  keygen(file('key.stranger'));
  // A zfs that works but answers `get` with a line of another shape.
  writeFileSync(file('zfs.garbled'), '#!/bin/sh\nif [ "$1" = get ]; then echo garbled; exit 0; fi\nexec zfs "$@"\n', { mode: 0o755 });
}

for (const c of cases) {
  test.serial(c.title, (t) => {
    const before = [poolState(local.name), poolState(receiver.name)];
    const r = runCli(c.args(), { env: c.env?.() ?? {}, asUser: c.asUser });
    t.is(r.code, c.code, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    t.is(lines.length, 1 + (c.warnings ?? 0), r.stderr);
    t.regex(lines.at(-1) ?? '', /^cyber-zfs-backup: /);
    t.regex(lines.at(-1) ?? '', c.message);
    t.is(r.stdout, '');
    t.deepEqual([poolState(local.name), poolState(receiver.name)], before, 'zfs state is identical on both sides');
    t.false(existsSync(PWNED), 'no injected command ran');
  });
}

test.serial('the matrix has at least 30 cases', (t) => {
  t.true(cases.length >= 30, String(cases.length));
});
