// Table tests of what status prints: the Nagios first line and perfdata, the table, and JSON with the same facts.
import test from 'ava';
import { judgeTree, Level, type DestinationInput } from '../../src/core/status';
import { nagiosLine, perfdata, perfLabel, receivedReport, treeReport } from '../../src/core/status-output';
import { judgeReceived } from '../../src/core/status-received';
import { A, B, C, D, makeTree } from './tree-fixtures';

const NOW = Date.UTC(2026, 10, 4, 12, 0, 0);
const TAG = 'cyber-zfs-backup:offsite:off/h';
const thresholds = { warningSeconds: 93600, criticalSeconds: 180000 };
const local = makeTree('tank/h', { '': [`${A}:1`, `${B}:2`, `${C}:3`, `${D}:4`] });
const dest = (sshDestination: string, names: string[]): DestinationInput => ({
  sshDestination,
  receiveDataset: 'off/h',
  probe: { ok: true, tree: makeTree('off/h', { '': names.map((n) => `${n}:${[A, B, C, D].indexOf(n as typeof A) + 1}`) }), receiver: 'plain' },
  holdTag: TAG,
  holdTags: new Map([[names.at(-1) as string, [TAG]]]),
});

const labels: Array<[string, string]> = [
  ['offsite_age', 'offsite_age'],
  ['offsite:off/h offsite_age', "'offsite:off/h offsite_age'"],
  ["it's", "'it''s'"],
  ['a=b', "'a=b'"],
];
for (const [label, written] of labels) test(`perfdata label ${JSON.stringify(label)} is written ${written}`, (t) => t.is(perfLabel(label), written));

test('perfdata: value with its unit, then warn;crit only when there are thresholds', (t) => {
  t.is(perfdata([{ label: 'offsite_age', value: 108000, uom: 's', warn: 93600, crit: 180000 }, { label: 'lag_snapshots', value: 1, uom: '' }]), 'offsite_age=108000s;93600;180000 lag_snapshots=1');
});

test('the first line: "|" in the text cannot start the perfdata early, and a line break cannot end the line', (t) => {
  t.is(nagiosLine(Level.critical, 'host key |1|abc\nrefused', []), 'CYBER-ZFS-BACKUP CRITICAL - host key /1/abc refused');
});

test('one missed run: the exact first line, the table and the JSON say the same', (t) => {
  const report = treeReport(judgeTree({ dataset: 'tank/h', now: NOW, thresholds, local: { ok: true, tree: local }, destinations: [dest('offsite', [A, B, C])] }));
  t.is(report.exitCode, Level.warning);
  t.is(report.firstLine, 'CYBER-ZFS-BACKUP WARNING - offsite newest is 36 h old | local_age=43200s local_snapshots=4 offsite_age=129600s;93600;180000 offsite_snapshots=3 lag=86400s lag_snapshots=1');
  const table = report.table.join('\n');
  t.regex(table, /local newest +@2026-11-04T00:00:00Z \(12 hours ago\), 4 snapshots, 1 dataset/);
  t.regex(table, /offsite newest +@2026-11-03T00:00:00Z \(36 hours ago\), 3 snapshots, 1 dataset/);
  t.regex(table, /lag +1 snapshot, 24 hours behind/);
  t.regex(table, /base hold +on @2026-11-03T00:00:00Z, the offsite newest/);
  const json = report.json as { status: string; destinations: Array<{ offsite: { newest: { ageSeconds: number } }; lag: unknown }> };
  t.is(json.status, 'WARNING');
  t.is(json.destinations[0]?.offsite.newest.ageSeconds, 129600);
  t.deepEqual(json.destinations[0]?.lag, { snapshots: 1, seconds: 86400 });
});

test('several destinations: findings and perfdata name the destination', (t) => {
  const report = treeReport(judgeTree({ dataset: 'tank/h', now: NOW, thresholds, local: { ok: true, tree: local }, destinations: [dest('offsite', [A, B, C, D]), dest('vault', [A])] }));
  t.is(report.exitCode, Level.critical);
  t.regex(report.firstLine, /^CYBER-ZFS-BACKUP CRITICAL - vault:off\/h: offsite newest is 3 d old \| /);
  t.regex(report.firstLine, / 'offsite:off\/h offsite_age'=43200s;93600;180000 .*'vault:off\/h offsite_age'=302400s;93600;180000/);
});

