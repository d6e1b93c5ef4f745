// Table tests for the push planner: full, incremental, up to date, repairs of a cut push, and refusals.
import test from 'ava';
import { likelyIncrement, planReplication, pushTarget, type ReplicationPlan } from '../../src/core/replication-plan';
import { A, B, C, D, makeTree } from './tree-fixtures';


interface Case {
  title: string;
  local: Record<string, string[]>;
  remote: Record<string, string[]> | undefined;
  force?: boolean;
  expected: ReplicationPlan | ((plan: ReplicationPlan) => boolean);
}

const cases: Case[] = [
  { title: 'remote absent, no force: refused, naming the target', local: { '': [`${A}:1`] }, remote: undefined, expected: { kind: 'refused', refusal: { reason: 'remote-absent', target: A } } },
  { title: 'remote absent, forced: full send of the newest', local: { '': [`${A}:1`, `${B}:2`] }, remote: undefined, force: true, expected: { kind: 'full', target: B } },
  { title: 'remote root exists without snapshots, no force: refused', local: { '': [`${A}:1`] }, remote: { '': [] }, expected: { kind: 'refused', refusal: { reason: 'remote-empty', receiveDataset: 'off/h', target: A } } },
  { title: 'remote root exists without snapshots, forced: full', local: { '': [`${A}:1`] }, remote: { '': [] }, force: true, expected: { kind: 'full', target: A } },
  { title: 'no snapshot of ours locally: refused', local: { '': ['manual:1'] }, remote: undefined, force: true, expected: { kind: 'refused', refusal: { reason: 'no-local-snapshot', dataset: 'tank/h' } } },
  { title: 'normal incremental from the newest common snapshot', local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] }, remote: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] }, expected: { kind: 'incremental', base: B, target: C, repairs: [], catchUps: [] } },
  { title: 'up to date', local: { '': [`${A}:1`, `${B}:2`] }, remote: { '': [`${A}:1`, `${B}:2`] }, expected: { kind: 'up-to-date', base: B, repairs: [], catchUps: [] } },
  { title: 'target is the newest of ours even when a foreign snapshot is newer', local: { '': [`${A}:1`, `${B}:2`, 'manual:3'] }, remote: { '': [`${A}:1`] }, expected: { kind: 'incremental', base: A, target: B, repairs: [], catchUps: [] } },
  { title: 'a foreign snapshot can be the base', local: { '': [`${A}:1`, 'manual:2', `${B}:3`] }, remote: { '': [`${A}:1`, 'manual:2'] }, expected: { kind: 'incremental', base: 'manual', target: B, repairs: [], catchUps: [] } },
  { title: 'same names, other GUIDs: no common snapshot, even forced', local: { '': [`${A}:1`, `${B}:2`] }, remote: { '': [`${A}:91`, `${B}:92`] }, force: true, expected: (p) => p.kind === 'refused' && p.refusal.reason === 'no-common-snapshot' && p.refusal.evidence.sameNameOtherGuid.length === 2 },
  { title: 'disjoint histories: no common snapshot', local: { '': [`${C}:3`] }, remote: { '': [`${A}:1`] }, expected: (p) => p.kind === 'refused' && p.refusal.reason === 'no-common-snapshot' && p.refusal.evidence.remoteNewest[0]?.name === A && p.refusal.evidence.localNewest[0]?.name === C },
  { title: 'a child created after the base is carried by the stream (no repair)', local: { '': [`${A}:1`, `${B}:2`], kid: [`${B}:22`] }, remote: { '': [`${A}:1`] }, expected: { kind: 'incremental', base: A, target: B, repairs: [], catchUps: [] } },
  { title: 'a dataset destroyed locally is dropped by the receiver (no repair, no refusal)', local: { '': [`${A}:1`, `${B}:2`] }, remote: { '': [`${A}:1`], gone: [`${A}:31`] }, expected: { kind: 'incremental', base: A, target: B, repairs: [], catchUps: [] } },
  {
    title: 'cut push: root and one child reached the target, another child did not; the laggard catches up on its own, nothing is rolled back',
    local: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`], y: [`${A}:21`, `${B}:22`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`], y: [`${A}:21`] },
    expected: { kind: 'up-to-date', base: B, repairs: [], catchUps: [{ kind: 'catch-up', relative: 'y', from: A, to: B }] },
  },
  {
    title: 'cut push with a newer snapshot since: laggards catch up to the root, then the stream goes on from there',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`], x: [`${A}:11`, `${B}:12`, `${C}:13`, `${D}:14`], y: [`${A}:21`, `${B}:22`, `${C}:23`, `${D}:24`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`], y: [`${A}:21`] },
    expected: { kind: 'incremental', base: C, target: D, repairs: [], catchUps: [{ kind: 'catch-up', relative: 'x', from: B, to: C }, { kind: 'catch-up', relative: 'y', from: A, to: C }] },
  },
  {
    title: 'catch-up and the usual repairs together: a half-received newcomer is destroyed, and rolling back a snapshot the sender has is fine',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`], x: [`${A}:11`, `${B}:12`, `${C}:13`, `${D}:14`], kid: [`${D}:44`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`, `${D}:14`], kid: [`${D}:44`] },
    expected: {
      kind: 'incremental',
      base: C,
      target: D,
      repairs: [{ kind: 'rollback', relative: 'x', to: C, discards: [D] }, { kind: 'destroy', relative: 'kid', snapshots: [D] }],
      catchUps: [],
    },
  },
  {
    title: 'a receiver-only snapshot is never rolled back, even beside catch-ups: refused, naming it (it could never be sent again)',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`], kid: [`${C}:43`] },
    remote: { '': [`${A}:1`, `${B}:2`, 'theirs:9'], x: [`${A}:11`], kid: [`${C}:43`] },
    expected: { kind: 'refused', refusal: { reason: 'receiver-ahead', base: B, datasets: [{ relative: '', snapshots: ['theirs'] }] } },
  },
  {
    title: 'a laggard holding a snapshot the sender lacks cannot catch up, and rolling it back would lose it: refused',
    local: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, 'theirs:9'] },
    expected: { kind: 'refused', refusal: { reason: 'receiver-ahead', base: A, datasets: [{ relative: 'x', snapshots: ['theirs'] }] } },
  },
  {
    title: 'a child that got further than the root (a cut push) is rolled back to the root, discarding only what the sender has',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`], x: [`${A}:11`, `${B}:12`] },
    expected: { kind: 'incremental', base: A, target: C, repairs: [{ kind: 'rollback', relative: 'x', to: A, discards: [B] }], catchUps: [] },
  },
  {
    title: 'a laggard whose older snapshots the sender has expired since still catches up from its newest',
    local: { '': [`${B}:2`, `${C}:3`], x: [`${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`] },
    expected: { kind: 'up-to-date', base: C, repairs: [], catchUps: [{ kind: 'catch-up', relative: 'x', from: B, to: C }] },
  },
  {
    title: 'a laggard with no snapshot in common with the sender: refused as diverged, never caught up',
    local: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${A}:91`] },
    expected: (p) => p.kind === 'refused' && p.refusal.reason === 'tree-diverged',
  },
  {
    title: 'cut push: a new child arrived only in part; it is destroyed and sent again whole',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], kid: [`${B}:42`, `${C}:43`] },
    remote: { '': [`${A}:1`], kid: [`${B}:42`] },
    expected: { kind: 'incremental', base: A, target: C, repairs: [{ kind: 'destroy', relative: 'kid', snapshots: [B] }], catchUps: [] },
  },
  {
    title: 'a destroyed new child takes its own children with it (one repair)',
    local: { '': [`${A}:1`, `${B}:2`], kid: [`${B}:42`], 'kid/sub': [`${B}:52`] },
    remote: { '': [`${A}:1`], kid: [`${B}:42`], 'kid/sub': [`${B}:52`] },
    expected: { kind: 'incremental', base: A, target: B, repairs: [{ kind: 'destroy', relative: 'kid', snapshots: [B] }], catchUps: [] },
  },
  {
    title: 'a receiver-only newer snapshot (an older snapshot was restored here since) is never rolled back: refused',
    local: { '': [`${A}:1`, `${B}:2`] },
    remote: { '': [`${A}:1`, 'remote-only:77'] },
    expected: { kind: 'refused', refusal: { reason: 'receiver-ahead', base: A, datasets: [{ relative: '', snapshots: ['remote-only'] }] } },
  },
  {
    title: 'a same-named new child on the receiver with foreign snapshots: refused as diverged',
    local: { '': [`${A}:1`, `${B}:2`], kid: [`${B}:42`] },
    remote: { '': [`${A}:1`], kid: ['theirs:99'] },
    expected: (p) => p.kind === 'refused' && p.refusal.reason === 'tree-diverged' && /holds @theirs/.test(p.refusal.problems.join()),
  },
  {
    title: 'a child missing on the receiver (a first push cut before it arrived) is sent whole, with what is below it',
    local: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`], 'x/y': [`${A}:21`, `${B}:22`] },
    remote: { '': [`${A}:1`] },
    expected: { kind: 'incremental', base: A, target: B, repairs: [], catchUps: [{ kind: 'whole', relative: 'x', to: A }] },
  },
  {
    title: 'the newest root-common snapshot is another lineage in a child: rolling it back would lose it, so refused',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:99`] },
    expected: { kind: 'refused', refusal: { reason: 'receiver-ahead', base: A, datasets: [{ relative: 'x', snapshots: [B] }] } },
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    const plan = planReplication(makeTree('tank/h', c.local), c.remote ? makeTree('off/h', c.remote) : undefined, c.force ?? false);
    if (typeof c.expected === 'function') t.true(c.expected(plan), JSON.stringify(plan));
    else t.deepEqual(plan, c.expected);
  });
}

// A push may start zfs send on the stream the roots alone call for, and takes it only if the plan
// asks for exactly that stream: the guess must agree with the plan wherever the plan is incremental.
// (A refused plan stops whatever was started, so the guess does not matter there.)
for (const c of cases.filter((x) => planReplication(makeTree('tank/h', x.local), x.remote ? makeTree('off/h', x.remote) : undefined, false).kind !== 'refused')) {
  test(`the roots' likely stream: ${c.title}`, (t) => {
    const local = makeTree('tank/h', c.local);
    const remote = c.remote ? makeTree('off/h', c.remote) : undefined;
    const plan = planReplication(local, remote, false);
    const likely = likelyIncrement(local, remote);
    if (plan.kind === 'incremental') t.deepEqual(likely, { base: plan.base, target: plan.target });
    else t.is(likely, undefined, 'no stream, or a full one: nothing to start early');
  });
}

