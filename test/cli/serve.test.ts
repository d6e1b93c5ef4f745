// Integration: an offsite host that trusts no sender — pushes through `serve` as the forced command of each key, two hosts, append-only, the offsite host's own expire.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../bed/cli';
import { fingerprintMounted, fingerprintReceived, mountTree, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { poolState, snapshotsByDataset, treeSignature, userrefs, zfs, zfsTry, type TestPool } from '../bed/pools';
import type { ServeKey } from '../bed/sshd';

const bed = useBed(test);

const DAY1 = '2026-11-01T00:00:00Z';
const DAY2 = '2026-11-02T00:00:00Z';
const DAY3 = '2026-11-03T00:00:00Z';

interface Host {
  pool: TestPool;
  local: string;
  mnt: string;
  /** Runs the CLI on this host with the ssh config of `key`. */
  push(key: ServeKey, receive: string, ...extra: string[]): ReturnType<typeof runCli>;
}

/** A sender with tree ROOT, ROOT/a, ROOT/a/b holding files, and one snapshot. */
function host(prefix: string): Host {
  const pool = bed.pool(prefix);
  const local = `${pool.name}/host`;
  zfs('create', local);
  const mnt = mkdtempSync(join(pool.dir, 'mnt-'));
  mountTree(local, mnt);
  for (const ds of ['a', 'a/b']) zfs('create', `${local}/${ds}`);
  for (const ds of ['', 'a', 'a/b']) writeRandomFile(join(mnt, ds), 'one.bin', 40_000);
  zfs('snapshot', '-r', `${local}@${DAY1}`);
  return {
    pool,
    local,
    mnt,
    push: (key, receive, ...extra) => runCli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', key.config, ...extra]),
  };
}

/** An offsite host's pool with a `backup` parent for the received trees. */
function offsite(): { pool: TestPool; backup: string } {
  const pool = bed.pool('czbsvo', '512M');
  zfs('create', `${pool.name}/backup`);
  return { pool, backup: `${pool.name}/backup` };
}

const props = (root: string) =>
  zfs('list', '-H', '-o', 'name,canmount,readonly,mountpoint', '-t', 'filesystem', '-r', root)
    .trim()
    .split('\n')
    .map((l) => l.replace(root, 'R'));

test('a push through serve needs no sender flag: full, incremental and a new child arrive as an exact mirror; serve logs each receive with the client and its root', (t) => {
  const h = host('czbsv1');
  const o = offsite();
  const root = `${o.backup}/host`;
  const key = bed.sshd.addServeKey('mirror', ['--root', root]);

  const full = h.push(key, root, '--force-non-incremental', '--debug');
  t.is(full.code, 0, full.stderr);
  t.regex(full.stderr, /offsite answers as serve\n/);
  t.regex(full.stderr, /remote="cyber-zfs-backup-serve\/1 probe \S+"/);
  t.notRegex(full.stderr, /remote="env PATH/, 'no plain command line is ever sent to serve');
  t.deepEqual(treeSignature(root), treeSignature(h.local));
  t.deepEqual(props(root), [`R\tnoauto\ton\t/srv/backup/${hostnameOf()}`, `R/a\tnoauto\ton\t/srv/backup/${hostnameOf()}/a`, `R/a/b\tnoauto\ton\t/srv/backup/${hostnameOf()}/a/b`]);

  zfs('snapshot', '-r', `${h.local}@${DAY2}`);
  zfs('create', `${h.local}/a/new`);
  writeRandomFile(join(h.mnt, 'a/new'), 'new.bin', 30_000);
  zfs('snapshot', '-r', `${h.local}@${DAY3}`);
  const inc = h.push(key, root, '-v');
  t.is(inc.code, 0, inc.stderr);
  t.regex(inc.stderr, /pushed \S+@2026-11-03T00:00:00Z \(incremental from @2026-11-01T00:00:00Z\)/);
  t.deepEqual(treeSignature(root), treeSignature(h.local));
  t.deepEqual(snapshotsByDataset(root).get('a/new'), [DAY3]);
  t.deepEqual(fingerprintReceived(root, mkdtempSync(join(o.pool.dir, 'mnt-'))), fingerprintMounted(h.mnt));
  t.is(userrefs(`${h.local}@${DAY3}`), 1, 'the base hold moved');

  const log = readFileSync(key.log, 'utf8');
  t.regex(log, new RegExp(`notice: zfs receive -F -u ${root} for 127\\.0\\.0\\.1 port \\d+ \\(root ${root}\\): received in [\\d.]+ s`));
  t.is(log.match(/: received in /g)?.length, 2, log);
});

test('--dry-run through serve changes nothing on either side, for a first and for an incremental push', (t) => {
  const h = host('czbsv2');
  const o = offsite();
  const root = `${o.backup}/host`;
  const key = bed.sshd.addServeKey('dry', ['--root', root]);
  const before = [poolState(h.pool.name), poolState(o.pool.name)];
  const first = h.push(key, root, '--force-non-incremental', '--dry-run');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /dry run: would send .*\(full\)/);
  t.deepEqual([poolState(h.pool.name), poolState(o.pool.name)], before);
  t.is(h.push(key, root, '--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${h.local}@${DAY2}`);
  const after = [poolState(h.pool.name), poolState(o.pool.name)];
  const dry = h.push(key, root, '-n');
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /dry run: would send .*@2026-11-02T00:00:00Z \(incremental from @2026-11-01T00:00:00Z\)/);
  t.deepEqual([poolState(h.pool.name), poolState(o.pool.name)], after);
  t.notRegex(readFileSync(key.log, 'utf8'), /received in .*\n.*received in /, 'one receive only: the real push');
});

test('two hosts, two keys, two roots on one offsite host: each pushes its own tree and cannot list, receive into or change the other', (t) => {
  const zippy = host('czbsv3');
  const zappy = host('czbsv4');
  const o = offsite();
  const zippyRoot = `${o.backup}/zippy`;
  const zappyRoot = `${o.backup}/zappy`;
  const zippyKey = bed.sshd.addServeKey('zippy', ['--root', zippyRoot]);
  const zappyKey = bed.sshd.addServeKey('zappy', ['--root', zappyRoot]);
  t.is(zippy.push(zippyKey, zippyRoot, '--force-non-incremental').code, 0);
  t.is(zappy.push(zappyKey, zappyRoot, '--force-non-incremental').code, 0);
  t.deepEqual(treeSignature(zippyRoot), treeSignature(zippy.local));
  t.deepEqual(treeSignature(zappyRoot), treeSignature(zappy.local));

  const zappyBefore = poolState(o.pool.name);
  // zippy's key aimed at zappy's tree: refused at the probe, nothing received or listed.
  const into = zippy.push(zippyKey, zappyRoot);
  t.is(into.code, 77, into.stderr);
  t.regex(into.stderr, new RegExp(`probing ${zappyRoot}: the offsite host's serve refused it \\(".*": ${zappyRoot} is outside this key's root \\(${zippyRoot}\\)\\)`));
  const forced = zippy.push(zippyKey, zappyRoot, '--force-non-incremental');
  t.is(forced.code, 77, forced.stderr);
  t.is(poolState(o.pool.name), zappyBefore);
  // Its own tree still works, and a new snapshot of each lands only in its own root.
  zfs('snapshot', '-r', `${zippy.local}@${DAY2}`);
  t.is(zippy.push(zippyKey, zippyRoot).code, 0);
  t.deepEqual(treeSignature(zappyRoot), treeSignature(zappy.local));
  t.deepEqual(treeSignature(zippyRoot), treeSignature(zippy.local));
  t.regex(readFileSync(zippyKey.log, 'utf8'), new RegExp(`warning: refused ".*probe ${zappyRoot}" for 127\\.0\\.0\\.1 port \\d+ \\(root ${zippyRoot}\\)`));
});

test('ransomware drill, append-only: whatever the sender does (overwrite, destroy every snapshot, push, --force-non-incremental, crafted streams), the offsite copy keeps every earlier snapshot and its data', (t) => {
  const h = host('czbsv5');
  const o = offsite();
  const root = `${o.backup}/host`;
  const key = bed.sshd.addServeKey('ransom', ['--root', root, '--append-only']);
  t.is(h.push(key, root, '--force-non-incremental').code, 0);
  writeRandomFile(join(h.mnt, 'a'), 'two.bin', 40_000);
  zfs('snapshot', '-r', `${h.local}@${DAY2}`);
  t.is(h.push(key, root).code, 0);
  const good = fingerprintMounted(h.mnt);
  const kept = treeSignature(root);
  t.is(kept.length, 6, kept.join('\n'));

  // The attacker encrypts the data in place, snapshots and pushes: the garbage arrives as a NEW snapshot.
  for (const ds of ['', 'a', 'a/b']) writeRandomFile(join(h.mnt, ds), 'one.bin', 40_000);
  zfs('snapshot', '-r', `${h.local}@${DAY3}`);
  t.is(h.push(key, root).code, 0);
  // Then destroys every earlier snapshot and pushes again: the sender's loss does not reach the copy.
  zfs('release', '-r', `cyber-zfs-backup:offsite:${root}`, `${h.local}@${DAY3}`);
  for (const s of [DAY1, DAY2]) zfs('destroy', '-r', `${h.local}@${s}`);
  zfs('snapshot', '-r', `${h.local}@2026-11-04T00:00:00Z`);
  const again = h.push(key, root, '-v');
  t.is(again.code, 0, again.stderr);
  // Then destroys everything and starts over: refused, with and without --force-non-incremental.
  for (const s of [DAY3, '2026-11-04T00:00:00Z']) {
    zfsTry('release', '-r', `cyber-zfs-backup:offsite:${root}`, `${h.local}@${s}`);
    zfs('destroy', '-r', `${h.local}@${s}`);
  }
  zfs('snapshot', '-r', `${h.local}@2026-11-05T00:00:00Z`);
  for (const extra of [[], ['--force-non-incremental']]) {
    const r = h.push(key, root, ...extra);
    t.is(r.code, 65, r.stderr);
    t.regex(r.stderr, /none in common/);
  }
  // A compromised sender crafting its own requests fares no better.
  const before = poolState(o.pool.name);
  const ssh = (command: string, input?: Buffer) => spawnSync('ssh', ['-F', key.config, 'offsite', command], { input: input ?? Buffer.alloc(0), encoding: 'utf8' });
  const fullStream = execFileSync('zfs', ['send', '-R', `${h.local}@2026-11-05T00:00:00Z`], { maxBuffer: 64 * 1048576 });
  for (const [command, input] of [
    [`cyber-zfs-backup-serve/1 receive ${root} mode=tree mountpoint=/srv/backup/host`, fullStream],
    [`cyber-zfs-backup-serve/1 repair rollback=${root}@${DAY1}`, undefined],
    [`cyber-zfs-backup-serve/1 repair destroy=${root}/a`, undefined],
    [`zfs destroy -r ${root}@${DAY1}`, undefined],
  ] as const) {
    const r = ssh(command, input);
    t.true(r.status === 77 || (r.status === 1 && /must specify -F|destination .* exists/i.test(r.stderr)), `${command}: exit ${r.status}: ${r.stderr}`);
  }
  t.is(poolState(o.pool.name), before);

  for (const line of kept) t.true(treeSignature(root).includes(line), `kept ${line}`);
  t.deepEqual(snapshotsByDataset(root).get(''), [DAY1, DAY2, DAY3, '2026-11-04T00:00:00Z']);
  // The data of the last good snapshot is all there: a clone of it on the offsite host reads the same files.
  const clone = `${o.pool.name}/check`;
  zfs('clone', '-o', `mountpoint=${mkdtempSync(join(o.pool.dir, 'clone-'))}`, `${root}@${DAY2}`, clone);
  for (const ds of ['a', 'a/b']) zfs('clone', `${root}/${ds}@${DAY2}`, `${clone}/${ds}`);
  const mounted = zfs('get', '-H', '-o', 'value', 'mountpoint', clone).trim();
  t.deepEqual(fingerprintMounted(mounted), good);
});

function hostnameOf(): string {
  return execFileSync('hostname', { encoding: 'utf8' }).trim().split('.')[0] ?? 'localhost';
}

test("the offsite host's own expire: a shorter policy there keeps the newest (the next base) and every dataset's newest; the next push is still incremental", (t) => {
  const h = host('czbsv6');
  const o = offsite();
  const root = `${o.backup}/host`;
  const key = bed.sshd.addServeKey('expire', ['--root', root, '--append-only']);
  t.is(h.push(key, root, '--force-non-incremental').code, 0);
  const hours = ['2026-11-02T01:00:00Z', '2026-11-02T02:00:00Z', '2026-11-02T03:00:00Z', '2026-11-03T01:00:00Z'];
  for (const s of hours) zfs('snapshot', '-r', `${h.local}@${s}`);
  t.is(h.push(key, root).code, 0);
  // A push cut after the root: the child a/b stays at 11-03T01 while the root gets 11-03T02.
  zfs('snapshot', '-r', `${h.local}@2026-11-03T02:00:00Z`);
  execFileSync('sh', ['-c', 'zfs send -I @2026-11-03T01:00:00Z "$1" | zfs receive -u "$2"', 'sh', `${h.local}@2026-11-03T02:00:00Z`, root]);
  execFileSync('sh', ['-c', 'zfs send -I @2026-11-03T01:00:00Z "$1" | zfs receive -u "$2"', 'sh', `${h.local}/a@2026-11-03T02:00:00Z`, `${root}/a`]);

  // The offsite host keeps one a day there (the sender keeps 31): run as its timer would.
  const expire = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '0', '0', '--force-destroy-lots', '-v'], { env: { CYBER_ZFS_BACKUP_LOCK_DIR: mkdtempSync(join(o.pool.dir, 'lock-')) } });
  t.is(expire.code, 0, expire.stderr);
  t.regex(expire.stderr, /keeping \S+@2026-11-03T01:00:00Z: it is the newest snapshot of a dataset in the tree/);
  const there = snapshotsByDataset(root);
  t.deepEqual(there.get(''), [DAY1, '2026-11-02T03:00:00Z', '2026-11-03T01:00:00Z', '2026-11-03T02:00:00Z']);
  t.deepEqual(there.get('a/b'), [DAY1, '2026-11-02T03:00:00Z', '2026-11-03T01:00:00Z'], "a/b's newest survives");

  // The receiver now lacks snapshots the sender has, and a/b is behind: the next push heals forward and is incremental.
  zfs('snapshot', '-r', `${h.local}@2026-11-04T00:00:00Z`);
  const next = h.push(key, root, '-v');
  t.is(next.code, 0, next.stderr);
  t.regex(next.stderr, /bringing \S+\/a\/b forward from @2026-11-03T01:00:00Z to @2026-11-03T02:00:00Z/);
  t.regex(next.stderr, /pushed \S+@2026-11-04T00:00:00Z \(incremental from @2026-11-03T02:00:00Z\)/);
  for (const [ds, snaps] of snapshotsByDataset(root)) t.deepEqual(snaps.slice(-2), ['2026-11-03T02:00:00Z', '2026-11-04T00:00:00Z'], ds);
  // And the sender expiring more than the offsite host keeps is fine too: the copy keeps its own.
  for (const s of hours.slice(0, 3)) zfs('destroy', '-r', `${h.local}@${s}`);
  zfs('snapshot', '-r', `${h.local}@2026-11-05T00:00:00Z`);
  const later = h.push(key, root);
  t.is(later.code, 0, later.stderr);
  t.true(snapshotsByDataset(root).get('')?.includes('2026-11-02T03:00:00Z'));
});

