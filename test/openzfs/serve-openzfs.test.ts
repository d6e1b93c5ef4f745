// serve on real OpenZFS as an unprivileged user holding only the `zfs allow` permissions README.rst documents: mirror push with a cut push resumed, and append-only.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliAsync } from '../bed/cli';
import { fingerprintMounted, fingerprintReceived, mountTree, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { snapshotsByDataset, treeSignature, zfs, zfsTry, type TestPool } from '../bed/pools';
import { startRelay } from '../bed/relay';
import type { ServeKey } from '../bed/sshd';

const USER = 'czbserve';
const README = readFileSync(new URL('../../README.rst', import.meta.url), 'utf8');

/** The permission lists README.rst gives, in its order: for mirror copies, then for append-only ones. */
const [MIRROR, APPEND_ONLY] = [...README.matchAll(/# zfs allow -u zfs-backup (\S+) tank\/backup/g)].map((m) => m[1] as string);

test.before(() => {
  // Not a skip: this file exists to test OpenZFS, so anything else is a broken setup.
  const version = zfsTry('version');
  if (version.status !== 0) throw new Error(`zfs here is not OpenZFS ("zfs version" failed); run this file with "sudo npm run test:openzfs"`);
  if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['--system', '--create-home', '--shell', '/bin/sh', USER]);
  // A locked account (the "!" useradd leaves) may not log in with a key when sshd runs without PAM.
  execFileSync('usermod', ['-p', '*', USER]);
});
const bed = useBed(test);

interface Setup {
  local: string;
  mnt: string;
  offsite: TestPool;
  root: string;
  key: ServeKey;
}

/** A sender tree with files, and an offsite pool whose `backup` parent is delegated to USER with `permissions` only. */
function setUp(prefix: string, permissions: string, appendOnly: boolean): Setup {
  const senderPool = bed.pool(`${prefix}s`, '512M');
  const offsite = bed.pool(`${prefix}o`, '512M');
  const local = `${senderPool.name}/host`;
  zfs('create', local);
  const mnt = mkdtempSync(join(senderPool.dir, 'mnt-'));
  mountTree(local, mnt);
  zfs('create', `${local}/a`);
  writeRandomFile(join(mnt, 'a'), 'one.bin', 200_000);
  zfs('snapshot', '-r', `${local}@2026-11-01T00:00:00Z`);
  zfs('create', '-o', 'mountpoint=none', `${offsite.name}/backup`);
  zfs('allow', '-u', USER, permissions, `${offsite.name}/backup`);
  const root = `${offsite.name}/backup/host`;
  const key = bed.sshd.addServeKey(prefix, ['--root', root, ...(appendOnly ? ['--append-only'] : [])], { user: USER });
  return { local, mnt, offsite, root, key };
}

const push = (s: Setup, ...extra: string[]) => runCli(['--action', 'push', '--dataset', s.local, '--zfs-receive-dataset', s.root, '--ssh-config', s.key.config, ...extra]);

function resumeTokens(root: string): string[] {
  return zfsTry('get', '-H', '-o', 'name,value', '-r', 'receive_resume_token', root).stdout.split('\n').filter((l) => l && !l.endsWith('\t-'));
}

test('README documents two zfs allow lines, and the append-only one has no destroy or rollback', (t) => {
  t.truthy(MIRROR);
  t.truthy(APPEND_ONLY);
  t.deepEqual(MIRROR?.split(',').filter((p) => !APPEND_ONLY?.split(',').includes(p)), ['destroy', 'rollback']);
});

test.serial(`mirror: serve as ${USER} with the documented permissions pushes full and incremental, a new child, and resumes a cut push`, async (t) => {
  const s = setUp('czbsvm', MIRROR as string, false);
  const full = push(s, '--force-non-incremental', '--debug');
  t.is(full.code, 0, full.stderr);
  t.regex(full.stderr, /offsite answers as serve/);
  t.regex(full.stderr, /remote="cyber-zfs-backup-serve\/1 receive \S+ mode=tree mountpoint=\/srv\/backup\/\S+"/);
  t.deepEqual(treeSignature(s.root), treeSignature(s.local));
  t.regex(readFileSync(s.key.log, 'utf8'), /notice: zfs receive -F -u -s -o canmount=noauto -o readonly=on -o mountpoint=\/srv\/backup\/\S+ \S+ for 127\.0\.0\.1/);

  zfs('create', `${s.local}/b`);
  writeRandomFile(join(s.mnt, 'b'), 'new.bin', 100_000);
  // The bulk goes into an existing dataset: OpenZFS keeps a partial receive of an incremental
  // (receive -s), not of a filesystem new in the -R stream ("checksum mismatch or incomplete stream").
  for (let i = 0; i < 3; i += 1) writeRandomFile(join(s.mnt, 'a'), `big${i}.bin`, 6 * 1048576);
  zfs('snapshot', '-r', `${s.local}@2026-11-02T00:00:00Z`);
  // Cut the push mid-stream: OpenZFS keeps the partial receive (receive -s), owned by serve's user.
  const relay = await startRelay(bed.sshd.port, { cutAfter: 5 * 1048576 });
  const kh = join(bed.sshd.dir, `known_hosts.relay${relay.port}`);
  writeFileSync(kh, `${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${relay.port} `)}\n`);
  const viaRelay = bed.sshd.writeConfig(`cfg.relay${relay.port}`, [`Port ${relay.port}`, `UserKnownHostsFile ${kh}`, `User ${USER}`], 'offsite', s.key.key);
  const cut = await runCliAsync(['--action', 'push', '--dataset', s.local, '--zfs-receive-dataset', s.root, '--ssh-config', viaRelay]);
  await relay.close();
  t.is(cut.code, 69, cut.stderr);
  // The offsite host's zfs receive ends when it reads the end of its cut stream, which may be a moment after the sender gave up.
  const waited = Date.now();
  while (resumeTokens(s.root).length === 0 && Date.now() - waited < 60_000) execFileSync('sleep', ['1']);
  t.log(`the partial receive was saved ${((Date.now() - waited) / 1000).toFixed(0)} s after the sender ended`);
  t.true(resumeTokens(s.root).length >= 1, 'the cut receive left a resume token');
  const heal = push(s, '-v');
  t.is(heal.code, 0, heal.stderr);
  t.regex(heal.stderr, /resuming the interrupted receive of \S+/);
  t.deepEqual(resumeTokens(s.root), []);
  t.deepEqual(treeSignature(s.root), treeSignature(s.local));
  t.deepEqual(fingerprintReceived(s.root, mkdtempSync(join(s.offsite.dir, 'mnt-'))), fingerprintMounted(s.mnt));
});

test.serial(`append-only: serve as ${USER} without destroy or rollback keeps every snapshot the sender expires; zfs itself refuses that user a destroy`, (t) => {
  const s = setUp('czbsva', APPEND_ONLY as string, true);
  t.is(push(s, '--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${s.local}@2026-11-02T00:00:00Z`);
  const inc = push(s, '--debug');
  t.is(inc.code, 0, inc.stderr);
  t.regex(readFileSync(s.key.log, 'utf8'), /notice: zfs receive -u -s -o canmount=noauto/, 'no -F under --append-only');
  // The sender expires its first snapshot: the copy keeps it.
  zfs('destroy', '-r', `${s.local}@2026-11-01T00:00:00Z`);
  zfs('snapshot', '-r', `${s.local}@2026-11-03T00:00:00Z`);
  const next = push(s);
  t.is(next.code, 0, next.stderr);
  t.deepEqual(snapshotsByDataset(s.root).get('a'), ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z']);
  // Defence in depth: even run by hand as that user, zfs refuses to destroy or roll back.
  for (const args of [['destroy', '-r', `${s.root}@2026-11-01T00:00:00Z`], ['rollback', '-r', `${s.root}@2026-11-02T00:00:00Z`]]) {
    const r = spawnSync('setpriv', ['--reuid', USER, '--regid', USER, '--clear-groups', 'zfs', ...args], { encoding: 'utf8' });
    t.not(r.status, 0);
    t.regex(r.stderr, /permission denied/i);
  }
  t.deepEqual(snapshotsByDataset(s.root).get(''), ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z']);
});
