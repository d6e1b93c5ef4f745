// Integration: push through the built CLI, real zfs-fuse pools and a real OpenSSH server on 127.0.0.1.
import test from 'ava';
import { useBed } from '../bed/fixture';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poolState, snapshotsByDataset, treeSignature, userrefs, zfs, zfsTry, type TestPool } from '../bed/pools';
import { keygen } from '../bed/sshd';
import { pidsWithArgs } from '../bed/content';
import { runCli } from '../bed/cli';
import { hostname } from 'node:os';

const HOST = hostname().split('.')[0] ?? 'localhost';

const bed = useBed(test);

interface Pair {
  local: string;
  receive: string;
  receiverPool: TestPool;
  localPool: TestPool;
  push(...extra: string[]): ReturnType<typeof runCli>;
}

/** A sender tree (root, a, a/b) with one snapshot, and an empty receiver pool with a parent dataset. */
function pair(receiverSize = '256M'): Pair {
  const localPool = bed.pool('czbps');
  const receiverPool = bed.pool('czbpr', receiverSize);
  const local = `${localPool.name}/host`;
  for (const ds of [local, `${local}/a`, `${local}/a/b`]) zfs('create', ds);
  zfs('create', `${receiverPool.name}/offsite`);
  const receive = `${receiverPool.name}/offsite/host`;
  zfs('snapshot', '-r', `${local}@2026-11-01T00:00:00Z`);
  return {
    local,
    receive,
    localPool,
    receiverPool,
    push: (...extra) => runCli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra]),
  };
}

const tag = (p: Pair) => `cyber-zfs-backup:offsite:${p.receive}`;

test('the first push is refused without --force-non-incremental, and done with it', (t) => {
  const p = pair();
  const before = poolState(p.receiverPool.name);
  const refused = p.push();
  t.is(refused.code, 65);
  t.regex(refused.stderr, /does not exist, so this would be a full send .*--force-non-incremental/);
  t.is(poolState(p.receiverPool.name), before);

  const full = p.push('--force-non-incremental', '-v');
  t.is(full.code, 0, full.stderr);
  t.regex(full.stderr, /pushed .*@2026-11-01T00:00:00Z \(full\) to offsite:.*: \d+ bytes in [\d.]+ s, [\d.]+ MiB\/s/);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.is(userrefs(`${p.local}@2026-11-01T00:00:00Z`), 1, 'the base is held');
  t.is(zfs('get', '-H', '-o', 'value', 'readonly', p.receive).trim(), 'on');
  t.is(zfs('get', '-H', '-o', 'value', 'canmount', p.receive).trim(), 'noauto');
});

test('incremental pushes carry new snapshots and new child datasets; the receiver is an exact mirror and the hold moves', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  zfs('create', `${p.local}/a/new-child`);
  zfs('snapshot', '-r', `${p.local}@2026-11-03T00:00:00Z`);
  zfs('snapshot', '-r', `${p.local}@manual`);
  const r = p.push('--debug');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /incremental from @2026-11-01T00:00:00Z/);
  t.regex(r.stderr, /starting zfs send before the plan, as the roots call for it.*"-I","@2026-11-01T00:00:00Z","[^"]+@2026-11-03T00:00:00Z"/, 'zfs send started while the tree was listed');
  t.notRegex(r.stderr, /does not ask for the stream the roots called for/, 'and the plan took it');
  t.regex(r.stderr, /checked offsite:\S+: every snapshot up to @2026-11-03T00:00:00Z is there with the sender's GUID/);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local).filter((l) => !l.includes('@manual')));
  t.deepEqual(snapshotsByDataset(p.receive).get('a/new-child'), ['2026-11-03T00:00:00Z']);
  t.is(userrefs(`${p.local}@2026-11-03T00:00:00Z`), 1);
  t.is(userrefs(`${p.local}@2026-11-01T00:00:00Z`), 0, 'the old base hold is released');
  t.is(userrefs(`${p.local}/a/b@2026-11-01T00:00:00Z`), 0);

  const again = p.push('-v');
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /up to date at @2026-11-03T00:00:00Z/);
});

