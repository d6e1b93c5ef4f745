// Table tests for the expire valves: future snapshots, the 25% rule, held snapshots, foreign names.
import test from 'ava';
import { planExpire } from '../../src/core/expire-plan';
import { makeTree } from './tree-fixtures';

const NOW = Date.UTC(2026, 10, 22, 22, 45);
const day = (d: number, h = 12) => `2026-11-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
const policy = { days: 31, weeks: 12, months: 36 };

test('several a day: only the latest of each day survives, under 25% goes ahead', (t) => {
  const names = [day(18), day(19), day(20), day(21, 6), day(21)].map((n, i) => `${n}:${i}`);
  const plan = planExpire(makeTree('p/h', { '': names, x: names }), policy, NOW, false);
  t.like(plan, { kind: 'plan', destroy: [day(21, 6)], held: [] });
});

test('more than 25%: nothing destroyed, the numbers reported', (t) => {
  const names = [day(21, 1), day(21, 2), day(21, 3), day(21, 4)].map((n, i) => `${n}:${i}`);
  const plan = planExpire(makeTree('p/h', { '': names }), policy, NOW, false);
  t.like(plan, { kind: 'plan', destroy: [], tooMany: { wanted: 3, of: 4 } });
  const forced = planExpire(makeTree('p/h', { '': names }), policy, NOW, true);
  t.like(forced, { kind: 'plan', destroy: [day(21, 3), day(21, 2), day(21, 1)] });
});

test('a snapshot one second in the future refuses the whole plan', (t) => {
  const plan = planExpire(makeTree('p/h', { '': [`${day(1)}:1`, '2026-11-22T22:45:01Z:2'] }), policy, NOW, true);
  t.deepEqual(plan, { kind: 'future', snapshots: ['2026-11-22T22:45:01Z'], now: '2026-11-22T22:45:00.000Z' });
});

test('a snapshot held on any dataset of the tree is kept and listed as held', (t) => {
  const names = [day(21, 1), day(21, 2), day(21, 3)].map((n, i) => `${n}:${i}`);
  const plan = planExpire(makeTree('p/h', { '': names, x: names }, { [`x@${day(21, 2)}`]: 1 }), policy, NOW, true);
  t.like(plan, { kind: 'plan', destroy: [day(21, 1)], held: [day(21, 2)] });
});

test('foreign names are never planned for destruction, nor counted for the valve', (t) => {
  const plan = planExpire(makeTree('p/h', { '': ['manual:1', 'zfs-auto-snap_daily-2026-01-01-0000:2', `${day(21, 1)}:3`, `${day(21, 2)}:4`] }), policy, NOW, true);
  t.like(plan, { kind: 'plan', destroy: [day(21, 1)], foreign: ['manual', 'zfs-auto-snap_daily-2026-01-01-0000'] });
});

test('a missing root dataset plans nothing', (t) => {
  t.like(planExpire(makeTree('p/h', {}), policy, NOW, false), { kind: 'plan', destroy: [], keep: [] });
});

test('each dataset keeps its newest snapshot: on a received tree a cut push left behind, the next push goes on from it', (t) => {
  // The root got two snapshots of day 21; child x stopped at the first of them (a cut push). The rule
  // alone keeps only the last of each day, so it would destroy x's newest.
  const root = [day(19, 1), day(20, 1), day(21, 1), day(21, 2)].map((n, i) => `${n}:${i}`);
  const x = [day(19, 1), day(20, 1), day(21, 1)].map((n, i) => `${n}:${10 + i}`);
  const plan = planExpire(makeTree('off/h', { '': root, x }), policy, NOW, true);
  t.like(plan, { kind: 'plan', destroy: [], newest: [day(21, 1)], held: [] });
  // Without the child lagging behind, the same snapshot goes.
  const even = planExpire(makeTree('off/h', { '': root, x: root }), policy, NOW, true);
  t.like(even, { kind: 'plan', destroy: [day(21, 1)], newest: [] });
});
