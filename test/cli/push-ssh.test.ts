// Integration: what push takes from the ssh config — ProxyJump, hashed known_hosts, @revoked — and --use-sudo, through a real bed.sshd.
import test from 'ava';
import { useBed } from '../bed/fixture';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mountTree, writeRandomFile } from '../bed/content';
import { join } from 'node:path';
import { runCliAsync } from '../bed/cli';
import { poolState, treeSignature, zfs, type TestPool } from '../bed/pools';
import { startRelay } from '../bed/relay';

const bed = useBed(test);

function pair() {
  const localPool = bed.pool('czbss');
  const receiverPool = bed.pool('czbssr');
  const local = `${localPool.name}/h`;
  zfs('create', local);
  zfs('create', `${local}/a`);
  zfs('create', `${receiverPool.name}/offsite`);
  zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
  const receive = `${receiverPool.name}/offsite/h`;
  return { local, receive, localPool, receiverPool, push: (config: string, ...extra: string[]) => runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', config, '--force-non-incremental', ...extra]) };
}

test('ProxyJump: the push goes through the jump host (one hop), each host verified against known_hosts', async (t) => {
  const p = pair();
  const mnt = mkdtempSync(join(p.localPool.dir, 'mnt-'));
  mountTree(p.local, mnt);
  writeRandomFile(mnt, 'data.bin', 600_000);
  zfs('snapshot', '-r', `${p.local}@2026-10-02T00:00:00Z`);
  // The jump host is reached through a counting relay, the target as sshd itself from the jump host.
  const relay = await startRelay(bed.sshd.port, {});
  const kh = join(bed.sshd.dir, 'known_hosts.jump');
  writeFileSync(kh, `${bed.sshd.hostKeyLine}\n${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${relay.port} `)}\n`);
  const config = join(bed.sshd.dir, 'cfg.proxyjump');
  const common = ['  User root', `  IdentityFile ${bed.sshd.clientKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${kh}`, '  GlobalKnownHostsFile /dev/null', '  BatchMode yes'];
  writeFileSync(config, ['Host offsite', '  HostName 127.0.0.1', `  Port ${bed.sshd.port}`, '  ProxyJump jumphost', ...common, 'Host jumphost', '  HostName 127.0.0.1', `  Port ${relay.port}`, ...common, ''].join('\n'));
  const r = await p.push(config);
  await relay.close();
  t.is(r.code, 0, r.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.true(relay.passed() > 600_000, `the stream crossed the jump host (${relay.passed()} bytes)`);
  zfs('set', 'mountpoint=none', p.local);
});

test('hashed known_hosts entries are honoured; a @revoked key is refused with exit 69', async (t) => {
  const p = pair();
  const hashed = join(bed.sshd.dir, 'known_hosts.hashed');
  writeFileSync(hashed, `${bed.sshd.hostKeyLine}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
  t.regex(readFileSync(hashed, 'utf8'), /^\|1\|/);
  const ok = await p.push(bed.sshd.writeConfig('cfg.hashed', [`UserKnownHostsFile ${hashed}`]));
  t.is(ok.code, 0, ok.stderr);

  zfs('snapshot', '-r', `${p.local}@2026-10-02T00:00:00Z`);
  const before = poolState(p.receiverPool.name);
  const revoked = join(bed.sshd.dir, 'known_hosts.revoked');
  writeFileSync(revoked, `@revoked ${bed.sshd.hostKeyLine}\n${bed.sshd.hostKeyLine}\n`);
  const refused = await p.push(bed.sshd.writeConfig('cfg.revoked', [`UserKnownHostsFile ${revoked}`]));
  t.is(refused.code, 69);
  t.regex(refused.stderr, /host key refused: .* marks @revoked/);
  t.is(poolState(p.receiverPool.name), before);
});

test('--use-sudo runs the remote zfs as sudo -n zfs', async (t) => {
  const p = pair();
  const r = await p.push(bed.sshd.config, '--use-sudo', '--debug');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /streaming into the receiving host remote="sudo -n zfs receive -F -u /);
  t.regex(r.stderr, /running on the receiving host remote="sudo -n zfs; s=\$\?; .*; sudo -n zfs get -H -p /, 'the probe batch runs every zfs through sudo');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});
