// Integration: --action status through the built CLI on real zfs-fuse pools and the real sshd, `now` fixed by CYBER_ZFS_BACKUP_TEST_NOW; exit codes, first line, perfdata, table, JSON.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../bed/cli';
import { useBed } from '../bed/fixture';
import { poolState, zfs } from '../bed/pools';
import { scratchDir } from '../bed/scratch';
import { freePort, keygen } from '../bed/sshd';

const bed = useBed(test);

const S1 = '2026-11-01T22:45:00Z';
const S2 = '2026-11-02T22:45:00Z';
const S3 = '2026-11-03T22:45:00Z';
/** An instant `hours` after snapshot `name` was taken. */
const after = (name: string, hours: number) => new Date(Date.parse(name) + hours * 3600_000).toISOString();
const firstLine = (r: CliResult) => r.stdout.split('\n')[0] ?? '';

function pair() {
  const localPool = bed.pool('czbst');
  const receiverPool = bed.pool('czbstr');
  const local = `${localPool.name}/host`;
  for (const ds of [local, `${local}/a`, `${local}/a/b`]) zfs('create', ds);
  zfs('create', `${receiverPool.name}/offsite`);
  const receive = `${receiverPool.name}/offsite/host`;
  return { local, receive, localPool, receiverPool };
}

test('status by age: current (OK), one run missed (WARNING), a dataset missing offsite (WARNING), two missed (CRITICAL), --warning/--critical; --json carries the facts of the table', (t) => {
  const p = pair();
  const state = scratchDir(t, 'czb-status-state-');
  const env = { STATE_DIRECTORY: state };
  const push = (...extra: string[]) => runCli(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config, ...extra], { env });
  const status = (now: string, ...extra: string[]) =>
    runCli(['--action', 'status', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config, ...extra], { env: { ...env, CYBER_ZFS_BACKUP_TEST_NOW: now } });
  zfs('snapshot', '-r', `${p.local}@${S1}`);
  t.is(push('--force-non-incremental').code, 0);
  zfs('snapshot', '-r', `${p.local}@${S2}`);
  const pushed = push();
  t.is(pushed.code, 0, pushed.stderr);
  const before = [poolState(p.localPool.name), poolState(p.receiverPool.name)];

  const ok = status(after(S2, 2));
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.is(firstLine(ok), 'CYBER-ZFS-BACKUP OK - offsite newest is 2 h old | local_age=7200s local_snapshots=2 offsite_age=7200s;93600;180000 offsite_snapshots=2 lag=0s lag_snapshots=0');
  t.regex(ok.stdout, /\n {2}last run +\S+ \((\d+ \w+ ago|in \d+ \w+)\): exit 0, push, \d+ bytes pushed, \d+ s\n/, 'the last run, from the state file');
  t.regex(ok.stdout, new RegExp(`\\n {2}base hold +@${S2}, the offsite newest, is held \\(zfs-fuse cannot name the tag\\)`));
  t.regex(ok.stdout, new RegExp(`\\n {2}offsite newest +@${S2} \\(2 hours ago\\), 2 snapshots, 3 datasets`));

  const missed = status(after(S2, 30));
  t.is(missed.code, 1);
  t.is(firstLine(missed), 'CYBER-ZFS-BACKUP WARNING - offsite newest is 30 h old | local_age=108000s local_snapshots=2 offsite_age=108000s;93600;180000 offsite_snapshots=2 lag=0s lag_snapshots=0');

  const unchanged = () => [poolState(p.localPool.name), poolState(p.receiverPool.name)];
  t.deepEqual(unchanged(), before, 'status changed nothing on either side');
  // The next day's snapshot is taken, with a new dataset, but not pushed.
  zfs('create', `${p.local}/c`);
  zfs('snapshot', '-r', `${p.local}@${S3}`);
  const later = unchanged();
  const missing = status(after(S3, 1));
  t.is(missing.code, 1);
  t.is(firstLine(missing), 'CYBER-ZFS-BACKUP WARNING - 1 dataset(s) missing on the offsite copy: c | local_age=3600s local_snapshots=3 offsite_age=90000s;93600;180000 offsite_snapshots=2 lag=86400s lag_snapshots=1');
  t.regex(missing.stdout, /\n {2}missing offsite +c\n/);

  const critical = status(after(S2, 51));
  t.is(critical.code, 2);
  t.is(
    firstLine(critical),
    'CYBER-ZFS-BACKUP CRITICAL - offsite newest is 51 h old; 1 dataset(s) missing on the offsite copy: c | local_age=97200s local_snapshots=3 offsite_age=183600s;93600;180000 offsite_snapshots=2 lag=86400s lag_snapshots=1',
  );
  const relaxed = status(after(S2, 51), '--warning', '2d', '--critical', '3d');
  t.is(relaxed.code, 1);
  t.regex(firstLine(relaxed), / offsite_age=183600s;172800;259200 /);

  const json = status(after(S2, 51), '--json');
  t.is(json.code, 2);
  const doc = JSON.parse(json.stdout) as {
    status: string;
    exitCode: number;
    local: { snapshots: number; datasets: number; newest: { name: string; ageSeconds: number } };
    lastRun: { exitCode: number; endedAt: string };
    destinations: Array<{
      status: string;
      receiver: string;
      offsite: { snapshots: number; datasets: number; newest: { name: string; ageSeconds: number } };
      lag: { snapshots: number; seconds: number };
      baseHold: { state: string; snapshot: string };
      missingOffsite: string[];
      findings: Array<{ status: string; text: string }>;
    }>;
  };
  t.is(doc.status, 'CRITICAL');
  t.is(doc.exitCode, 2);
  const d = doc.destinations[0];
  t.truthy(d);
  if (!d) return;
  t.deepEqual([d.offsite.newest.name, d.offsite.newest.ageSeconds, d.offsite.snapshots, d.offsite.datasets], [S2, 183600, 2, 3]);
  t.deepEqual([doc.local.newest.name, doc.local.snapshots, doc.local.datasets], [S3, 3, 4]);
  t.deepEqual(d.lag, { snapshots: 1, seconds: 86400 });
  t.deepEqual(d.baseHold, { state: 'held', snapshot: S2 });
  t.deepEqual(d.missingOffsite, ['c']);
  t.is(d.receiver, 'plain');
  // The table printed for the same `now` states each of those facts.
  const table = critical.stdout;
  t.regex(table, new RegExp(`\\n {2}local newest +@${doc.local.newest.name} \\(27 hours ago\\), ${doc.local.snapshots} snapshots, ${doc.local.datasets} datasets\\n`));
  t.regex(table, new RegExp(`\\n {2}offsite newest +@${d.offsite.newest.name} \\(51 hours ago\\), ${d.offsite.snapshots} snapshots, ${d.offsite.datasets} datasets\\n`));
  t.regex(table, new RegExp(`\\n {2}lag +${d.lag.snapshots} snapshot, 24 hours behind\\n`));
  t.regex(table, new RegExp(`\\n {2}base hold +@${d.baseHold.snapshot}, the offsite newest, is held`));
  t.regex(table, new RegExp(`\\n {2}missing offsite +${d.missingOffsite.join(', ')}\\n`));
  t.regex(table, new RegExp(`\\n {2}last run +${doc.lastRun.endedAt.replace(/[.]/g, '\\.')} .*: exit ${doc.lastRun.exitCode}, `));
  t.regex(table, new RegExp(`\\n\\S+:${p.receive} \\(shell login\\): ${d.status}\\n`));
  for (const f of d.findings) t.true(table.includes(`  ${f.status.padEnd(17)} ${f.text}\n`), `the table has the finding ${f.text}`);

  t.deepEqual(unchanged(), later, 'status changed nothing on either side');
});

