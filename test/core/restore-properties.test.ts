// Table tests of how a restored tree gets back the canmount, readonly and mountpoint its original had.
import test from 'ava';
import {
  canmountCommands,
  fallbackCommands,
  guardCommands,
  inheritedMountpoint,
  mountConflicts,
  originalValuesArgs,
  parseEncrypted,
  parseOriginalValues,
  parseParentValues,
  parsePropertyStates,
  propertyCommands,
  propertyProblems,
  RestorePropertyError,
  wantedProperties,
  type FilesystemState,
  type PropertyState,
} from '../../src/core/restore-properties';

const R = 'tank/offsite/zippy';
const T = 'zippy/zippy.czb-restoring';
const F = 'zippy/zippy';

// What the offsite copy of a tree shows (zfs-fuse, measured): root mounted at /srv/zippy, a inherits,
// a/b canmount=noauto, c read-only at /data; snapshot lines carry "-".
const OFFSITE = [
  `${R}\tcanmount\t-`,
  `${R}\treadonly\t-`,
  `${R}\tmountpoint\t/srv/zippy`,
  `${R}@x\tcanmount\t-`,
  `${R}/a\tcanmount\t-`,
  `${R}/a\treadonly\t-`,
  `${R}/a\tmountpoint\t-`,
  `${R}/a/b\tcanmount\tnoauto`,
  `${R}/a/b\treadonly\t-`,
  `${R}/a/b\tmountpoint\t-`,
  `${R}/c\tcanmount\t-`,
  `${R}/c\treadonly\ton`,
  `${R}/c\tmountpoint\t/data`,
].join('\n');

test('originalValuesArgs: the received column; OpenZFS lists filesystems only, zfs-fuse has no get -t', (t) => {
  t.deepEqual(originalValuesArgs(R, true), ['get', '-H', '-p', '-o', 'name,property,received', '-t', 'filesystem', '-r', 'canmount,readonly,mountpoint', R]);
  t.deepEqual(originalValuesArgs(R, false), ['get', '-H', '-p', '-o', 'name,property,received', '-r', 'canmount,readonly,mountpoint', R]);
});

test('parseOriginalValues: what the original set, per filesystem; "-" is not set; snapshots are skipped; a bad line is an error', (t) => {
  const values = parseOriginalValues(R, OFFSITE + '\n');
  t.deepEqual([...values.entries()], [
    ['', { mountpoint: '/srv/zippy' }],
    ['a', {}],
    ['a/b', { canmount: 'noauto' }],
    ['c', { readonly: 'on', mountpoint: '/data' }],
  ]);
  t.throws(() => parseOriginalValues(R, `${R}\tcanmount`), { instanceOf: RestorePropertyError });
});

test('wantedProperties: own values kept; the rest inherited along the final names; canmount=on by default', (t) => {
  const wanted = wantedProperties(F, ['', 'a', 'a/b', 'c'], parseOriginalValues(R, OFFSITE), { readonly: 'off', mountpoint: '/zippy' });
  t.deepEqual(wanted.get(''), { canmount: { value: 'on', inherit: false }, readonly: { value: 'off', inherit: true }, mountpoint: { value: '/srv/zippy', inherit: false } });
  t.deepEqual(wanted.get('a'), { canmount: { value: 'on', inherit: false }, readonly: { value: 'off', inherit: true }, mountpoint: { value: '/srv/zippy/a', inherit: true } });
  t.deepEqual(wanted.get('a/b'), { canmount: { value: 'noauto', inherit: false }, readonly: { value: 'off', inherit: true }, mountpoint: { value: '/srv/zippy/a/b', inherit: true } });
  t.deepEqual(wanted.get('c'), { canmount: { value: 'on', inherit: false }, readonly: { value: 'on', inherit: false }, mountpoint: { value: '/data', inherit: false } });
  const rooted = wantedProperties(F, [''], new Map(), { readonly: 'on', mountpoint: '/' });
  t.deepEqual(rooted.get(''), { canmount: { value: 'on', inherit: false }, readonly: { value: 'on', inherit: true }, mountpoint: { value: '/zippy', inherit: true } }, 'the root inherits under its final name, not the temporary one');
});

