// OpenZFS only (run in the guest by npm run test:openzfs): a tree with an encrypted child is restored raw, its encryption hierarchy intact, and opens with its own key.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, type CliResult } from '../bed/cli';
import { fingerprintMounted, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { treeSignature, userrefs, zfs, zfsTry } from '../bed/pools';

// The CLI runs on Debian's node 18 in the guest (guest-tests.sh sets CZB_CLI_NODE), ava on node 20.
const CLI_NODE = process.env.CZB_CLI_NODE ?? process.execPath;

test.before(() => {
  // Not a skip: this file exists to test OpenZFS, so anything else is a broken setup.
  const version = zfsTry('version');
  if (version.status !== 0) throw new Error(`zfs here is not OpenZFS ("zfs version" failed: ${version.stderr.trim()}); run this file with "sudo npm run test:openzfs"`);
});
const bed = useBed(test);

function cli(args: string[]): CliResult {
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  const r = spawnSync(CLI_NODE, [CLI, ...args, '--ssh-config', bed.sshd.config], { encoding: 'utf8', env, timeout: 600_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const props = (root: string, list: string) =>
  zfs('get', '-H', '-o', 'name,property,value', '-t', 'filesystem', '-r', list, root)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(root, 'ROOT'));

test('an encrypted child comes back raw: same GUIDs, its own encryption root, locked until its key is loaded, then the same files; the next push is incremental', (t) => {
  const localPool = bed.pool('czbel', '512M');
  const receiverPool = bed.pool('czber', '512M');
  const local = `${localPool.name}/host`;
  const receive = `${receiverPool.name}/offsite/host`;
  const mnt = join(localPool.dir, 'mnt');
  mkdirSync(mnt);
  const key = join(localPool.dir, 'passphrase');
  writeFileSync(key, 'correct horse battery staple\n', { mode: 0o600 });
  zfs('create', '-o', `mountpoint=${mnt}`, local);
  zfs('create', '-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', `keylocation=file://${key}`, `${local}/sec`);
  zfs('create', `${local}/sec/inner`);
  zfs('create', '-o', 'readonly=on', `${local}/plain`);
  zfs('create', `${receiverPool.name}/offsite`);
  writeRandomFile(mnt, 'root.bin', 50_000);
  writeRandomFile(join(mnt, 'sec'), 'secret.bin', 200_000);
  writeRandomFile(join(mnt, 'sec', 'inner'), 'inner.bin', 100_000);
  const A = '2026-11-01T00:00:00Z';
  const B = '2026-11-02T00:00:00Z';
  zfs('snapshot', '-r', `${local}@${A}`);
  const push = (...extra: string[]) => cli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, ...extra]);
  t.is(push('--force-non-incremental').code, 0);
  t.is(zfs('get', '-H', '-o', 'value', 'keystatus', `${receive}/sec`).trim(), 'unavailable', 'the offsite host never had the key');
  const files = fingerprintMounted(mnt);
  const before = [...props(local, 'canmount,readonly,mountpoint,encryptionroot,keylocation')];

  zfs('release', '-r', `cyber-zfs-backup:offsite:${receive}`, `${local}@${A}`);
  zfs('destroy', '-r', local);
  const r = cli(['--action', 'restore', '--dataset', local, '--zfs-receive-dataset', receive, '--debug']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /zfs send -R (-\w )*-w /, 'sent raw');
  t.notRegex(r.stderr, /zfs send -R (-\w )*-b /, 'without -b (OpenZFS 2.1 aborts receiving a raw -R -b stream)');
  t.regex(r.stderr, new RegExp(`${local}/sec, ${local}/sec/inner came back encrypted and raw, as the offsite copy holds them: their key is not loaded, so 2 did not mount; .*zfs load-key -r ${local}`));
  t.deepEqual(treeSignature(local), treeSignature(receive));
  t.is(userrefs(`${local}/sec/inner@${A}`), 1);
  t.deepEqual(zfs('get', '-H', '-o', 'value', 'keystatus', `${local}/sec`, `${local}/sec/inner`).split('\n').filter(Boolean), ['unavailable', 'unavailable']);

  // What the README says: load the key (from its keylocation, which came back), then mount.
  zfs('load-key', '-r', local);
  zfs('mount', `${local}/sec`);
  zfs('mount', `${local}/sec/inner`);
  t.deepEqual(props(local, 'canmount,readonly,mountpoint,encryptionroot,keylocation'), before, 'properties and encryption hierarchy as before');
  t.deepEqual(fingerprintMounted(mnt), files);

  writeRandomFile(join(mnt, 'sec'), 'after.bin', 10_000);
  zfs('snapshot', '-r', `${local}@${B}`);
  const next = push('-v');
  t.is(next.code, 0, next.stderr);
  t.regex(next.stderr, new RegExp(`pushed \\S+@${B} \\(incremental from @${A}\\)`));
  t.deepEqual(treeSignature(local), treeSignature(receive));
});
