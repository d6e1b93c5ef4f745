// Table tests of the restore's decisions: which snapshot, what the stream brings, what is newer, the flags, how a cut restore goes on.
import test from 'ava';
import { parseCapabilities } from '../../src/core/capabilities';
import { chooseSnapshot, newerThan, planRestoreForward, restoreSendFlags, restoringName, strangerSnapshots, treeAt, type ForwardPlan } from '../../src/core/restore-plan';
import type { DatasetTree } from '../../src/core/tree';
import { A, B, C, D, makeTree } from './tree-fixtures';

const R = 'tank/offsite/zippy';
const T = 'zippy/zippy.czb-restoring';

/** A tree whose txgs follow the given global order (makeTree numbers each dataset on its own). */
function withTxgs(tree: DatasetTree, txgs: Record<string, number>): DatasetTree {
  for (const ds of tree.datasets.values()) for (const s of ds.snapshots) s.createtxg = txgs[`${ds.relative}@${s.name}`] ?? s.createtxg;
  return tree;
}

test('restoringName: a sibling with a suffix no snapshot tool uses', (t) => {
  t.is(restoringName('zippy/zippy'), 'zippy/zippy.czb-restoring');
});

test('chooseSnapshot: the newest by default; a named one; refusals name the newest five, newest first', (t) => {
  const tree = makeTree(R, { '': [`${A}:1`, `${B}:2`, `${C}:3`], home: [`${A}:11`, `${B}:12`, `${C}:13`] });
  const newest = chooseSnapshot(tree, undefined);
  t.true(newest.ok && newest.snapshot.name === C && newest.lacking.length === 0 && newest.passedOver.length === 0);
  const named = chooseSnapshot(tree, A);
  t.true(named.ok && named.snapshot.name === A);
  t.deepEqual(chooseSnapshot(tree, 'nope'), { ok: false, reason: 'not-found', newest: [C, B, A] });
  t.deepEqual(chooseSnapshot(makeTree(R, { '': [] }), undefined), { ok: false, reason: 'no-snapshots', newest: [] });
  const many = makeTree(R, { '': ['a:1', 'b:2', 'c:3', 'd:4', 'e:5', 'f:6'] });
  t.deepEqual(chooseSnapshot(many, 'x'), { ok: false, reason: 'not-found', newest: ['f', 'e', 'd', 'c', 'b'] });
});

test('chooseSnapshot: by default passes over a newest snapshot a child that existed then lacks (a cut push); a child made later does not count', (t) => {
  const tree = withTxgs(makeTree(R, { '': [`${A}:1`, `${B}:2`, `${C}:3`], home: [`${A}:11`, `${B}:12`], later: [`${C}:23`] }), {
    [`@${A}`]: 10,
    [`home@${A}`]: 11,
    [`@${B}`]: 20,
    [`home@${B}`]: 21,
    [`@${C}`]: 30,
    [`later@${C}`]: 31,
  });
  const choice = chooseSnapshot(tree, undefined);
  t.true(choice.ok);
  if (!choice.ok) return;
  t.is(choice.snapshot.name, B);
  t.deepEqual(choice.passedOver, [C]);
  t.deepEqual(choice.lacking, []);
  const named = chooseSnapshot(tree, C);
  t.true(named.ok && named.snapshot.name === C);
  if (named.ok) t.deepEqual(named.lacking, ['home'], 'a named snapshot is taken, and what it leaves out is said');
  const child = withTxgs(makeTree(R, { '': [`${A}:1`, `${B}:2`], late: [`${B}:12`] }), { [`@${A}`]: 10, [`@${B}`]: 20, [`late@${B}`]: 21 });
  const c2 = chooseSnapshot(child, undefined);
  t.true(c2.ok && c2.snapshot.name === B && c2.lacking.length === 0, 'a child created after @A does not hold the root back');
});

test('treeAt: the datasets holding the snapshot, each with its snapshots up to it; newerThan: what the restored host will not have', (t) => {
  const tree = makeTree(R, { '': [`${A}:1`, `${B}:2`, `${C}:3`], a: [`${A}:11`, `${B}:12`, `${C}:13`], later: [`${C}:23`] });
  const at = treeAt(tree, B);
  t.deepEqual([...at.datasets.keys()], ['', 'a']);
  t.deepEqual(at.datasets.get('a')?.snapshots.map((s) => s.name), [A, B]);
  t.deepEqual(newerThan(tree, B), [
    { relative: '', snapshots: [C] },
    { relative: 'a', snapshots: [C] },
  ]);
  t.deepEqual(newerThan(tree, C), []);
});

