// The chain survives an outage: 90 days of daily snapshot + expire with the offsite host down, then an incremental push.
import test from 'ava';
import { useBed } from '../bed/fixture';
import { PassThrough } from 'node:stream';
import { DateTime } from 'luxon';
import { runBackup, type RunDeps } from '../../src/app/run';
import type { RunOptions } from '../../src/app/options';
import { BackupError } from '../../src/core/exit-codes';
import { planRetention } from '../../src/core/retention';
import { runCommand } from '../../src/io/command';
import { createLogger } from '../../src/io/logger';
import { openSession } from '../../src/io/ssh-session';
import { makeLocalZfs } from '../../src/io/zfs';
import { treeSignature, userrefs, zfs } from '../bed/pools';
import { scratchDir } from '../bed/scratch';
import { freePort } from '../bed/sshd';

const bed = useBed(test);

function deps(now: () => number, lines: string[], lockDir: string): RunDeps {
  const out = new PassThrough();
  out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const log = createLogger({ level: 'info', journal: false, out });
  return { zfs: makeLocalZfs(runCommand, log), log, now, runner: runCommand, connect: openSession, zfsProgram: 'zfs', lockDir, report: (e) => lines.push(`reported: ${e.message}`) };
}

test('90 days with the offsite host down: the held base survives expire, and the next push is incremental from it', async (t) => {
  const local = bed.pool('czbout');
  const receiver = bed.pool('czboutr');
  const root = `${local.name}/h`;
  zfs('create', root);
  zfs('create', `${root}/a`);
  zfs('create', `${receiver.name}/offsite`);
  // Day 0 is a Monday: the days after it share its ISO week, so the retention rule alone would expire it.
  const day0 = DateTime.fromISO('2026-06-01T22:45:00Z', { zone: 'utc' });
  t.is(day0.weekday, 1);
  const options: RunOptions = {
    actions: ['snapshot', 'expire', 'push'],
    dataset: root,
    dryRun: false,
    retention: { days: 7, weeks: 4, months: 12 },
    forceDestroyLots: false,
    destinations: [{ sshDestination: 'offsite', receiveDataset: `${receiver.name}/offsite/h` }],
    sshConfig: bed.sshd.config,
    useSudo: false,
    forceNonIncremental: true,
    hostname: 'h',
  };
  const lockDir = scratchDir(t, 'czb-outage-lock-');
  const lines: string[] = [];
  await runBackup(deps(() => day0.toMillis(), lines, lockDir), options);
  const base = '2026-06-01T22:45:00Z';
  t.is(userrefs(`${root}@${base}`), 1);

  const deadPort = await freePort();
  const down = bed.sshd.writeConfig('cfg.down', [`Port ${deadPort}`, 'ConnectTimeout 5']);
  const names = [base];
  for (let d = 1; d <= 90; d += 1) {
    const now = day0.plus({ days: d });
    names.push(now.toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'"));
    const error = await t.throwsAsync(runBackup(deps(() => now.toMillis(), lines, lockDir), { ...options, sshConfig: down }), { instanceOf: BackupError });
    t.is(error?.exitCode, 69, error?.message);
  }
  // Without the hold, the rule would have destroyed the base long ago.
  t.true(planRetention(names, options.retention).destroy.includes(base));
  t.is(userrefs(`${root}@${base}`), 1, 'the base is still there and held');
  t.true(lines.some((l) => l.includes(`keeping ${root}@${base}: it is held`)));
  const left = zfs('list', '-H', '-o', 'name', '-t', 'snapshot', '-d', '1', root).split('\n').filter(Boolean).length;
  t.true(left < 40, `expire kept running during the outage (${left} snapshots left of 91)`);

  const after = day0.plus({ days: 91 });
  const pushLines: string[] = [];
  await runBackup(deps(() => after.toMillis(), pushLines, lockDir), { ...options, actions: ['push'], forceNonIncremental: false });
  t.true(pushLines.some((l) => l.includes(`(incremental from @${base})`)), pushLines.join('\n'));
  t.deepEqual(treeSignature(`${receiver.name}/offsite/h`), treeSignature(root));
  t.is(userrefs(`${root}@${base}`), 0, 'the old base is released once the new one is held');
});