test("the roots' likely stream can differ from the plan's (so the push compares them): a child holds the newer snapshot but not the root's base", (t) => {
  const local = makeTree('tank/h', { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] });
  const remote = makeTree('off/h', { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${C}:13`] });
  t.deepEqual(likelyIncrement(local, remote), { base: B, target: C });
  const plan = planReplication(local, remote, false);
  t.is(plan.kind, 'incremental');
  t.is(plan.kind === 'incremental' ? plan.base : undefined, A);
});

test('no likely stream while the receiver holds a partial receive anywhere: the push resumes or aborts it first and plans on what is there then', (t) => {
  const local = makeTree('tank/h', { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] });
  const remote = makeTree('off/h', { '': [`${A}:1`], x: [`${A}:11`] });
  t.deepEqual(likelyIncrement(local, remote), { base: A, target: B });
  const x = remote.datasets.get('x');
  if (x) x.resumeToken = '1-abc-def';
  t.is(likelyIncrement(local, remote), undefined);
});

test("no likely stream without the receiver's root, or with nothing of ours on it", (t) => {
  const local = makeTree('tank/h', { '': [`${A}:1`, `${B}:2`] });
  t.is(likelyIncrement(local, undefined), undefined);
  t.is(likelyIncrement(local, makeTree('off/h', { '': [] })), undefined);
  t.is(likelyIncrement(local, makeTree('off/h', { '': [`${A}:91`] })), undefined);
  t.is(likelyIncrement(local, makeTree('off/h', { '': [`${A}:1`, `${B}:2`] })), undefined, 'up to date');
});

test('pushTarget is undefined for an empty tree', (t) => {
  t.is(pushTarget({ root: 'x', datasets: new Map() }), undefined);
});