const openzfs = parseCapabilities('usage:\n\tversion\n\tsend [-DLPbcehnpsvw] [-i|-I snapshot] [-R [-X dataset[,dataset]...]] <snapshot>\n\treceive [-FhMnsuv] [-o <property>=<value>] [-x <property>] <filesystem>\n');
const fuse = parseCapabilities('usage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n\treceive [-vnF] <filesystem|volume|snapshot>\n');

test('restoreSendFlags: L e c only into OpenZFS; raw (w) and never b for an encrypted tree; b otherwise where the offsite zfs has it', (t) => {
  t.deepEqual(restoreSendFlags(openzfs, openzfs, false), ['L', 'e', 'c', 'b']);
  t.deepEqual(restoreSendFlags(openzfs, openzfs, true), ['L', 'e', 'c', 'w']);
  t.deepEqual(restoreSendFlags(openzfs, fuse, false), ['b'], 'a zfs-fuse receiver cannot read -L -e -c streams');
  t.deepEqual(restoreSendFlags(fuse, fuse, false), []);
  t.deepEqual(restoreSendFlags(fuse, openzfs, false), []);
});

const wanted = makeTree(R, { '': [`${A}:1`, `${B}:2`, `${C}:3`], a: [`${A}:11`, `${B}:12`, `${C}:13`], 'a/b': [`${A}:21`, `${B}:22`, `${C}:23`], c: [`${A}:31`, `${B}:32`, `${C}:33`] });

const rows: Array<{ name: string; partial: DatasetTree; plan: ForwardPlan }> = [
  {
    name: 'whole already: nothing to do',
    partial: makeTree(T, { '': [`${A}:1`, `${B}:2`, `${C}:3`], a: [`${A}:11`, `${B}:12`, `${C}:13`], 'a/b': [`${A}:21`, `${B}:22`, `${C}:23`], c: [`${A}:31`, `${B}:32`, `${C}:33`] }),
    plan: { kind: 'complete' },
  },
  {
    name: 'cut in child a (resumed up to @B): a forward on its own, a/b whole (its descendants come with it), c whole',
    partial: makeTree(T, { '': [`${A}:1`, `${B}:2`, `${C}:3`], a: [`${A}:11`, `${B}:12`] }),
    plan: {
      kind: 'steps',
      steps: [
        { kind: 'incremental', relative: 'a', from: B, to: C },
        { kind: 'whole', relative: 'a/b', to: C },
        { kind: 'whole', relative: 'c', to: C },
      ],
    },
  },
  {
    name: 'a missing child with its own child: one whole step covers both',
    partial: makeTree(T, { '': [`${A}:1`, `${B}:2`, `${C}:3`], c: [`${A}:31`, `${B}:32`, `${C}:33`] }),
    plan: { kind: 'steps', steps: [{ kind: 'whole', relative: 'a', to: C }] },
  },
  { name: 'a partial receive left: start again', partial: (() => { const p = makeTree(T, { '': [`${A}:1`] }); (p.datasets.get('') as { resumeToken?: string }).resumeToken = '1-ab-cd-ef'; return p; })(), plan: { kind: 'restart', reason: `${T} still holds a partial receive` } },
  { name: 'another GUID: start again', partial: makeTree(T, { '': [`${A}:1`, `${B}:99`] }), plan: { kind: 'restart', reason: `${T}@${B} is not the offsite copy's (name or GUID)` } },
  { name: 'newer than the snapshot asked for now: start again', partial: makeTree(T, { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`] }), plan: { kind: 'restart', reason: `${T}@${D} is not the offsite copy's (name or GUID)` } },
  { name: 'a dataset the offsite copy does not have: start again', partial: makeTree(T, { '': [`${A}:1`], x: [`${A}:41`] }), plan: { kind: 'restart', reason: `${T}/x is not in the offsite copy at @${C}` } },
  { name: 'a dataset without snapshots: start again', partial: makeTree(T, { '': [`${A}:1`], a: [] }), plan: { kind: 'restart', reason: `${T}/a holds no snapshot` } },
];

for (const row of rows) {
  test(`planRestoreForward: ${row.name}`, (t) => {
    t.deepEqual(planRestoreForward(wanted, row.partial, C), row.plan);
  });
}

test('strangerSnapshots: a temporary tree is ours to destroy only when all it holds is the offsite copy\'s', (t) => {
  t.deepEqual(strangerSnapshots(wanted, makeTree(T, { '': [`${A}:1`, `${B}:2`], a: [] })), []);
  t.deepEqual(strangerSnapshots(wanted, makeTree(T, { '': [`${A}:1`, `mine:77`] })), [`${T}@mine`]);
  t.deepEqual(strangerSnapshots(wanted, makeTree(T, { '': [`${A}:2`] })), [`${T}@${A}`], 'same name, other GUID');
});
