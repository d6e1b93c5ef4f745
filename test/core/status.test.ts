// Table tests of the status verdict: ages against the thresholds, reachability, missing datasets, partial receives, the base hold, the last run.
import test from 'ava';
import { judgeTree, Level, parseHolds, worstLevel, type DestinationInput, type LevelValue, type TreeInput } from '../../src/core/status';
import type { DatasetTree } from '../../src/core/tree';
import { A, B, C, D, makeTree } from './tree-fixtures';

const NOW = Date.UTC(2026, 10, 4, 12, 0, 0); // D (2026-11-04T00:00:00Z) is 12 h old, C 36 h, B 60 h
const TAG = 'cyber-zfs-backup:offsite:off/h';
const thresholds = { warningSeconds: 26 * 3600, criticalSeconds: 50 * 3600 };
const local = makeTree('tank/h', { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`], a: [`${A}:11`, `${B}:12`, `${C}:13`, `${D}:14`] }, { [`@${D}`]: 1 });

function remote(names: string[], extra: Record<string, string[]> = {}): DatasetTree {
  const guid: Record<string, string> = { [A]: '1', [B]: '2', [C]: '3', [D]: '4' };
  return makeTree('off/h', { '': names.map((n) => `${n}:${guid[n] ?? '99'}`), a: names.map((n) => `${n}:1${guid[n] ?? '99'}`), ...extra });
}

function destination(probe: DestinationInput['probe'], holdTags: DestinationInput['holdTags'] = new Map([[D, [TAG]]])): DestinationInput {
  return { sshDestination: 'offsite', receiveDataset: 'off/h', probe, holdTag: TAG, holdTags };
}

function input(d: DestinationInput, over: Partial<TreeInput> = {}): TreeInput {
  return { dataset: 'tank/h', now: NOW, thresholds, local: { ok: true, tree: local }, destinations: [d], ...over };
}

const reached = (tree: DatasetTree | undefined) => ({ ok: true as const, tree, receiver: 'serve' as const });

interface Case {
  name: string;
  input: TreeInput;
  level: LevelValue;
  finding: RegExp;
}

const cases: Case[] = [
  { name: 'current copy, base hold on the offsite newest: OK', input: input(destination(reached(remote([A, B, C, D])))), level: Level.ok, finding: /^offsite newest is 12 h old$/ },
  { name: 'one run missed (36 h): WARNING', input: input(destination(reached(remote([A, B, C])), new Map([[C, [TAG]]]))), level: Level.warning, finding: /^offsite newest is 36 h old$/ },
  { name: 'two runs missed (60 h): CRITICAL', input: input(destination(reached(remote([A, B])), new Map([[B, [TAG]]]))), level: Level.critical, finding: /^offsite newest is 60 h old$/ },
  {
    name: 'thresholds are the flags: 36 h with --critical 1d is CRITICAL',
    input: input(destination(reached(remote([A, B, C])), new Map([[C, [TAG]]])), { thresholds: { warningSeconds: 3600, criticalSeconds: 86400 } }),
    level: Level.critical,
    finding: /36 h old/,
  },
  {
    name: 'unreachable (69): CRITICAL with the reason',
    input: input(destination({ ok: false, exitCode: 69, message: 'cannot connect to offsite (127.0.0.1:1): connection refused' })),
    level: Level.critical,
    finding: /^offsite offsite:off\/h cannot be checked: cannot connect to offsite .*connection refused$/,
  },
  { name: 'host key refused (69): CRITICAL', input: input(destination({ ok: false, exitCode: 69, message: 'host key refused: [127.0.0.1]:22 offered …' })), level: Level.critical, finding: /host key refused/ },
  { name: 'the offsite answer cannot be read (70): UNKNOWN', input: input(destination({ ok: false, exitCode: 70, message: 'cannot read' })), level: Level.unknown, finding: /cannot read/ },
  { name: 'no receive dataset: CRITICAL', input: input(destination(reached(undefined))), level: Level.critical, finding: /^no offsite copy: off\/h does not exist on offsite$/ },
  { name: 'offsite holds only foreign snapshots: CRITICAL', input: input(destination(reached(makeTree('off/h', { '': ['manual:7'] })))), level: Level.critical, finding: /holds no snapshot made by cyber-zfs-backup/ },
  {
    name: 'a dataset missing on the offsite copy: WARNING naming it',
    input: input(destination(reached(makeTree('off/h', { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`] })))),
    level: Level.warning,
    finding: /^1 dataset\(s\) missing on the offsite copy: a$/,
  },
  {
    name: 'a partial receive: WARNING naming where',
    input: input(
      destination(
        reached(((): DatasetTree => {
          const t = remote([A, B, C, D]);
          (t.datasets.get('a') as { resumeToken?: string }).resumeToken = '1-abc-def-0';
          return t;
        })()),
      ),
    ),
    level: Level.warning,
    finding: /^a partial receive waits in off\/h\/a \(the next push resumes it\)$/,
  },
  { name: 'base hold: our tag is not on the offsite newest: WARNING', input: input(destination(reached(remote([A, B, C, D])), new Map())), level: Level.warning, finding: /base hold cyber-zfs-backup:offsite:off\/h is not on the offsite newest @2026-11-04T00:00:00Z/ },
  {
    name: 'base hold: only another tag there: WARNING',
    input: input(destination(reached(remote([A, B, C, D])), new Map([[D, ['cyber-zfs-backup:vault:x/h']]]))),
    level: Level.warning,
    finding: /base hold .* is not on the offsite newest/,
  },
  { name: 'base hold on zfs-fuse (no tags, userrefs 1): OK', input: input(destination(reached(remote([A, B, C, D])), undefined)), level: Level.ok, finding: /12 h old/ },
  {
    name: 'base hold on zfs-fuse, userrefs 0: WARNING',
    input: input(destination(reached(remote([A, B, C])), undefined)),
    level: Level.warning,
    finding: /base hold .* is not on the offsite newest @2026-11-03T00:00:00Z/,
  },
  {
    name: 'the offsite newest is not here with its GUID: WARNING',
    input: input(destination(reached(makeTree('off/h', { '': [`${A}:1`, `${D}:77`], a: [`${A}:11`, `${D}:78`] })))),
    level: Level.warning,
    finding: /offsite newest @2026-11-04T00:00:00Z is not on this host with the same GUID/,
  },
  {
    name: 'offsite newest dated in the future: WARNING about clocks',
    input: input(destination(reached(remote([A, B, C, D])), new Map([[D, [TAG]]])), { now: Date.UTC(2026, 10, 3, 12) }),
    level: Level.warning,
    finding: /dated 12 h in the future: check the clocks/,
  },
  { name: 'local listing failed: UNKNOWN', input: input(destination(reached(remote([A, B, C, D]))), { local: { ok: false, exitCode: 69, message: 'zfs does not work' } }), level: Level.unknown, finding: /cannot list tank\/h on this host: zfs does not work/ },
  {
    name: 'the last run failed: WARNING with its exit code',
    input: input(destination(reached(remote([A, B, C, D]))), { lastRun: { startedAt: '2026-11-04T00:00:00Z', endedAt: '2026-11-04T00:01:00Z', exitCode: 65, actions: ['expire'], bytes: 0, error: 'refusing to expire' } }),
    level: Level.warning,
    finding: /^the last run \(2026-11-04T00:01:00Z\) ended with exit 65: refusing to expire$/,
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const status = judgeTree(c.input);
    t.is(status.level, c.level);
    const findings = [...status.findings, ...status.destinations.flatMap((d) => d.findings)];
    t.true(
      findings.some((f) => c.finding.test(f.text)),
      findings.map((f) => f.text).join('\n'),
    );
  });
}

