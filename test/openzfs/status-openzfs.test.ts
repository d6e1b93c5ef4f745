// Status on OpenZFS (in the guest, npm run test:openzfs): the base hold judged by its tag (zfs holds), and a real partial receive (receive -s) on both hosts' views.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, type CliResult } from '../bed/cli';
import { useBed } from '../bed/fixture';
import { zfs, zfsTry } from '../bed/pools';
import { scratchDir } from '../bed/scratch';

const CLI_NODE = process.env.CZB_CLI_NODE ?? process.execPath;
const S1 = '2026-11-01T22:45:00Z';
const S2 = '2026-11-02T22:45:00Z';
const after = (name: string, hours: number) => new Date(Date.parse(name) + hours * 3600_000).toISOString();

test.before(() => {
  // Not a skip: this file exists to test OpenZFS, so anything else is a broken setup.
  const version = zfsTry('version');
  if (version.status !== 0) throw new Error('zfs here is not OpenZFS; run this file with "sudo npm run test:openzfs"');
});
const bed = useBed(test);

function cli(args: string[], env: NodeJS.ProcessEnv): CliResult {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete full.JOURNAL_STREAM;
  const r = spawnSync(CLI_NODE, [CLI, ...args], { encoding: 'utf8', env: full, timeout: 600_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test.serial('the base hold is judged by its tag; a partial receive is WARNING on the sender and on the offsite host', (t) => {
  const localPool = bed.pool('czbzs', '512M');
  const receiverPool = bed.pool('czbzsr', '512M');
  const local = `${localPool.name}/host`;
  const mnt = join(localPool.dir, 'mnt');
  mkdirSync(mnt);
  zfs('create', '-o', `mountpoint=${mnt}`, local);
  zfs('create', `${local}/a`);
  zfs('create', `${receiverPool.name}/offsite`);
  const receive = `${receiverPool.name}/offsite/host`;
  zfs('snapshot', '-r', `${local}@${S1}`);
  const env = { STATE_DIRECTORY: scratchDir(t, 'czb-zs-state-') };
  const push = cli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, '--force-non-incremental'], env);
  t.is(push.code, 0, push.stderr);
  const status = (now: string, ...extra: string[]) =>
    cli(['--action', 'status', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra], { ...env, CYBER_ZFS_BACKUP_TEST_NOW: now });
  const tag = `cyber-zfs-backup:offsite:${receive}`;

  const held = status(after(S1, 1), '--json');
  t.is(held.code, 0, held.stdout + held.stderr);
  t.deepEqual((JSON.parse(held.stdout) as { destinations: Array<{ baseHold: unknown }> }).destinations[0]?.baseHold, { state: 'on-newest', snapshot: S1 });
  // Another hold on the same snapshot is not ours: zfs holds tells them apart, where zfs-fuse sees only a count.
  zfs('hold', 'keep-me', `${local}@${S1}`);
  zfs('release', tag, `${local}@${S1}`);
  const other = status(after(S1, 1));
  t.is(other.code, 1, other.stdout);
  t.regex(other.stdout.split('\n')[0] ?? '', new RegExp(`^CYBER-ZFS-BACKUP WARNING - the base hold ${tag} is not on the offsite newest @${S1}: `));
  t.regex(other.stdout, /\n {2}base hold +not on the offsite newest @\S+ \(it has other holds: keep-me\)\n/);
  zfs('hold', tag, `${local}@${S1}`);
  zfs('release', 'keep-me', `${local}@${S1}`);

  // A partial receive of the next day's snapshot, left by an interrupted `zfs receive -s`.
  const r = spawnSync('dd', ['if=/dev/urandom', `of=${join(mnt, 'big.bin')}`, 'bs=1M', 'count=8', 'status=none']);
  t.is(r.status, 0);
  zfs('snapshot', '-r', `${local}@${S2}`);
  spawnSync('sh', ['-c', 'zfs send -I "@$1" "$2" | head -c 3000000 | zfs receive -s -u "$3"', 'sh', S1, `${local}@${S2}`, receive], { stdio: 'ignore' });
  t.not(zfs('get', '-H', '-o', 'value', 'receive_resume_token', receive).trim(), '-', 'setup: a partial receive waits');

  const partial = status(after(S2, 1));
  t.is(partial.code, 1, partial.stdout + partial.stderr);
  t.is(
    partial.stdout.split('\n')[0],
    `CYBER-ZFS-BACKUP WARNING - a partial receive waits in ${receive} (the next push resumes it) | local_age=3600s local_snapshots=2 offsite_age=90000s;93600;180000 offsite_snapshots=1 lag=86400s lag_snapshots=1`,
  );
  t.regex(partial.stdout, new RegExp(`\\n {2}partial receive +${receive}\\n`));

  const view = cli(['--action', 'status', '--received', '--dataset', `${receiverPool.name}/offsite`, '--json'], { CYBER_ZFS_BACKUP_TEST_NOW: after(S2, 1) });
  t.is(view.code, 1, view.stdout + view.stderr);
  const trees = (JSON.parse(view.stdout) as { trees: Array<{ dataset: string; status: string; partialReceives: string[] }> }).trees;
  t.deepEqual(trees.map((x) => [x.dataset, x.status, x.partialReceives]), [[receive, 'WARNING', [receive]]]);
});