test('received view: three trees, one stale, worst first, with perfdata per tree', (t) => {
  const tree = makeTree('tank/backup', {
    '': [],
    zippy: [`${C}:1`, `${D}:2`],
    'zippy/home': [`${C}:3`, `${D}:4`],
    kiki: [`${A}:5`],
    site: [],
    'site/bobo': [`${B}:6`, `${D}:7`],
    other: ['manual:8'],
  });
  const report = receivedReport(judgeReceived({ dataset: 'tank/backup', now: NOW, thresholds, listing: { ok: true, tree } }));
  t.is(report.exitCode, Level.critical);
  t.is(report.firstLine, 'CYBER-ZFS-BACKUP CRITICAL - kiki: newest is 3 d old | kiki=302400s;93600;180000 site/bobo=43200s;93600;180000 zippy=43200s;93600;180000');
  t.deepEqual(
    report.table.slice(2).map((l) => l.split(/\s+/).slice(0, 2)),
    [
      ['CRITICAL', 'tank/backup/kiki'],
      ['OK', 'tank/backup/site/bobo'],
      ['OK', 'tank/backup/zippy'],
    ],
  );
  t.deepEqual((report.json as { trees: Array<{ dataset: string; datasets: number }> }).trees.map((x) => [x.dataset, x.datasets]), [
    ['tank/backup/kiki', 1],
    ['tank/backup/site/bobo', 1],
    ['tank/backup/zippy', 2],
  ]);
});

test('received view, all current: OK names the stalest', (t) => {
  const tree = makeTree('tank/backup', { '': [], zippy: [`${D}:1`], kiki: [`${C}:2`, `${D}:3`] });
  const report = receivedReport(judgeReceived({ dataset: 'tank/backup', now: NOW, thresholds, listing: { ok: true, tree } }));
  t.is(report.firstLine, 'CYBER-ZFS-BACKUP OK - 2 received trees below tank/backup, all current; the stalest, kiki, is 12 h old | kiki=43200s;93600;180000 zippy=43200s;93600;180000');
});

test('received view: nothing received, or no such dataset, is UNKNOWN', (t) => {
  const empty = receivedReport(judgeReceived({ dataset: 'tank/backup', now: NOW, thresholds, listing: { ok: true, tree: makeTree('tank/backup', { '': [], x: ['manual:1'] }) } }));
  t.is(empty.firstLine, 'CYBER-ZFS-BACKUP UNKNOWN - no received tree below tank/backup: no dataset there holds a snapshot named by cyber-zfs-backup');
  t.is(receivedReport(judgeReceived({ dataset: 'tank/nope', now: NOW, thresholds, listing: { ok: true, tree: undefined } })).exitCode, Level.unknown);
});

test('received view: a partial first receive is a tree of its own (CRITICAL: nothing complete yet); a partial receive in a child is WARNING', (t) => {
  const tree = makeTree('tank/backup', { '': [], zippy: [`${D}:1`], 'zippy/home': [`${D}:2`], fresh: [] });
  (tree.datasets.get('fresh') as { resumeToken?: string }).resumeToken = '1-a-b-c';
  (tree.datasets.get('zippy/home') as { resumeToken?: string }).resumeToken = '1-d-e-f';
  const report = receivedReport(judgeReceived({ dataset: 'tank/backup', now: NOW, thresholds, listing: { ok: true, tree } }));
  t.is(report.exitCode, Level.critical);
  t.is(
    report.firstLine,
    'CYBER-ZFS-BACKUP CRITICAL - fresh: no complete snapshot received yet; fresh: a partial receive waits in tank/backup/fresh (the sender\'s next push resumes it); zippy: a partial receive waits in tank/backup/zippy/home (the sender\'s next push resumes it) | zippy=43200s;93600;180000',
  );
});