test('the received tree stays inert: a child the sender mounts elsewhere, writable, arrives noauto, read-only and below the backup mount point; later pushes keep it so', (t) => {
  const p = pair();
  const mp = `/srv/backup/${HOST}`;
  zfs('set', `mountpoint=${join(p.localPool.dir, 'mnt-a')}`, `${p.local}/a`);
  zfs('set', 'readonly=off', `${p.local}/a`);
  zfs('set', 'canmount=on', `${p.local}/a`);
  const props = () => zfs('list', '-H', '-o', 'name,canmount,readonly,mountpoint,mounted', '-t', 'filesystem', '-r', p.receive).trim().split('\n').map((l) => l.replace(p.receive, 'R'));
  const inert = ['R\tnoauto\ton\t' + mp + '\tno', 'R/a\tnoauto\ton\t' + mp + '/a\tno', 'R/a/b\tnoauto\ton\t' + mp + '/a/b\tno'];
  const full = p.push('--force-non-incremental', '-v');
  t.is(full.code, 0, full.stderr);
  // zfs-fuse (no receive -o) needs all three set on a; OpenZFS's receive -o makes a inherit readonly and
  // mountpoint, but never passes canmount to children, so both set canmount on a.
  t.regex(full.stderr, new RegExp(`zfs set canmount=noauto ${p.receive}/a \\(the received tree never mounts by itself`));
  t.deepEqual(props(), inert);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  zfs('set', 'mountpoint=none', `${p.local}/a`);
  zfs('set', `mountpoint=${join(p.localPool.dir, 'mnt-a2')}`, `${p.local}/a`);
  const inc = p.push('-v');
  t.is(inc.code, 0, inc.stderr);
  t.notRegex(inc.stderr, /zfs set/, 'what was set once stays set: local values win over received ones');
  t.deepEqual(props(), inert);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('expire locally, then push: the receiver loses the same snapshots', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  for (const n of ['2026-11-01T06:00:00Z', '2026-11-01T12:00:00Z', '2026-11-02T00:00:00Z']) zfs('snapshot', '-r', `${p.local}@${n}`);
  t.is(p.push().code, 0);
  t.is(snapshotsByDataset(p.receive).get('a/b')?.length, 4);
  zfs('snapshot', '-r', `${p.local}@2026-11-03T00:00:00Z`);
  const ex = runCli(['--action', 'expire', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config, '--force-destroy-lots']);
  t.is(ex.code, 0, ex.stderr);
  const expected = ['2026-11-01T12:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z'];
  t.deepEqual(snapshotsByDataset(p.local).get('a/b'), expected);
  t.deepEqual(snapshotsByDataset(p.receive).get('a/b'), expected);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('no common snapshot: exit 65, a diagnosis with recovery commands, nothing sent, receiver unchanged', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  // The sender's history is replaced: same names, new GUIDs.
  zfs('release', '-r', tag(p), `${p.local}@2026-11-01T00:00:00Z`);
  zfs('destroy', '-r', p.local);
  zfs('create', p.local);
  zfs('snapshot', '-r', `${p.local}@2026-11-01T00:00:00Z`);
  zfs('snapshot', '-r', `${p.local}@2026-11-05T00:00:00Z`);
  const before = poolState(p.receiverPool.name);
  for (const extra of [[], ['--force-non-incremental']]) {
    const r = p.push(...extra);
    t.is(r.code, 65);
    t.regex(r.stderr, /refusing to push .* none in common/);
    t.regex(r.stderr, /here, .*newest first:\n.*@2026-11-05T00:00:00Z  guid \d+/);
    t.regex(r.stderr, /there, offsite:/);
    t.regex(r.stderr, /different GUIDs/);
    t.regex(r.stderr, /ssh -F \S+ offsite zfs rename \S+ \S+-old/);
    t.regex(r.stderr, /--force-non-incremental/);
    t.is(poolState(p.receiverPool.name), before);
  }
});

test('--dry-run probes and plans but sends nothing', (t) => {
  const p = pair();
  const first = p.push('--force-non-incremental', '--dry-run');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /dry run: would send .*\(full\)/);
  t.is(zfsTry('list', p.receive).status, 1);
  t.is(p.push('--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const before = poolState(p.receiverPool.name);
  const localBefore = poolState(p.localPool.name);
  const r = p.push('-n');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /dry run: would send .*@2026-11-02T00:00:00Z \(incremental from @2026-11-01T00:00:00Z\)/);
  t.is(poolState(p.receiverPool.name), before);
  t.is(poolState(p.localPool.name), localBefore);
});

test('a tree left uneven by a cut push is brought forward: the datasets behind catch up on their own, nothing is rolled back or sent twice; a child missing on the receiver is sent whole', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  const B = '2026-11-02T00:00:00Z';
  zfs('snapshot', '-r', `${p.local}@${B}`);
  // What a cut -R -I stream leaves: the root got @B, its children did not.
  execFileSync('sh', ['-c', 'zfs send -I @2026-11-01T00:00:00Z "$1" | zfs receive -F -u "$2"', 'sh', `${p.local}@${B}`, p.receive]);
  const rootTxg = () => zfs('get', '-H', '-p', '-o', 'value', 'createtxg', `${p.receive}@${B}`).trim();
  const txgBefore = rootTxg();
  t.deepEqual(snapshotsByDataset(p.receive).get('a'), ['2026-11-01T00:00:00Z'], 'setup: the child is behind');

  const before = poolState(p.receiverPool.name);
  const dry = p.push('-n');
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /dry run: would bring \S+\/a forward from @2026-11-01T00:00:00Z to @2026-11-02T00:00:00Z/);
  t.is(poolState(p.receiverPool.name), before);

  const heal = p.push('--debug');
  t.is(heal.code, 0, heal.stderr);
  t.regex(heal.stderr, /bringing \S+\/a forward from @2026-11-01T00:00:00Z to @2026-11-02T00:00:00Z/);
  t.regex(heal.stderr, /bringing \S+\/a\/b forward/);
  t.notRegex(heal.stderr, /rolling|zfs rollback/);
  t.regex(heal.stderr, /up to date at @2026-11-02T00:00:00Z/);
  t.is(rootTxg(), txgBefore, "the root's @B was kept, not received again");
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.is(userrefs(`${p.local}@${B}`), 1, 'the hold moved to the common snapshot');

  zfs('snapshot', '-r', `${p.local}@2026-11-03T00:00:00Z`);
  zfs('destroy', '-r', `${p.receive}/a`);
  const whole = p.push('-v');
  t.is(whole.code, 0, whole.stderr);
  t.regex(whole.stderr, /bringing \S+\/a over whole up to @2026-11-02T00:00:00Z/);
  t.regex(whole.stderr, /pushed \S+@2026-11-03T00:00:00Z \(incremental from @2026-11-02T00:00:00Z\)/);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('a plan that asks for another stream than the roots did: the zfs send started early is stopped, and the plan\'s stream goes', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  const [A, B, C] = ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z'];
  zfs('snapshot', '-r', `${p.local}@${B}`);
  zfs('snapshot', '-r', `${p.local}@${C}`);
  // The receiver's root holds @B; its child a skipped @B and holds @C: the roots call for @B..@C, the tree for @A..@C.
  execFileSync('sh', ['-c', 'zfs send -i "@$1" "$2" | zfs receive -F -u "$3"', 'sh', A, `${p.local}@${B}`, p.receive]);
  execFileSync('sh', ['-c', 'zfs send -i "@$1" "$2" | zfs receive -F -u "$3"', 'sh', A, `${p.local}/a@${C}`, `${p.receive}/a`]);
  const r = p.push('--debug');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /starting zfs send before the plan, as the roots call for it.*"@2026-11-02T00:00:00Z"/);
  t.regex(r.stderr, /the plan does not ask for the stream the roots called for: the zfs send started before it is stopped/);
  t.regex(r.stderr, /pushed \S+@2026-11-03T00:00:00Z \(incremental from @2026-11-01T00:00:00Z\)/);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(pidsWithArgs(['send', `@${B}`, `${p.local}@${C}`]), [], 'the early zfs send is gone');
});

