// Tests of capability detection from the usage text real zfs command lines print (fixtures captured from them).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseCapabilities } from '../../src/core/capabilities';
import { destroyArgs, destroyBatches, receiveArgs, sendArgs, streamFlags } from '../../src/core/zfs-argv';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const fuse = parseCapabilities(fixture('zfs-fuse-0.7-usage.txt'));

test('zfs-fuse 0.7: legacy, no comma destroys, no list -p, no receive -o, send -R -I only', (t) => {
  t.is(fuse.flavour, 'legacy');
  t.false(fuse.destroyCommaList);
  t.false(fuse.listParsable);
  t.false(fuse.receiveSetsProperties);
  t.false(fuse.holdsCommand);
  t.deepEqual([...fuse.sendFlags].sort(), ['D', 'I', 'R', 'i', 'p']);
  t.true(fuse.receiveFlags.has('F'));
  t.false(fuse.receiveFlags.has('s'));
});

test('zfs-fuse: one destroy per snapshot, receive without -o, no stream flags', (t) => {
  t.deepEqual(destroyArgs('p/h', ['a', 'b'], fuse), [['destroy', '-r', 'p/h@a'], ['destroy', '-r', 'p/h@b']]);
  t.deepEqual(receiveArgs('o/h', fuse, '/srv/backup/h'), ['receive', '-F', '-u', 'o/h']);
  t.deepEqual(streamFlags(fuse, fuse, false), []);
  t.deepEqual(sendArgs('p/h', 'a', 'b', []), ['send', '-R', '-I', '@a', 'p/h@b']);
  t.deepEqual(sendArgs('p/h', undefined, 'b', []), ['send', '-R', 'p/h@b']);
});

test('an unrecognisable usage text yields the most conservative capabilities', (t) => {
  const none = parseCapabilities('something else entirely');
  t.is(none.flavour, 'legacy');
  t.false(none.destroyCommaList);
  t.false(none.receiveSetsProperties);
  t.is(none.sendFlags.size, 0);
});

test('destroy batches: one per snapshot without comma lists; 200 per command with them, names kept with each command', (t) => {
  const names = Array.from({ length: 401 }, (_, i) => `s${i}`);
  const one = destroyBatches('p/h', names.slice(0, 3), { destroyCommaList: false });
  t.deepEqual(one, [
    { snapshots: ['s0'], argv: ['destroy', '-r', 'p/h@s0'] },
    { snapshots: ['s1'], argv: ['destroy', '-r', 'p/h@s1'] },
    { snapshots: ['s2'], argv: ['destroy', '-r', 'p/h@s2'] },
  ]);
  const comma = destroyBatches('p/h', names, { destroyCommaList: true });
  t.deepEqual(comma.map((b) => b.snapshots.length), [200, 200, 1]);
  t.is(comma[0]?.argv[2], `p/h@${names.slice(0, 200).join(',')}`);
  t.deepEqual(comma[2], { snapshots: ['s400'], argv: ['destroy', '-r', 'p/h@s400'] });
  t.deepEqual(destroyBatches('p/h', [], { destroyCommaList: true }), []);
});
