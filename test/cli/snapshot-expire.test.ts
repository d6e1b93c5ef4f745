// Integration: snapshot and expire through the built CLI on real zfs-fuse pools.
import test from 'ava';
import { createPool, poolState, snapshotsByDataset, zfs, zfsTry, type TestPool } from '../bed/pools';
import { runCli } from '../bed/cli';

const pools: TestPool[] = [];
test.after.always(() => pools.forEach((p) => p.destroy()));

/** A pool with tree ROOT, ROOT/a, ROOT/a/b, ROOT/c. */
function tree(): { pool: TestPool; root: string } {
  const pool = createPool('czbse');
  pools.push(pool);
  const root = `${pool.name}/host`;
  for (const ds of [root, `${root}/a`, `${root}/a/b`, `${root}/c`]) zfs('create', ds);
  return { pool, root };
}

function snap(root: string, ...names: string[]): void {
  for (const n of names) zfs('snapshot', '-r', `${root}@${n}`);
}

test('snapshot gives the same UTC timestamp name on every dataset of the tree', (t) => {
  const { root } = tree();
  const before = Date.now();
  const r = runCli(['--action', 'snapshot', '--dataset', root]);
  t.is(r.code, 0, r.stderr);
  const byDs = snapshotsByDataset(root);
  t.deepEqual([...byDs.keys()].sort(), ['', 'a', 'a/b', 'c']);
  const names = new Set([...byDs.values()].flat());
  t.is(names.size, 1);
  const [name] = [...names] as [string];
  t.regex(name, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const taken = Date.parse(name);
  t.true(taken >= Math.floor(before / 1000) * 1000 && taken <= Date.now(), `${name} is not the time of the run`);
  for (const list of byDs.values()) t.deepEqual(list, [name]);
});

// Worked by hand with policy 2 1 1 (newest first):
//   11-20T12 keep (newest)      11-20T06 destroy (same day)   11-19 keep (day 1)   11-18 Wed keep (day 2)
//   11-17 Tue destroy (same ISO week as 11-18)   11-15 Sun keep (week of Mon 11-09)
//   11-02 destroy (same month as 11-15)   10-15 keep (month)   03-01 destroy (same year 2026)
//   2025-06-01 keep (year 2025)   2025-01-01 destroy (2025)   2024-12-31T23:59:59 keep (year 2024)
const OURS = [
  '2026-11-20T12:00:00Z', '2026-11-20T06:00:00Z', '2026-11-19T12:00:00Z', '2026-11-18T12:00:00Z',
  '2026-11-17T12:00:00Z', '2026-11-15T12:00:00Z', '2026-11-02T12:00:00Z', '2026-10-15T12:00:00Z',
  '2026-03-01T00:00:00Z', '2025-06-01T00:00:00Z', '2025-01-01T00:00:00Z', '2024-12-31T23:59:59Z',
];
const DESTROYED = new Set(['2026-11-20T06:00:00Z', '2026-11-17T12:00:00Z', '2026-11-02T12:00:00Z', '2026-03-01T00:00:00Z', '2025-01-01T00:00:00Z']);
const FOREIGN = ['manual-before-upgrade', '2026-11-19', 'autosnap_2026-11-01_00:00:00_daily'];

function seeded(): { root: string; pool: TestPool } {
  const t = tree();
  snap(t.root, ...[...OURS].reverse().slice(0, 6), FOREIGN[0] as string, ...[...OURS].reverse().slice(6), FOREIGN[1] as string, FOREIGN[2] as string);
  return t;
}

test('expire destroys exactly the planned snapshots on every dataset, and never foreign ones', (t) => {
  const { root } = seeded();
  const r = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots', '-v']);
  t.is(r.code, 0, r.stderr);
  const expected = [...[...OURS].reverse().slice(0, 6), FOREIGN[0], ...[...OURS].reverse().slice(6), FOREIGN[1], FOREIGN[2]].filter((n) => !DESTROYED.has(n as string));
  for (const [ds, list] of snapshotsByDataset(root)) t.deepEqual(list, expected, `dataset ${ds || '(root)'}`);
});

test('the 25% valve: a run that would destroy more warns, destroys nothing, and exits 0', (t) => {
  const { root, pool } = seeded();
  const before = poolState(pool.name);
  const r = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /would destroy 5 of 12 snapshots .*--force-destroy-lots/);
  t.is(poolState(pool.name), before);
});

