// Table tests of what the received tree needs set so that it never mounts by itself, is read-only, and mounts only below the backup mount point.
import test from 'ava';
import { listReceivedArgs, parseReceivedFilesystems, ReceivedListError, receivedPropertyFixes, type ReceivedFilesystem } from '../../src/core/received-properties';

const R = 'tank/offsite/zippy';
const MP = '/srv/backup/zippy';
const fs = (relative: string, canmount: string, readonly: string, mountpoint: string): ReceivedFilesystem => ({ relative, canmount, readonly, mountpoint });
const safeRoot = fs('', 'noauto', 'on', MP);

const rows: Array<{ name: string; tree: ReceivedFilesystem[]; fixes: string[][] }> = [
  { name: 'a safe tree (children inherit below the mount point) needs nothing', tree: [safeRoot, fs('home', 'noauto', 'on', `${MP}/home`), fs('home/u', 'off', 'on', `${MP}/home/u`)], fixes: [] },
  {
    name: 'the root as zfs-fuse leaves it (no receive -o): all three set',
    tree: [fs('', 'on', 'off', '/')],
    fixes: [['set', 'canmount=noauto', R], ['set', 'readonly=on', R], ['set', `mountpoint=${MP}`, R]],
  },
  { name: 'the root mounted elsewhere, even below the backup mount point, is set back', tree: [fs('', 'noauto', 'on', `${MP}/x`)], fixes: [['set', `mountpoint=${MP}`, R]] },
  {
    name: 'a child the sender mounts at /home, writable, mountable: set below the mount point, read-only, noauto',
    tree: [safeRoot, fs('home', 'on', 'off', '/home')],
    fixes: [['set', 'canmount=noauto', `${R}/home`], ['set', 'readonly=on', `${R}/home`], ['set', `mountpoint=${MP}/home`, `${R}/home`]],
  },
  { name: 'a child with canmount=on but a safe mount point still gets noauto (OpenZFS does not pass -o canmount to children)', tree: [safeRoot, fs('a', 'on', 'on', `${MP}/a`)], fixes: [['set', 'canmount=noauto', `${R}/a`]] },
  { name: 'mountpoint none and legacy never mount by themselves: kept', tree: [safeRoot, fs('n', 'noauto', 'on', 'none'), fs('l', 'noauto', 'on', 'legacy')], fixes: [] },
  { name: 'a child on the root mount point itself, or on a sibling path sharing its prefix, is moved', tree: [safeRoot, fs('a', 'noauto', 'on', MP), fs('b', 'noauto', 'on', `${MP}-other/b`)], fixes: [['set', `mountpoint=${MP}/a`, `${R}/a`], ['set', `mountpoint=${MP}/b`, `${R}/b`]] },
  { name: 'a grandchild below a moved child is set to its own path', tree: [safeRoot, fs('a', 'noauto', 'on', '/a'), fs('a/b', 'noauto', 'on', '/a/b')], fixes: [['set', `mountpoint=${MP}/a`, `${R}/a`], ['set', `mountpoint=${MP}/a/b`, `${R}/a/b`]] },
  { name: 'a read-write child alone gets readonly=on', tree: [safeRoot, fs('a', 'noauto', 'off', `${MP}/a`)], fixes: [['set', 'readonly=on', `${R}/a`]] },
];

for (const row of rows) {
  test(`receivedPropertyFixes: ${row.name}`, (t) => {
    t.deepEqual(receivedPropertyFixes(R, MP, row.tree), row.fixes);
  });
}

test('listReceivedArgs lists filesystems only, with the three properties, recursively', (t) => {
  t.deepEqual(listReceivedArgs(R), ['list', '-H', '-o', 'name,canmount,readonly,mountpoint', '-t', 'filesystem', '-r', R]);
});

test('parseReceivedFilesystems reads zfs list -H lines, relative to the receive dataset; a malformed line is an error', (t) => {
  const out = `${R}\tnoauto\ton\t${MP}\n${R}/home\ton\toff\t/home\ntank/offsite/zippyother\ton\toff\t/x\n`;
  t.deepEqual(parseReceivedFilesystems(R, out), [safeRoot, fs('home', 'on', 'off', '/home')]);
  t.deepEqual(parseReceivedFilesystems(R, ''), []);
  t.throws(() => parseReceivedFilesystems(R, `${R} noauto on ${MP}\n`), { instanceOf: ReceivedListError });
});
