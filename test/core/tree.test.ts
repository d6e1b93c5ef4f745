// Tests of parsing `zfs get -H -p -o name,property,value -r guid,createtxg,userrefs` output into a tree, and of the tree after a recursive destroy.
import test from 'ava';
import { heldSnapshotNames, onlyRoot, parseTree, partialReceives, TreeParseError, withoutSnapshots } from '../../src/core/tree';

const OUTPUT = [
  'tank/h\tguid\t111', 'tank/h\tcreatetxg\t7', 'tank/h\tuserrefs\t-',
  'tank/h@2026-11-02T00:00:00Z\tguid\t13000000000000000001', 'tank/h@2026-11-02T00:00:00Z\tcreatetxg\t30', 'tank/h@2026-11-02T00:00:00Z\tuserrefs\t1',
  'tank/h@2026-11-01T00:00:00Z\tguid\t12', 'tank/h@2026-11-01T00:00:00Z\tcreatetxg\t20', 'tank/h@2026-11-01T00:00:00Z\tuserrefs\t0',
  'tank/h/a/b\tguid\t333', 'tank/h/a/b\tcreatetxg\t9', 'tank/h/a/b\tuserrefs\t-',
  'tank/h/a\tguid\t222', 'tank/h/a\tcreatetxg\t8', 'tank/h/a\tuserrefs\t-',
  'tank/h/a@2026-11-01T00:00:00Z\tguid\t22', 'tank/h/a@2026-11-01T00:00:00Z\tcreatetxg\t20', 'tank/h/a@2026-11-01T00:00:00Z\tuserrefs\t0',
  'tank/h#bookmark\tguid\t99', 'tank/home\tguid\t5',
  '',
].join('\n');

test('datasets parents first, snapshots by createtxg, GUIDs kept exact as strings, holds counted', (t) => {
  const tree = parseTree('tank/h', OUTPUT);
  t.deepEqual([...tree.datasets.keys()], ['', 'a', 'a/b']);
  const root = tree.datasets.get('');
  t.deepEqual(root?.snapshots.map((s) => s.name), ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z']);
  t.is(root?.snapshots[1]?.guid, '13000000000000000001');
  t.deepEqual(tree.datasets.get('a/b')?.snapshots, []);
  t.deepEqual([...heldSnapshotNames(tree)], ['2026-11-02T00:00:00Z']);
});

test('onlyRoot keeps the root dataset with its snapshots and nothing below it; a tree without its root is empty', (t) => {
  const root = onlyRoot(parseTree('tank/h', OUTPUT));
  t.deepEqual([...root.datasets.keys()], ['']);
  t.is(root.root, 'tank/h');
  t.is(root.datasets.get('')?.snapshots.length, 2);
  t.is(onlyRoot({ root: 'tank/h', datasets: new Map() }).datasets.size, 0);
});

test('partialReceives names the datasets with a resume token, parents first, and none in a tree without one', (t) => {
  const withToken = `${OUTPUT}tank/h/a/b\treceive_resume_token\t1-abc\ntank/h/a\treceive_resume_token\t-\n`;
  t.deepEqual(partialReceives(parseTree('tank/h', withToken)).map((d) => [d.relative, d.resumeToken]), [['a/b', '1-abc']]);
  t.deepEqual(partialReceives(parseTree('tank/h', OUTPUT)), []);
});

test('a line that is not three tab-separated fields is an error, not silently skipped', (t) => {
  t.throws(() => parseTree('tank/h', 'tank/h guid 1\n'), { instanceOf: TreeParseError });
});

test('a snapshot without its guid or createtxg is an error', (t) => {
  t.throws(() => parseTree('tank/h', 'tank/h\tguid\t1\ntank/h@x\tuserrefs\t0\n'), { instanceOf: TreeParseError });
});

test('an empty listing is an empty tree', (t) => {
  t.is(parseTree('tank/h', '').datasets.size, 0);
});

test('a receive_resume_token marks a dataset with partial receive state; "-" means none', (t) => {
  const tree = parseTree('off/h', ['off/h\tguid\t1', 'off/h\treceive_resume_token\t-', 'off/h/a\tguid\t2', 'off/h/a\treceive_resume_token\t1-e2f2c6e1d-c8-789c636064000310a5', ''].join('\n'));
  t.is(tree.datasets.get('')?.resumeToken, undefined);
  t.is(tree.datasets.get('a')?.resumeToken, '1-e2f2c6e1d-c8-789c636064000310a5');
});

// withoutSnapshots(tree, names): the tree after `zfs destroy -r ROOT@NAME` of each name.
const N1 = '2026-11-01T00:00:00Z';
const N2 = '2026-11-02T00:00:00Z';
const after: Array<[string, string[], Record<string, string[]>]> = [
  ['nothing destroyed: the same tree', [], { '': [N1, N2], a: [N1], 'a/b': [] }],
  ['a name goes from every dataset that has it', [N1], { '': [N2], a: [], 'a/b': [] }],
  ['a name only the root has', [N2], { '': [N1], a: [N1], 'a/b': [] }],
  ['every name', [N1, N2], { '': [], a: [], 'a/b': [] }],
  ['a name no dataset has changes nothing', ['2020-01-01T00:00:00Z'], { '': [N1, N2], a: [N1], 'a/b': [] }],
];
for (const [what, names, expected] of after) {
  test(`withoutSnapshots: ${what}`, (t) => {
    const tree = parseTree('tank/h', OUTPUT);
    const before = JSON.stringify([...tree.datasets]);
    const left = withoutSnapshots(tree, names);
    t.deepEqual(Object.fromEntries([...left.datasets].map(([rel, ds]) => [rel, ds.snapshots.map((s) => s.name)])), expected);
    t.is(left.root, 'tank/h');
    t.deepEqual([...left.datasets.keys()], ['', 'a', 'a/b'], 'datasets keep their order, parents first');
    t.is(left.datasets.get('')?.snapshots.find((s) => s.name === N2)?.userrefs ?? 1, 1, 'what is left keeps its hold count');
    t.is(JSON.stringify([...tree.datasets]), before, 'the tree it was given is unchanged');
  });
}