test('append-only heals a cut push only forward; where only a rollback would do, exit 65 with the exact command for the offsite host, and after it the next push heals', (t) => {
  const h = host('czbsv7');
  const o = offsite();
  const root = `${o.backup}/host`;
  const key = bed.sshd.addServeKey('forward', ['--root', root, '--append-only']);
  t.is(h.push(key, root, '--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${h.local}@${DAY2}`);
  // A child that got further than the root (it arrived before the root in a cut stream).
  execFileSync('sh', ['-c', 'zfs send -I @2026-11-01T00:00:00Z "$1" | zfs receive -u "$2"', 'sh', `${h.local}/a/b@${DAY2}`, `${root}/a/b`]);
  zfs('snapshot', '-r', `${h.local}@${DAY3}`);
  const before = poolState(o.pool.name);
  const r = h.push(key, root);
  t.is(r.code, 65, r.stderr);
  t.regex(r.stderr, /the offsite copy is append-only, and a cut push left 1 dataset\(s\) there that only a rollback or destroy can bring back in line/);
  t.regex(r.stderr, new RegExp(`\\n  zfs rollback -r ${root}/a/b@2026-11-01T00:00:00Z\\n`));
  t.is(poolState(o.pool.name), before);
  // The administrator of the offsite host runs exactly that, and the next push heals by itself.
  execFileSync('zfs', ['rollback', '-r', `${root}/a/b@${DAY1}`]);
  const heal = h.push(key, root);
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(root), treeSignature(h.local));
});

const badServeFlags: Array<[string[], RegExp]> = [
  [['--stale-receive-after', '5'], /^cyber-zfs-backup serve: --stale-receive-after: 5 s is outside 10\.\.86400 s .*; fix the command= of this key in authorized_keys \(see cyber-zfs-backup serve --help\)$/],
  [['--stale-receive-after', '2m'], /^cyber-zfs-backup serve: --stale-receive-after: "2m" is not a whole number of seconds; fix the command= of this key/],
  [['--stale-receive-after'], /^cyber-zfs-backup serve: --stale-receive-after: "" is not a whole number of seconds; fix the command= of this key/],
];
for (const [flags, line] of badServeFlags) {
  test(`serve ${flags.join(' ')} in a key's command=: exit 64 with one line, before any request is read`, (t) => {
    const r = runCli(['serve', '--root', 'tank/backup/zippy', ...flags], { env: { SSH_ORIGINAL_COMMAND: 'zfs list' } });
    t.is(r.code, 64, r.stderr);
    t.deepEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr.trim(), line);
    t.is(r.stdout, '');
  });
}