test('lag: snapshots here after the offsite newest, and the time between the newest of ours', (t) => {
  const d = judgeTree(input(destination(reached(remote([A, B])), new Map([[B, [TAG]]])))).destinations[0];
  t.deepEqual(d?.lag, { snapshots: 2, seconds: 2 * 86400 });
  t.deepEqual(d?.baseHold, { state: 'on-newest', snapshot: B });
  t.deepEqual(d?.offsite, { snapshots: 2, datasets: 2, newest: { name: B, time: Date.parse(B), ageSeconds: 60 * 3600 } });
});

test('datasets gone here are listed, not judged', (t) => {
  const d = judgeTree(input(destination(reached(remote([A, B, C, D], { old: [`${A}:5`] }))))).destinations[0];
  t.deepEqual(d?.missingLocal, ['old']);
  t.is(d?.level, Level.ok);
});

test('several destinations: the tree takes the worst level', (t) => {
  const second = { ...destination({ ok: false, exitCode: 69, message: 'down' }), sshDestination: 'vault' };
  const status = judgeTree({ ...input(destination(reached(remote([A, B, C, D])))), destinations: [destination(reached(remote([A, B, C, D]))), second] });
  t.is(status.level, Level.critical);
  t.deepEqual(status.destinations.map((d) => d.level), [Level.ok, Level.critical]);
});

test('worst level: CRITICAL, then WARNING, then UNKNOWN, then OK', (t) => {
  t.is(worstLevel([Level.ok, Level.unknown]), Level.unknown);
  t.is(worstLevel([Level.unknown, Level.warning]), Level.warning);
  t.is(worstLevel([Level.warning, Level.critical, Level.unknown]), Level.critical);
  t.is(worstLevel([]), Level.ok);
});

test('zfs holds -H output: tags per snapshot of that dataset only', (t) => {
  const out = `tank/h@${D}\tcyber-zfs-backup:offsite:off/h\tWed Nov  4 00:00 2026\ntank/h@${D}\tkeep\tWed Nov  4 00:00 2026\ntank/h/a@${D}\tx\tWed\n`;
  t.deepEqual([...parseHolds('tank/h', out)], [[D, ['cyber-zfs-backup:offsite:off/h', 'keep']]]);
});
