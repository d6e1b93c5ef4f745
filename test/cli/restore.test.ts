// Integration: restore through the built CLI from a real offsite copy (real pools, real sshd; zfs-fuse and OpenZFS tiers): refusals, dry run, beside the live tree with an older --snapshot, the drill, a cut restore.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBed } from '../bed/fixture';
import { poolState, treeSignature, userrefs, zfs, zfsTry } from '../bed/pools';
import { startRelay } from '../bed/relay';
import { assertLikeBefore, assertNextPushIncremental, bytesOf, exists, lose, mountProps, pushedScenario, S1, S2, S3, S4, S5, BIG, type Scenario } from '../bed/restore-scenario';

const bed = useBed(test);
const OPENZFS = zfsTry('version').status === 0;

// One tree and one offsite copy for all the steps below (serial: they run in order and build on
// each other); the first step makes it (a before hook could run before the bed's sshd is up).
let made: Scenario | undefined;
const scenario = async (t: ExecutionContext): Promise<Scenario> => (made ??= await pushedScenario(t, bed, () => bed.sshd.config));

test.serial('refusals: the target exists (65), the offsite copy is missing (66), the snapshot is not there (65): one line each; a dry run; nothing changed', async (t) => {
  const s = await scenario(t);
  const state = () => poolState(s.localPool.name) + poolState(s.receiverPool.name);
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
});

test.serial('beside the live tree, an older --snapshot: restored whole without touching the live tree or mounting over it; it warns that the next push refuses, and that push refuses with 65', async (t) => {
  const s = await scenario(t);
  const before = { files: s.files(), props: mountProps(s.local) };
  const old = `${s.localPool.name}/old`;
  const r = await s.restore(old, '--snapshot', S2);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`holds 1 snapshot\\(s\\) newer than @${S2} \\(@${S3}\\) that ${old} will not have: the next push from this host refuses \\(exit 65\\)`));
  t.regex(r.stderr, /3 restored filesystem\(s\) would mount where something is mounted now/);
  t.deepEqual(treeSignature(old), treeSignature(s.receive).filter((l) => !l.includes(`@${S3} `)));
  t.is(userrefs(`${old}@${S2}`), 1);
  t.deepEqual(s.files(), before.files, 'the live tree is untouched');
  t.deepEqual(mountProps(s.local), before.props);
  t.deepEqual(
    zfs('list', '-H', '-o', 'name,canmount,mounted', '-t', 'filesystem', '-r', old).split('\n').filter(Boolean).map((l) => l.replace(old, 'R')),
    ['R\tnoauto\tno', 'R/a\tnoauto\tno', 'R/a/b\tnoauto\tno', 'R/c\tnoauto\tno'],
    'nothing of it mounts over the live tree',
  );
  const receiverBefore = poolState(s.receiverPool.name);
  const push = await s.push(old);
  t.is(push.code, 65, push.stderr);
  t.regex(push.stderr, new RegExp(`refusing to push ${old} .* holds \\d+ snapshot\\(s\\) newer than the common base @${S2}`));
  t.is(poolState(s.receiverPool.name), receiverBefore, 'the offsite copy keeps its newer snapshots');
  await lose(s, S2, old);
});

test.serial('the drill: the live tree is lost; restore; files, properties and GUIDs as before; the next push is incremental', async (t) => {
  const s = await scenario(t);
  const before = { files: s.files(), props: mountProps(s.local) };
  await lose(s, S3);
  const r = await s.restore(s.local);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`restored offsite:\\S+@${S3} into ${s.local}: 4 dataset\\(s\\), 12 snapshot\\(s\\), \\d+ bytes .* every snapshot checked by GUID; the base hold is on ${s.local}@${S3}, so the next push`));
  assertLikeBefore(t, s, before, S3);
  const pulled = bytesOf(r.stderr, 'pulled');
  t.true(pulled > BIG, `pulled ${pulled} bytes`);
  await assertNextPushIncremental(t, s, pulled, S3, S4);
});

test.serial('a restore cut mid-stream leaves no tree under the real name; the next run finishes it (OpenZFS: resumed; zfs-fuse: started again) and it passes the drill', async (t) => {
  const s = await scenario(t);
  const before = { files: s.files(), props: mountProps(s.local) };
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
  assertLikeBefore(t, s, before, S4);
  await assertNextPushIncremental(t, s, bytesOf(finish.stderr, 'pulled') + bytesOf(cut.stderr, 'pulled'), S4, S5);
});

/** An ssh_config for `Host offsite` through the relay on this port, its host key recorded for that port. */
function relayConfig(port: number): string {
  const kh = join(bed.sshd.dir, `known_hosts.relay${port}`);
  writeFileSync(kh, `${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${port} `)}\n`);
  return bed.sshd.writeConfig(`cfg.relay${port}`, [`Port ${port}`, `UserKnownHostsFile ${kh}`]);
}
