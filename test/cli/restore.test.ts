// Integration: restore through the built CLI from a real offsite copy (real pools, real sshd): the drill, --snapshot, beside the live tree, the refusals, a cut restore, serve.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync, type CliResult } from '../bed/cli';
import { fingerprintMounted, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { poolState, treeSignature, userrefs, zfs, zfsTry, type TestPool } from '../bed/pools';
import { startRelay } from '../bed/relay';

const bed = useBed(test);
const OPENZFS = zfsTry('version').status === 0;
const [S1, S2, S3, S4] = ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z'];
const BIG = 6 * 1048576;

/** `relative canmount readonly mountpoint` of every filesystem of a tree (relative to its root). */
function mountProps(root: string): string[] {
  return zfs('list', '-H', '-o', 'name,canmount,readonly,mountpoint', '-t', 'filesystem', '-r', root)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(root, 'ROOT'));
}

function exists(dataset: string): boolean {
  return zfsTry('list', '-H', '-o', 'name', dataset).status === 0;
}

function bytesOf(stderr: string, word: 'pulled' | 'pushed'): number {
  return [...stderr.matchAll(new RegExp(`${word} .*?: (\\d+) bytes in`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
}

interface Scenario {
  localPool: TestPool;
  receiverPool: TestPool;
  local: string;
  receive: string;
  mnt: string;
  other: string;
  config: string;
  tag: string;
  cli(args: string[], config?: string): Promise<CliResult>;
  restore(dataset: string, ...extra: string[]): Promise<CliResult>;
  push(dataset: string, ...extra: string[]): Promise<CliResult>;
  /** File checksums of the live tree: root (and a) below mnt, c at its own mount point. */
  files(): string[];
}

/**
 * A tree as a host has it: the root mounted at mnt, child a inheriting below it (with a big file from
 * @S2 on), a/b canmount=noauto, c read-only at its own mount point; three snapshots, each pushed.
 */
async function scenario(t: ExecutionContext, config: (receiverPool: TestPool) => string): Promise<Scenario> {
  const localPool = bed.pool('czbrl');
  const receiverPool = bed.pool('czbrr', '512M');
  const local = `${localPool.name}/host`;
  const receive = `${receiverPool.name}/offsite/host`;
  const mnt = join(localPool.dir, 'mnt');
  const other = join(localPool.dir, 'other');
  mkdirSync(mnt);
  mkdirSync(other);
  zfs('create', '-o', `mountpoint=${mnt}`, local);
  zfs('create', `${local}/a`);
  zfs('create', '-o', 'canmount=noauto', `${local}/a/b`);
  zfs('create', '-o', `mountpoint=${other}`, `${local}/c`);
  zfs('create', `${receiverPool.name}/offsite`);
  const cfg = config(receiverPool);
  const cli = (args: string[], c = cfg) => runCliAsync([...args, '--ssh-config', c]);
  const s: Scenario = {
    localPool,
    receiverPool,
    local,
    receive,
    mnt,
    other,
    config: cfg,
    tag: `cyber-zfs-backup:offsite:${receive}`,
    cli,
    restore: (dataset, ...extra) => cli(['--action', 'restore', '--dataset', dataset, '--zfs-receive-dataset', receive, ...extra]),
    push: (dataset, ...extra) => cli(['--action', 'push', '--dataset', dataset, '--zfs-receive-dataset', receive, ...extra]),
    files: () => [...fingerprintMounted(mnt).map((l) => `mnt/${l}`), ...fingerprintMounted(other).map((l) => `other/${l}`)],
  };
  writeFileSync(join(mnt, 'root.txt'), 'the root\n');
  writeRandomFile(join(mnt, 'a'), 'a1.bin', 100_000);
  writeRandomFile(other, 'c1.bin', 50_000);
  zfs('snapshot', '-r', `${local}@${S1}`);
  const first = await s.push(local, '--force-non-incremental');
  t.is(first.code, 0, first.stderr);
  writeRandomFile(join(mnt, 'a'), 'big.bin', BIG);
  zfs('snapshot', '-r', `${local}@${S2}`);
  t.is((await s.push(local)).code, 0);
  writeRandomFile(mnt, 'root2.bin', 30_000);
  zfs('set', 'readonly=on', `${local}/c`);
  zfs('snapshot', '-r', `${local}@${S3}`);
  const third = await s.push(local);
  t.is(third.code, 0, third.stderr);
  return s;
}

/**
 * Destroys the live tree as a lost pool would have it: nothing of it left on this host. zfs-fuse
 * answers "dataset is busy" for a while after a send of the tree or a read of its files (each try
 * destroys a part), so a busy destroy is tried again for up to 20 s.
 */
async function lose(s: Scenario, snapshot: string, dataset = s.local): Promise<void> {
  zfs('release', '-r', s.tag, `${dataset}@${snapshot}`);
  for (let attempt = 1; ; attempt += 1) {
    const r = zfsTry('destroy', '-r', dataset);
    if (r.status === 0) return;
    if (attempt === 40 || !/busy/.test(r.stderr)) throw new Error(`zfs destroy -r ${dataset}: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The drill's checks on a tree restored under the live tree's own name. */
function assertLikeBefore(t: ExecutionContext, s: Scenario, before: { files: string[]; props: string[] }, snapshot: string): void {
  t.deepEqual(mountProps(s.local), before.props, 'mountpoint, canmount and readonly of every filesystem as before');
  t.deepEqual(s.files(), before.files, "every file's SHA-256 as before");
  t.deepEqual(treeSignature(s.local), treeSignature(s.receive), "every snapshot's GUID is the offsite copy's");
  t.is(userrefs(`${s.local}@${snapshot}`), 1, 'the base is held');
  t.is(userrefs(`${s.local}/a/b@${snapshot}`), 1, 'held recursively');
  t.false(exists(`${s.local}.czb-restoring`), 'no temporary tree is left');
}

/** After a restore: a new snapshot and a push that is incremental from the restored one, by the log and by the bytes. */
async function assertNextPushIncremental(t: ExecutionContext, s: Scenario, restoredBytes: number, base: string, next: string): Promise<void> {
  writeRandomFile(s.mnt, `after-${next}.bin`, 20_000);
  zfs('snapshot', '-r', `${s.local}@${next}`);
  const push = await s.push(s.local, '-v');
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, new RegExp(`pushed \\S+@${next} \\(incremental from @${base}\\)`));
  const sent = bytesOf(push.stderr, 'pushed');
  t.true(sent > 0 && sent < restoredBytes / 10, `the push sent ${sent} bytes; the restore pulled ${restoredBytes}`);
  t.deepEqual(treeSignature(s.local), treeSignature(s.receive));
}

test('restore: refusals change nothing; dry run; beside the live tree; an older --snapshot and what the next push does; the drill; a cut restore finished by the next run', async (t) => {
  const s = await scenario(t, () => bed.sshd.config);
  const before = { files: s.files(), props: mountProps(s.local) };
  const state = () => poolState(s.localPool.name) + poolState(s.receiverPool.name);

  // Refusals: one line each, nothing changed on either side.
  const unchanged = state();
  const taken = await s.restore(s.local);
  t.is(taken.code, 65, taken.stderr);
  t.regex(taken.stderr, new RegExp(`^cyber-zfs-backup: ${s.local} already exists on this host, so nothing was restored; restore beside it with --dataset ${s.localPool.name}/restored`, 'm'));
  const missing = await s.cli(['--action', 'restore', '--dataset', `${s.localPool.name}/x`, '--zfs-receive-dataset', `${s.receiverPool.name}/offsite/nothere`]);
  t.is(missing.code, 66, missing.stderr);
  t.regex(missing.stderr, /^cyber-zfs-backup: the offsite copy offsite:\S+\/nothere does not exist, so there is nothing to restore/m);
  const noSnap = await s.restore(`${s.localPool.name}/x`, '--snapshot', '2026-10-01T00:00:00Z');
  t.is(noSnap.code, 65, noSnap.stderr);
  t.regex(noSnap.stderr, new RegExp(`^cyber-zfs-backup: offsite:\\S+ has no snapshot @2026-10-01T00:00:00Z, so nothing was restored; its newest are @${S3}, @${S2}, @${S1}`, 'm'));
  for (const r of [taken, missing, noSnap]) t.is(r.stderr.split('\n').filter((l) => l.startsWith('cyber-zfs-backup: ')).length, 1, r.stderr);
  const dry = await s.restore(`${s.localPool.name}/restored`, '-n');
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, new RegExp(`dry run: would restore offsite:\\S+@${S3} \\(4 dataset\\(s\\), 12 snapshot\\(s\\)\\) into ${s.localPool.name}/restored, about [\\d.]+ MiB`));
  t.is(state(), unchanged, 'refusals and the dry run changed nothing');

  // Beside the live tree: restored whole, but nothing of it mounts over the live one.
  const beside = `${s.localPool.name}/restored`;
  const b = await s.restore(beside);
  t.is(b.code, 0, b.stderr);
  t.regex(b.stderr, /restored filesystem\(s\) would mount where something is mounted now/);
  t.deepEqual(treeSignature(beside), treeSignature(s.receive));
  t.deepEqual(s.files(), before.files, 'the live tree is untouched');
  t.deepEqual(mountProps(s.local), before.props);
  t.is(zfs('get', '-H', '-o', 'value', 'mounted', s.local).trim(), 'yes');
  t.deepEqual(
    zfs('list', '-H', '-o', 'name,canmount,mounted', '-t', 'filesystem', '-r', beside).split('\n').filter(Boolean).map((l) => l.replace(beside, 'R')),
    ['R\tnoauto\tno', 'R/a\tnoauto\tno', 'R/a/b\tnoauto\tno', 'R/c\tnoauto\tno'],
  );
  await lose(s, S3, beside);

  // An older snapshot: it warns up front; the next push from it refuses (65) and sends nothing.
  const old = `${s.localPool.name}/old`;
  const o = await s.restore(old, '--snapshot', S1);
  t.is(o.code, 0, o.stderr);
  t.regex(o.stderr, new RegExp(`holds 2 snapshot\\(s\\) newer than @${S1} \\(@${S3}, @${S2}\\) that ${old} will not have: the next push from this host refuses \\(exit 65\\)`));
  t.deepEqual(treeSignature(old), treeSignature(s.receive).filter((l) => l.includes(`@${S1} `)));
  t.is(userrefs(`${old}@${S1}`), 1);
  const receiverBefore = poolState(s.receiverPool.name);
  const refusedPush = await s.push(old);
  t.is(refusedPush.code, 65, refusedPush.stderr);
  t.regex(refusedPush.stderr, new RegExp(`refusing to push ${old} .* holds \\d+ snapshot\\(s\\) newer than the common base @${S1}`));
  t.is(poolState(s.receiverPool.name), receiverBefore);
  await lose(s, S1, old);

  // The drill: the live tree is lost; restore; everything as before; the next push is incremental.
  await lose(s, S3);
  const r = await s.restore(s.local);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`restored offsite:\\S+@${S3} into ${s.local}: 4 dataset\\(s\\), 12 snapshot\\(s\\), \\d+ bytes .* every snapshot checked by GUID; the base hold is on ${s.local}@${S3}`));
  assertLikeBefore(t, s, before, S3);
  const pulled = bytesOf(r.stderr, 'pulled');
  t.true(pulled > BIG, `pulled ${pulled} bytes`);
  await assertNextPushIncremental(t, s, pulled, S3, S4);

  // Lost again; a restore cut mid-stream leaves no tree under the real name; the next run finishes it.
  const before2 = { files: s.files(), props: mountProps(s.local) };
  await lose(s, S4);
  const relay = await startRelay(bed.sshd.port, { cutAfter: 3 * 1048576 });
  const cut = await s.cli(['--action', 'restore', '--dataset', s.local, '--zfs-receive-dataset', s.receive], relayConfig(relay.port));
  await relay.close();
  t.is(cut.code, 69, cut.stderr);
  t.regex(cut.stderr, /^cyber-zfs-backup: restore of \S+ from offsite:\S+ failed after [\d.]+ MiB: the connection closed without an exit status/m);
  t.false(exists(s.local), 'never a half tree under the real name');
  t.true(exists(`${s.local}.czb-restoring`), 'the cut restore is kept aside');
  const finish = await s.restore(s.local);
  t.is(finish.code, 0, finish.stderr);
  t.regex(finish.stderr, OPENZFS ? /resuming the cut restore of \S+\.czb-restoring/ : /holds a restore that was cut and is not continued \(this zfs cannot resume a receive\): destroying it and starting again/);
  assertLikeBefore(t, s, before2, S4);
  await assertNextPushIncremental(t, s, bytesOf(finish.stderr, 'pulled') + bytesOf(cut.stderr, 'pulled'), S4, '2026-11-05T00:00:00Z');
});

test('restore through serve: the drill with the offsite host running serve as the key\'s forced command', async (t) => {
  const s = await scenario(t, (receiverPool) => bed.sshd.addServeKey(`restore${receiverPool.name}`, ['--root', `${receiverPool.name}/offsite`]).config);
  const before = { files: s.files(), props: mountProps(s.local) };
  await lose(s, S3);
  const dry = await s.restore(s.local, '--dry-run', '--debug');
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /answers as serve/);
  t.regex(dry.stderr, /dry run: would restore/);
  t.false(exists(s.local));
  const r = await s.restore(s.local);
  t.is(r.code, 0, r.stderr);
  assertLikeBefore(t, s, before, S3);
  await assertNextPushIncremental(t, s, bytesOf(r.stderr, 'pulled'), S3, S4);
});

/** An ssh_config for `Host offsite` through the relay on this port, its host key recorded for that port. */
function relayConfig(port: number): string {
  const kh = join(bed.sshd.dir, `known_hosts.relay${port}`);
  writeFileSync(kh, `${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${port} `)}\n`);
  return bed.sshd.writeConfig(`cfg.relay${port}`, [`Port ${port}`, `UserKnownHostsFile ${kh}`]);
}
