// Several offsite copies: both receive exact mirrors; one unreachable leaves the other pushed (exit 69, its own line) and status judges each; expire keeps every copy's base; the next run is incremental for both; a run lists the local tree once.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync, type CliResult } from '../bed/cli';
import { mountTree, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { snapshotsByDataset, treeSignature, userrefs, zfs } from '../bed/pools';
import { freePort } from '../bed/sshd';

const bed = useBed(test);

/** One ssh_config with two aliases, `offsite` and `offsite2`, both the bed's sshd; `offsite2` at a closed port when `down`. */
function twoHosts(name: string, down?: number): string {
  const first = readFileSync(bed.sshd.writeConfig(`${name}.a`, [], 'offsite'), 'utf8');
  const second = readFileSync(bed.sshd.writeConfig(`${name}.b`, down === undefined ? [] : [`Port ${down}`, 'ConnectTimeout 5'], 'offsite2'), 'utf8');
  const file = join(bed.sshd.dir, name);
  writeFileSync(file, `${first}\n${second}`);
  return file;
}

const lines = (r: CliResult) => r.stderr.split('\n').filter((l) => l.trim() !== '');
const failures = (r: CliResult) => lines(r).filter((l) => l.startsWith('cyber-zfs-backup: '));

test('two destinations: both exact mirrors; one unreachable: the other still pushed, exit 69, each line, status judges each; expire keeps both bases; the next run is incremental for both', async (t) => {
  const localPool = bed.pool('czbds');
  const receiverPool = bed.pool('czbdr');
  const local = `${localPool.name}/h`;
  zfs('create', local);
  zfs('create', `${local}/a`);
  zfs('create', `${receiverPool.name}/offsite`);
  const mnt = mkdtempSync(join(localPool.dir, 'mnt-'));
  mountTree(local, mnt);
  const [a, b] = [`${receiverPool.name}/offsite/one`, `${receiverPool.name}/offsite/two`];
  const tagA = `cyber-zfs-backup:offsite:${a}`;
  const tagB = `cyber-zfs-backup:offsite2:${b}`;
  const S1 = '2026-10-01T00:00:00Z';
  const S2a = '2026-10-02T06:00:00Z';
  const S2 = '2026-10-02T12:00:00Z';
  const S3 = '2026-10-03T00:00:00Z';
  // The local zfs is a wrapper that notes each command line, then runs the real zfs.
  const zfsLog = join(localPool.dir, 'zfs.log');
  const wrapper = join(localPool.dir, 'zfs-noting');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${zfsLog}'\nexec zfs "$@"\n`, { mode: 0o755 });
  const run = (config: string, ...extra: string[]) =>
    runCliAsync(['--dataset', local, '--ssh-destination', 'offsite', '--zfs-receive-dataset', a, '--ssh-destination', 'offsite2', '--zfs-receive-dataset', b, '--ssh-config', config, '-v', ...extra], {
      env: { CYBER_ZFS_BACKUP_ZFS: wrapper },
    });
  const treeListings = () => readFileSync(zfsLog, 'utf8').split('\n').filter((l) => /^get -H -p -o name,property,value -r guid,createtxg,userrefs/.test(l)).length;
  const up = twoHosts('cfg.two-up');

  writeRandomFile(mnt, 'one.bin', 200_000);
  zfs('snapshot', '-r', `${local}@${S1}`);
  const first = await run(up, '--action', 'push', '--force-non-incremental');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, new RegExp(`pushed ${local}@${S1} \\(full\\) to offsite:${a}: `));
  t.regex(first.stderr, new RegExp(`pushed ${local}@${S1} \\(full\\) to offsite2:${b}: `));
  t.deepEqual(treeSignature(a), treeSignature(local));
  t.deepEqual(treeSignature(b), treeSignature(local));
  t.is(userrefs(`${local}@${S1}`), 2, 'each destination holds its base');

  // offsite2 is unreachable: offsite is still pushed; the run ends 69 with offsite2's own line.
  writeRandomFile(mnt, 'two.bin', 200_000);
  zfs('snapshot', '-r', `${local}@${S2a}`);
  writeRandomFile(join(mnt, 'a'), 'two.bin', 200_000);
  zfs('snapshot', '-r', `${local}@${S2}`);
  const down = twoHosts('cfg.two-down', await freePort());
  writeFileSync(zfsLog, '');
  const second = await run(down, '--action', 'push');
  t.is(second.code, 69, second.stderr);
  t.is(treeListings(), 1, 'one listing of the local tree serves both destinations');
  t.deepEqual(failures(second), [failures(second)[0]], 'one failure, one line');
  t.regex(failures(second)[0] ?? '', new RegExp(`^cyber-zfs-backup: push to offsite2:${b}: cannot connect to offsite2 \\(root@\\[127\\.0\\.0\\.1\\]:\\d+\\): .*ECONNREFUSED.*; check that the host is up`));
  t.regex(second.stderr, new RegExp(`pushed ${local}@${S2} \\(incremental from @${S1}\\) to offsite:${a}: `));
  t.deepEqual(treeSignature(a), treeSignature(local));
  t.deepEqual(snapshotsByDataset(b).get(''), [S1], 'the unreachable copy is as it was');
  t.is(userrefs(`${local}@${S1}`), 1, "offsite2's base stays held");
  t.is(userrefs(`${local}@${S2}`), 1, "offsite's base moved");

  // Status judges each copy on its own: offsite current (OK), offsite2 unreachable (CRITICAL); the worst wins.
  const status = await runCliAsync(['--action', 'status', '--json', '--dataset', local, '--ssh-destination', 'offsite', '--zfs-receive-dataset', a, '--ssh-destination', 'offsite2', '--zfs-receive-dataset', b, '--ssh-config', down], {
    env: { CYBER_ZFS_BACKUP_TEST_NOW: '2026-10-02T13:00:00Z' },
  });
  t.is(status.code, 2, status.stdout + status.stderr);
  const doc = JSON.parse(status.stdout) as { status: string; destinations: Array<{ sshDestination: string; receiveDataset: string; status: string }> };
  t.is(doc.status, 'CRITICAL');
  t.deepEqual(
    doc.destinations.map((d) => [d.sshDestination, d.receiveDataset, d.status]),
    [['offsite', a, 'OK'], ['offsite2', b, 'CRITICAL']],
  );

  // Both back. Expire (a policy that keeps only the newest) keeps both bases, then both pushes are incremental from their own base.
  writeRandomFile(mnt, 'three.bin', 200_000);
  zfs('snapshot', '-r', `${local}@${S3}`);
  writeFileSync(zfsLog, '');
  const third = await run(up, '--action', 'expire', 'push', '--retention-policy', '0', '0', '0', '--force-destroy-lots');
  t.is(third.code, 0, third.stderr);
  t.is(treeListings(), 1, 'the local tree is listed once in the run: by expire, and both pushes plan on what it left');
  t.regex(third.stderr, new RegExp(`keeping ${local}@${S1}: it is held`));
  t.regex(third.stderr, new RegExp(`keeping ${local}@${S2}: it is held`));
  t.deepEqual(snapshotsByDataset(local).get(''), [S1, S2, S3], `expire destroyed @${S2a} and kept both bases`);
  t.regex(third.stderr, new RegExp(`pushed ${local}@${S3} \\(incremental from @${S2}\\) to offsite:${a}: `));
  t.regex(third.stderr, new RegExp(`pushed ${local}@${S3} \\(incremental from @${S1}\\) to offsite2:${b}: `));
  t.deepEqual(treeSignature(a), treeSignature(local));
  t.deepEqual(treeSignature(b), treeSignature(local));
  t.is(userrefs(`${local}@${S3}`), 2, 'both bases moved to the target');
  t.is(userrefs(`${local}@${S1}`) + userrefs(`${local}@${S2}`), 0, 'the old bases are released');
  for (const [tag, snapshot] of [[tagA, S3], [tagB, S3]] as const) {
    t.is(zfs('release', '-r', tag, `${local}@${snapshot}`), '', `${tag} was on @${snapshot}`);
  }
});