test('--action push alone sends the newest existing snapshot, without taking one', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${p.local}@2026-11-04T00:00:00Z`);
  const r = p.push();
  t.is(r.code, 0, r.stderr);
  t.deepEqual(snapshotsByDataset(p.local).get(''), ['2026-11-01T00:00:00Z', '2026-11-04T00:00:00Z']);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('the full default run: snapshot, expire and push in one command', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  const r = runCli(['--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config]);
  t.is(r.code, 0, r.stderr);
  t.is(snapshotsByDataset(p.local).get('')?.length, 2);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('host keys: unknown and changed keys are refused with exit 69 and nothing is sent', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const before = poolState(p.receiverPool.name);
  const empty = join(bed.sshd.dir, 'known_hosts.empty');
  writeFileSync(empty, '');
  const unknown = runCli(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.writeConfig('cfg.unknown', [`UserKnownHostsFile ${empty}`])]);
  t.is(unknown.code, 69);
  t.regex(unknown.stderr, /host key refused: \[127\.0\.0\.1\]:\d+ is not in known_hosts .* offered ssh-ed25519 SHA256:\S+; .*ssh-keyscan -p \d+ 127\.0\.0\.1 >>/);

  const other = join(bed.sshd.dir, 'other_host_key');
  keygen(other);
  const changedFile = join(bed.sshd.dir, 'known_hosts.changed');
  writeFileSync(changedFile, `[127.0.0.1]:${bed.sshd.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const changed = runCli(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.writeConfig('cfg.changed', [`UserKnownHostsFile ${changedFile}`])]);
  t.is(changed.code, 69);
  t.regex(changed.stderr, /host key refused: .* holds another key for it; this may be an attack/);
  t.is(poolState(p.receiverPool.name), before);
});

