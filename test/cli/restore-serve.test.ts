// Integration: the restore drill against an offsite host whose key runs serve as its forced command (real sshd, zfs-fuse tier).
import test from 'ava';
import { useBed } from '../bed/fixture';
import { assertLikeBefore, assertNextPushIncremental, bytesOf, exists, lose, mountProps, pushedScenario, S3, S4 } from '../bed/restore-scenario';

const bed = useBed(test);

test("the drill through serve: pushed, lost, restored by serve's read-only sends inside the key's root; as before; the next push is incremental", async (t) => {
  const s = await pushedScenario(t, bed, (receiverPool) => bed.sshd.addServeKey(`restore-${receiverPool.name}`, ['--root', `${receiverPool.name}/offsite`]).config);
  const before = { files: s.files(), props: mountProps(s.local) };
  await lose(s, S3);
  const r = await s.restore(s.local, '--debug');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /answers as serve/);
  t.regex(r.stderr, /cyber-zfs-backup-serve\/1 restore-info /);
  t.regex(r.stderr, new RegExp(`cyber-zfs-backup-serve/1 send ${s.receive}@${S3}`));
  assertLikeBefore(t, s, before, S3);
  t.false(exists(`${s.local}.czb-restoring`));
  await assertNextPushIncremental(t, s, bytesOf(r.stderr, 'pulled'), S3, S4);
});