test('at most 25% goes without --force-destroy-lots', (t) => {
  const { root } = tree();
  snap(root, '2026-11-18T10:00:00Z', '2026-11-19T10:00:00Z', '2026-11-20T10:00:00Z', '2026-11-21T06:00:00Z', '2026-11-21T10:00:00Z');
  const r = runCli(['--action', 'expire', '--dataset', root]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(snapshotsByDataset(root).get('a/b'), ['2026-11-18T10:00:00Z', '2026-11-19T10:00:00Z', '2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z']);
});

test('a snapshot dated in the future: exit 65, one clear line, nothing destroyed', (t) => {
  const { root, pool } = seeded();
  snap(root, '2099-01-01T00:00:00Z');
  const before = poolState(pool.name);
  const r = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots']);
  t.is(r.code, 65);
  t.regex(r.stderr, /refusing to expire .*dated after now.*2099-01-01T00:00:00Z.*nothing was destroyed/);
  t.is(r.stderr.trim().split('\n').length, 1);
  t.is(poolState(pool.name), before);
});

test('a held snapshot is never destroyed; the rest of the plan still is', (t) => {
  const { root } = seeded();
  zfs('hold', '-r', 'admin-keep', `${root}@2026-11-17T12:00:00Z`);
  const r = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots', '-v']);
  t.is(r.code, 0, r.stderr);
  const left = snapshotsByDataset(root);
  for (const list of left.values()) {
    t.true(list.includes('2026-11-17T12:00:00Z'));
    t.false(list.includes('2026-11-20T06:00:00Z'));
    t.false(list.includes('2025-01-01T00:00:00Z'));
  }
  t.regex(r.stderr, /keeping .*@2026-11-17T12:00:00Z: it is held/);
  zfs('release', '-r', 'admin-keep', `${root}@2026-11-17T12:00:00Z`);
});

test('a snapshot with a clone is kept with a warning; the rest of the plan (and of its comma list) is destroyed; it expires once the clone is gone', (t) => {
  const { root, pool } = seeded();
  const cloned = '2026-11-17T12:00:00Z';
  const clone = `${pool.name}/restored-a`;
  zfs('clone', `${root}/a@${cloned}`, clone);
  const r = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots', '--debug']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`kept ${root}@${cloned}: zfs will not destroy it \\(cloned\\); promote or destroy the clone`));
  for (const [ds, list] of snapshotsByDataset(root)) {
    t.true(list.includes(cloned), `${cloned} stays on ${ds || '(root)'}: zfs destroys a recursive snapshot on all datasets or none`);
    for (const gone of DESTROYED) if (gone !== cloned) t.false(list.includes(gone), `${gone} destroyed on ${ds || '(root)'}`);
  }
  t.is(zfs('list', '-H', '-o', 'origin', clone).trim(), `${root}/a@${cloned}`);
  zfs('destroy', clone);
  const again = runCli(['--action', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots']);
  t.is(again.code, 0, again.stderr);
  for (const list of snapshotsByDataset(root).values()) t.false(list.includes(cloned));
});

test('--dry-run (and its aliases) leaves the snapshot list identical', (t) => {
  const { root, pool } = seeded();
  const before = poolState(pool.name);
  for (const flag of ['--dry-run', '--no-act', '-n']) {
    const r = runCli(['--action', 'snapshot', 'expire', '--dataset', root, '--retention-policy', '2', '1', '1', '--force-destroy-lots', flag]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /dry run: would take/);
    t.regex(r.stderr, /dry run: would destroy .*@2026-11-20T06:00:00Z/);
  }
  t.is(poolState(pool.name), before);
});

test('snapshot then expire in one run keeps the new snapshot and expires by the policy', (t) => {
  const { root } = tree();
  snap(root, '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z');
  const r = runCli(['--action', 'snapshot', 'expire', '--dataset', root, '--force-destroy-lots']);
  t.is(r.code, 0, r.stderr);
  const list = snapshotsByDataset(root).get('') ?? [];
  t.is(list.length, 2);
  t.is(list[0], '2026-01-01T01:00:00Z');
  t.true(zfsTry('list', `${root}@2026-01-01T00:00:00Z`).status !== 0);
});