test('a client key the server does not accept is refused with exit 77', (t) => {
  const p = pair();
  const stranger = join(bed.sshd.dir, 'stranger_key');
  keygen(stranger);
  const r = runCli(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--force-non-incremental', '--ssh-config', bed.sshd.writeConfig('cfg.stranger', [], 'offsite', stranger)]);
  t.is(r.code, 77);
  t.regex(r.stderr, /SSH login to root@\[127\.0\.0\.1\]:\d+ \(offsite\) was refused/);
  t.is(zfsTry('list', p.receive).status, 1);
});

test('the receiver runs out of space: non-zero exit naming both sides, sender unchanged; the next push after freeing space succeeds', (t) => {
  const p = pair();
  t.is(p.push('--force-non-incremental').code, 0);
  const file = `/${p.local}`;
  zfs('set', `mountpoint=${file}`, p.local);
  execFileSync('dd', ['if=/dev/urandom', `of=${file}/blob`, 'bs=1M', 'count=8'], { stdio: 'ignore' });
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  zfs('set', 'quota=2M', `${p.receiverPool.name}/offsite`);
  // zfs-fuse can leave temporary holds after a killed send (PLATFORM.md), so compare names and GUIDs.
  const localBefore = treeSignature(p.local);
  const r = p.push();
  t.is(r.code, 73, r.stderr);
  t.regex(r.stderr, /zfs receive exited \d+: .*(out of space|quota).*; zfs send (exited \d+|was stopped when the receiver ended); free space on the receiving host/);
  t.deepEqual(treeSignature(p.local), localBefore);
  zfs('set', 'quota=none', `${p.receiverPool.name}/offsite`);
  const ok = p.push();
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  zfs('set', 'mountpoint=none', p.local);
  t.true(userrefs(`${p.local}@2026-11-02T00:00:00Z`) >= 1, 'the new base is held');
});