test('inheritedMountpoint: below a path; none and legacy pass down as they are', (t) => {
  t.is(inheritedMountpoint('/srv', 'a'), '/srv/a');
  t.is(inheritedMountpoint('/', 'a'), '/a');
  t.is(inheritedMountpoint('none', 'a'), 'none');
  t.is(inheritedMountpoint('legacy', 'a'), 'legacy');
});

const st = (value: string, source: PropertyState['source'], received?: string): PropertyState => ({ value, source, received });
/** What a zfs-fuse restore leaves (no send -b): the offsite copy's inert values, received. */
const inert: Array<[string, FilesystemState]> = [
  ['', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/backup/zippy', 'received', '/srv/backup/zippy') }],
  ['a', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/backup/zippy/a', 'inherited') }],
  ['a/b', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/backup/zippy/a/b', 'inherited') }],
  ['c', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/backup/zippy/c', 'received', '/srv/backup/zippy/c') }],
];
/** What an OpenZFS restore with send -b and receive -o mountpoint=none leaves (measured). */
const backup: Array<[string, FilesystemState]> = [
  ['', { canmount: st('on', 'default'), readonly: st('off', 'default'), mountpoint: st('none', 'local', '/srv/zippy') }],
  ['a', { canmount: st('on', 'default'), readonly: st('off', 'default'), mountpoint: st('none', 'inherited') }],
  ['a/b', { canmount: st('noauto', 'received', 'noauto'), readonly: st('off', 'default'), mountpoint: st('none', 'inherited') }],
  ['c', { canmount: st('on', 'default'), readonly: st('on', 'received', 'on'), mountpoint: st('none', 'inherited', '/data') }],
];

const wantedF = () => wantedProperties(F, ['', 'a', 'a/b', 'c'], parseOriginalValues(R, OFFSITE), { readonly: 'off', mountpoint: '/zippy' });

test('guardCommands: what could mount is held at noauto before a mount point is set', (t) => {
  t.deepEqual(guardCommands(T, new Map(inert)), []);
  t.deepEqual(guardCommands(T, new Map(backup)), [['set', 'canmount=noauto', T], ['set', 'canmount=noauto', `${T}/a`], ['set', 'canmount=noauto', `${T}/c`]]);
});

test('propertyCommands on the offsite values (zfs-fuse): inherit what was inherited, set what was set; a right value held by the filesystem itself stays', (t) => {
  t.deepEqual(propertyCommands(T, new Map(inert), wantedF()), [
    ['inherit', 'readonly', T],
    ['set', 'mountpoint=/srv/zippy', T],
    ['inherit', 'readonly', `${T}/a`],
    ['inherit', 'readonly', `${T}/a/b`],
    ['set', 'mountpoint=/data', `${T}/c`],
  ]);
});

test('propertyCommands on received values (send -b): take them back with inherit -S; inherited ones stay', (t) => {
  t.deepEqual(propertyCommands(T, new Map(backup), wantedF()), [['inherit', '-S', 'mountpoint', T], ['inherit', '-S', 'mountpoint', `${T}/c`]]);
});

test('fallbackCommands: where zfs inherit left a received value in force (zfs-fuse), set what it should inherit, by the final name', (t) => {
  const after: Array<[string, FilesystemState]> = [
    ['', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/zippy', 'local', '/srv/backup/zippy') }],
    ['a', { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('/srv/zippy/a', 'inherited') }],
  ];
  t.deepEqual(fallbackCommands(T, new Map(after), wantedF()), [['set', 'readonly=off', T], ['set', 'readonly=off', `${T}/a`]]);
  const masked: Array<[string, FilesystemState]> = [['', { canmount: st('noauto', 'received', 'noauto'), readonly: st('off', 'inherited', 'on'), mountpoint: st('/srv/zippy', 'local') }]];
  t.deepEqual(fallbackCommands(T, new Map(masked), wantedF()), [], 'OpenZFS masks the received value: nothing more');
});

test('canmountCommands: last; back to the received value or the default with inherit -S, otherwise set; noauto where it would mount over something', (t) => {
  const canmount = new Map([['', 'on'], ['a', 'on'], ['a/b', 'noauto'], ['c', 'noauto']]);
  t.deepEqual(canmountCommands(T, new Map(inert), canmount), [['set', 'canmount=on', T], ['set', 'canmount=on', `${T}/a`]]);
  const guarded: Array<[string, FilesystemState]> = backup.map(([r, s]) => [r, { ...s, canmount: s.canmount.value === 'on' ? st('noauto', 'local') : s.canmount }]);
  t.deepEqual(canmountCommands(T, new Map(guarded), canmount), [['inherit', '-S', 'canmount', T], ['inherit', '-S', 'canmount', `${T}/a`]]);
});

test('mountConflicts: a filesystem whose mount point is in use, and what would mount inside it; nothing that never mounts', (t) => {
  const wanted = wantedF();
  t.deepEqual(mountConflicts(wanted, new Set(['/', '/srv/zippy', '/data'])), ['', 'a', 'c']);
  t.deepEqual(mountConflicts(wanted, new Set(['/', '/data'])), ['c']);
  t.deepEqual(mountConflicts(wanted, new Set(['/'])), []);
  t.deepEqual(mountConflicts(wanted, new Set(['/srv/zippy/a/b'])), [], 'a/b is noauto: it never mounts');
});

test('propertyProblems: after the rename, every value that is not the original one', (t) => {
  const wanted = wantedF();
  const good: Array<[string, FilesystemState]> = [
    ['', { canmount: st('on', 'local'), readonly: st('off', 'default'), mountpoint: st('/srv/zippy', 'local') }],
    ['a', { canmount: st('on', 'local'), readonly: st('off', 'inherited'), mountpoint: st('/srv/zippy/a', 'inherited') }],
    ['a/b', { canmount: st('noauto', 'received'), readonly: st('off', 'local'), mountpoint: st('/srv/zippy/a/b', 'local') }],
    ['c', { canmount: st('noauto', 'local'), readonly: st('on', 'local'), mountpoint: st('/data', 'local') }],
  ];
  const canmount = new Map([['', 'on'], ['a', 'on'], ['a/b', 'noauto'], ['c', 'noauto']]);
  t.deepEqual(propertyProblems(F, new Map(good), wanted, canmount), []);
  const bad = new Map(good);
  bad.set('a', { canmount: st('on', 'local'), readonly: st('on', 'received'), mountpoint: st('/srv/zippy/a', 'inherited') });
  bad.delete('c');
  t.deepEqual(propertyProblems(F, bad, wanted, canmount), [`${F}/a has readonly=on, not off`, `${F}/c is missing`]);
});

test('parsePropertyStates: filesystems parents first with value, received and source; a volume and snapshots are left out', (t) => {
  const out = [
    `${T}/a\tcanmount\ton\t-\tdefault`,
    `${T}/a\treadonly\ton\t-\tinherited from ${T}`,
    `${T}/a\tmountpoint\tnone\t/x\tinherited from ${T}`,
    `${T}\tcanmount\tnoauto\tnoauto\treceived`,
    `${T}\treadonly\ton\ton\treceived`,
    `${T}\tmountpoint\tnone\t/srv\tlocal`,
    `${T}@s\tcanmount\t-\t-\t-`,
    `${T}/vol\tcanmount\t-\t-\t-`,
    `${T}/vol\treadonly\toff\t-\tdefault`,
    `${T}/vol\tmountpoint\t-\t-\t-`,
  ].join('\n');
  const states = parsePropertyStates(T, out);
  t.deepEqual([...states.keys()], ['', 'a']);
  t.deepEqual(states.get(''), { canmount: st('noauto', 'received', 'noauto'), readonly: st('on', 'received', 'on'), mountpoint: st('none', 'local', '/srv') });
  t.deepEqual(states.get('a')?.mountpoint, st('none', 'inherited', '/x'));
});

test('parseParentValues and parseEncrypted', (t) => {
  t.deepEqual(parseParentValues('readonly\toff\nmountpoint\t/zippy\n'), { readonly: 'off', mountpoint: '/zippy' });
  t.throws(() => parseParentValues('readonly\toff\n'), { instanceOf: RestorePropertyError });
  t.deepEqual(parseEncrypted(R, `${R}\toff\n${R}/sec\taes-256-gcm\n${R}/sec/in\taes-256-gcm\nother/x\taes-256-gcm\n`), ['sec', 'sec/in']);
});