test('offsite unreachable and host key changed are CRITICAL with the reason; through serve it is the same status', async (t) => {
  const p = pair();
  zfs('snapshot', '-r', `${p.local}@${S1}`);
  t.is(runCli(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config, '--force-non-incremental']).code, 0);
  const now = after(S1, 3);
  const status = (config: string, ...extra: string[]) =>
    runCli(['--action', 'status', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', config, ...extra], { env: { CYBER_ZFS_BACKUP_TEST_NOW: now } });

  const closed = await freePort();
  const down = status(bed.sshd.writeConfig('cfg.down', [`Port ${closed}`]));
  t.is(down.code, 2, down.stdout + down.stderr);
  t.regex(firstLine(down), new RegExp(`^CYBER-ZFS-BACKUP CRITICAL - offsite offsite:${p.receive} cannot be checked: .*127\\.0\\.0\\.1.*${closed}.*(refused|ECONNREFUSED)`));
  t.regex(firstLine(down), / \| local_age=10800s local_snapshots=1$/, 'no offsite perfdata when there is no answer');
  const downJson = JSON.parse(status(bed.sshd.writeConfig('cfg.down', [`Port ${closed}`]), '--json').stdout) as { destinations: Array<{ error: { exitCode: number } }> };
  t.is(downJson.destinations[0]?.error.exitCode, 69);

  const otherKey = join(scratchDir(t, 'czb-status-key-'), 'other');
  keygen(otherKey);
  const knownHosts = join(bed.sshd.dir, 'known_hosts.changed');
  writeFileSync(knownHosts, `[127.0.0.1]:${bed.sshd.port} ${spawnSync('cut', ['-d', ' ', '-f1,2', `${otherKey}.pub`], { encoding: 'utf8' }).stdout.trim()}\n`);
  const changed = status(bed.sshd.writeConfig('cfg.changed', [`UserKnownHostsFile ${knownHosts}`]));
  t.is(changed.code, 2);
  t.regex(firstLine(changed), /^CYBER-ZFS-BACKUP CRITICAL - offsite \S+ cannot be checked: host key refused: .*this may be an attack/);

  const serve = bed.sshd.addServeKey('status', ['--root', `${p.receiverPool.name}/offsite`]);
  const viaServe = status(serve.config);
  t.is(viaServe.code, 0, viaServe.stdout + viaServe.stderr);
  t.is(firstLine(viaServe), 'CYBER-ZFS-BACKUP OK - offsite newest is 3 h old | local_age=10800s local_snapshots=1 offsite_age=10800s;93600;180000 offsite_snapshots=1 lag=0s lag_snapshots=0');
  t.regex(viaServe.stdout, new RegExp(`\\noffsite:${p.receive} \\(serve\\): OK\\n`));
});

test("the offsite host's view: three received trees below a dataset, one stale, worst first", (t) => {
  const source = bed.pool('czbsv');
  const backupPool = bed.pool('czbsvb');
  const src = `${source.name}/src`;
  zfs('create', src);
  zfs('create', `${src}/x`);
  for (const s of [S1, S2, S3]) zfs('snapshot', '-r', `${src}@${s}`);
  const backup = `${backupPool.name}/backup`;
  zfs('create', backup);
  zfs('create', `${backup}/site`);
  const receive = (snapshot: string, target: string) => {
    const r = spawnSync('sh', ['-c', 'zfs send -R "$1" | zfs receive -u "$2"', 'sh', `${src}@${snapshot}`, target], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
  };
  receive(S1, `${backup}/kiki`);
  receive(S3, `${backup}/zippy`);
  receive(S3, `${backup}/site/bobo`);
  // A dataset with another tool's snapshot only is not a received tree.
  zfs('create', `${backup}/scratch`);
  zfs('snapshot', `${backup}/scratch@manual`);
  const view = (...extra: string[]) => runCli(['--action', 'status', '--received', '--dataset', backup, ...extra], { env: { CYBER_ZFS_BACKUP_TEST_NOW: after(S3, 3) } });

  const r = view();
  t.is(r.code, 2, r.stdout + r.stderr);
  t.is(firstLine(r), 'CYBER-ZFS-BACKUP CRITICAL - kiki: newest is 51 h old | kiki=183600s;93600;180000 site/bobo=10800s;93600;180000 zippy=10800s;93600;180000');
  const rows = r.stdout.split('\n').filter((l) => /^(OK|WARNING|CRITICAL|UNKNOWN) /.test(l));
  t.deepEqual(
    rows.map((l) => l.split(/\s+/).slice(0, 3).join(' ')),
    [`CRITICAL ${backup}/kiki @${S1}`, `OK ${backup}/site/bobo @${S3}`, `OK ${backup}/zippy @${S3}`],
  );
  t.regex(rows[0] ?? '', /\(51 hours ago\), 1 snapshot, 2 datasets$/);

  const json = JSON.parse(view('--json', '--critical', '3d').stdout) as { status: string; trees: Array<{ dataset: string; status: string; snapshots: number; newest: { ageSeconds: number } }> };
  t.is(json.status, 'WARNING');
  t.deepEqual(
    json.trees.map((x) => [x.dataset, x.status, x.snapshots, x.newest.ageSeconds]),
    [
      [`${backup}/kiki`, 'WARNING', 1, 183600],
      [`${backup}/site/bobo`, 'OK', 3, 10800],
      [`${backup}/zippy`, 'OK', 3, 10800],
    ],
  );

  const nothing = runCli(['--action', 'status', '--received', '--dataset', `${backup}/scratch`], { env: { CYBER_ZFS_BACKUP_TEST_NOW: after(S3, 3) } });
  t.is(nothing.code, 3);
  t.regex(firstLine(nothing), /^CYBER-ZFS-BACKUP UNKNOWN - no received tree below \S+\/scratch/);
});

test('status usage errors are UNKNOWN (3) the plugin way; a bare --action is refused with 64', (t) => {
  const combined = runCli(['--action', 'status', 'push']);
  t.is(combined.code, 3);
  t.is(firstLine(combined), 'CYBER-ZFS-BACKUP UNKNOWN - usage: --action status runs alone; it cannot be combined with push (see cyber-zfs-backup --help)');
  const badAge = runCli(['--action', 'status', '--warning', '2w']);
  t.is(badAge.code, 3);
  t.regex(firstLine(badAge), /^CYBER-ZFS-BACKUP UNKNOWN - usage: --warning "2w" is not an age/);
  const inverted = runCli(['--action', 'status', '--warning', '3d', '--critical', '1d']);
  t.is(inverted.code, 3);
  t.regex(firstLine(inverted), /--warning 3d must be shorter than --critical 1d/);
  const bare = runCli(['--action', '--dataset', 'nosuchpool/x']);
  t.is(bare.code, 64);
  t.regex(bare.stderr, /^cyber-zfs-backup: --action needs a value/);
  t.is(runCli(['--json', '--action', 'push']).code, 64, '--json goes with status only');
});
