// Table tests of the state file: how a run's outcome merges into the previous state, and what is read back.
import test from 'ava';
import { mergeRun, parseTreeState, renderTreeState, sideFromNames, stateFileName, type RunRecord } from '../../src/core/run-state';

const T0 = Date.UTC(2026, 10, 2, 22, 45, 0);
const ok: RunRecord = {
  dataset: 'zippy/zippy',
  actions: ['snapshot', 'expire', 'push'],
  startedAt: T0,
  endedAt: T0 + 12_000,
  exitCode: 0,
  local: { snapshots: 40, newest: '2026-11-02T22:45:00Z' },
  pushes: [{ sshDestination: 'offsite', receiveDataset: 'offsite/zippy', exitCode: 0, outcome: { kind: 'incremental', target: '2026-11-02T22:45:00Z', base: '2026-11-01T22:45:00Z', bytes: 4096, seconds: 1.5, receiver: 'serve', offsite: { snapshots: 39, newest: '2026-11-02T22:45:00Z' } } }],
  metricsFile: '/m.prom',
};

test('a first successful run: last run, last success, local and offsite facts', (t) => {
  const state = mergeRun(undefined, ok);
  t.is(state.lastRun.exitCode, 0);
  t.is(state.lastRun.startedAt, '2026-11-02T22:45:00.000Z');
  t.is(state.lastSuccessAt, '2026-11-02T22:45:12.000Z');
  t.is(state.lastRun.bytes, 4096);
  t.deepEqual(state.destinations[0]?.offsite, { snapshots: 39, newest: '2026-11-02T22:45:00Z' });
  t.is(state.destinations[0]?.lastPush.base, '2026-11-01T22:45:00Z');
  t.is(state.metricsFile, '/m.prom');
});

test('a failed run keeps the last success times and the offsite facts, and records its exit code and line', (t) => {
  const failed = mergeRun(mergeRun(undefined, ok), {
    ...ok,
    startedAt: T0 + 86_400_000,
    endedAt: T0 + 86_401_000,
    exitCode: 69,
    error: 'cannot connect',
    local: { snapshots: 41, newest: '2026-11-03T22:45:00Z' },
    pushes: [{ sshDestination: 'offsite', receiveDataset: 'offsite/zippy', exitCode: 69, error: 'cannot connect' }],
  });
  t.is(failed.lastRun.exitCode, 69);
  t.is(failed.lastRun.error, 'cannot connect');
  t.is(failed.lastSuccessAt, '2026-11-02T22:45:12.000Z');
  t.is(failed.local?.snapshots, 41);
  const d = failed.destinations[0];
  t.is(d?.lastPush.exitCode, 69);
  t.is(d?.lastPush.bytes, 0);
  t.is(d?.lastSuccessAt, '2026-11-02T22:45:12.000Z');
  t.deepEqual(d?.offsite, { snapshots: 39, newest: '2026-11-02T22:45:00Z' });
});

test('a run without push keeps the destinations; a run that pushes elsewhere drops the old destination', (t) => {
  const first = mergeRun(undefined, ok);
  const snapshotOnly = mergeRun(first, { ...ok, actions: ['snapshot'], pushes: [] });
  t.deepEqual(snapshotOnly.destinations, first.destinations);
  const moved = mergeRun(first, { ...ok, pushes: [{ ...(ok.pushes[0] as RunRecord['pushes'][0]), sshDestination: 'vault' }] });
  t.deepEqual(moved.destinations.map((d) => d.sshDestination), ['vault']);
});

test('the file reads back; other versions and broken files are not states', (t) => {
  const state = mergeRun(undefined, ok);
  t.deepEqual(parseTreeState(renderTreeState(state)), state);
  t.is(parseTreeState('{"version":2,"dataset":"x"}'), undefined);
  t.is(parseTreeState('{"version":1,"dataset":"x","lastRun":{}}'), undefined);
  t.is(parseTreeState('{"vers'), undefined);
});

test('one state file per tree, no two trees on one name', (t) => {
  t.is(stateFileName('zippy/zippy'), 'zippy+zippy.json');
  t.not(stateFileName('a/b_c'), stateFileName('a_b/c'));
});

test('count and newest of ours from names oldest first; foreign names count but are not the newest', (t) => {
  t.deepEqual(sideFromNames(['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', 'manual']), { snapshots: 3, newest: '2026-11-02T00:00:00Z' });
  t.deepEqual(sideFromNames([]), { snapshots: 0 });
});
