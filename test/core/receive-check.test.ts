// Table tests for the after-push check: what a send -R [-I] stream should have left on the receiver.
import test from 'ava';
import { receiveProblems } from '../../src/core/receive-check';
import { A, B, C, D, makeTree } from './tree-fixtures';


interface Case {
  title: string;
  local: Record<string, string[]>;
  remote: Record<string, string[]>;
  base: string | undefined;
  target: string;
  startedAt?: Array<[string, string | undefined]>;
  problems: string[];
}

const cases: Case[] = [
  {
    title: 'incremental, every dataset complete: no problem',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    base: A,
    target: C,
    problems: [],
  },
  {
    title: 'an intermediate snapshot dropped in a child (zfs said "already exists; ignoring")',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${C}:13`] },
    base: A,
    target: C,
    problems: [`off/h/x@${B} is missing`],
  },
  {
    title: 'the target missing on the root',
    local: { '': [`${A}:1`, `${B}:2`] },
    remote: { '': [`${A}:1`] },
    base: A,
    target: B,
    problems: [`off/h@${B} is missing`],
  },
  {
    title: 'a snapshot that arrived with another GUID',
    local: { '': [`${A}:1`, `${B}:2`] },
    remote: { '': [`${A}:1`, `${B}:99`] },
    base: A,
    target: B,
    problems: [`off/h@${B} has GUID 99, the sender's has 2`],
  },
  {
    title: 'a new child that did not arrive at all',
    local: { '': [`${A}:1`, `${B}:2`], kid: [`${B}:42`] },
    remote: { '': [`${A}:1`, `${B}:2`] },
    base: A,
    target: B,
    problems: [`off/h/kid is missing; the sender has 1 snapshot(s) of it up to @${B}`],
  },
  {
    title: 'a new child is checked from its first snapshot (it has no base)',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], kid: [`${B}:42`, `${C}:43`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], kid: [`${C}:43`] },
    base: A,
    target: C,
    problems: [`off/h/kid@${B} is missing`],
  },
  {
    title: 'snapshots after the target and a dataset without the target are not expected',
    local: { '': [`${A}:1`, `${B}:2`, `${D}:4`], late: [`${D}:64`] },
    remote: { '': [`${A}:1`, `${B}:2`] },
    base: A,
    target: B,
    problems: [],
  },
  {
    title: 'snapshots before the base are not re-checked (the receiver may have lost them earlier)',
    local: { '': ['manual:0', `${A}:1`, `${B}:2`] },
    remote: { '': [`${A}:1`, `${B}:2`] },
    base: A,
    target: B,
    problems: [],
  },
  {
    title: 'a full send expects every snapshot up to the target, foreign names included',
    local: { '': ['manual:0', `${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${B}:12`] },
    base: undefined,
    target: B,
    problems: ['off/h@manual is missing', `off/h/x@${A} is missing`],
  },
  {
    title: 'extra snapshots on the receiver are not a problem of this push',
    local: { '': [`${A}:1`, `${B}:2`] },
    remote: { '': [`${A}:1`, 'theirs:7', `${B}:2`] },
    base: A,
    target: B,
    problems: [],
  },
  {
    title: 'a dataset that caught up on its own is checked from where it started, not from the base',
    local: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${B}:12`, `${C}:13`] },
    remote: { '': [`${A}:1`, `${B}:2`, `${C}:3`], x: [`${A}:11`, `${C}:13`] },
    base: B,
    target: C,
    startedAt: [['x', A]],
    problems: [`off/h/x@${B} is missing`],
  },
  {
    title: 'a dataset sent whole is checked from its first snapshot',
    local: { '': [`${A}:1`, `${B}:2`], x: [`${A}:11`, `${B}:12`] },
    remote: { '': [`${A}:1`, `${B}:2`], x: [`${B}:12`] },
    base: A,
    target: B,
    startedAt: [['x', undefined]],
    problems: [`off/h/x@${A} is missing`],
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    t.deepEqual(receiveProblems(makeTree('tank/h', c.local), makeTree('off/h', c.remote), c.base, c.target, new Map(c.startedAt ?? [])), c.problems);
  });
}
