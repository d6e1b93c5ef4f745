// --bwlimit holds the stream to its rate in process: 64 MiB at 8M streams for at least 7.6 s, and the limiter does not starve it (at least 85% of the rate).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from '../bed/cli';
import { mountTree, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { treeSignature, zfs } from '../bed/pools';

const bed = useBed(test);

test('--bwlimit 8M on 64 MiB: the stream takes at least 7.6 s and runs at 85% of the limit or more; the log line shows the rate and the limit', async (t) => {
  const localPool = bed.pool('czbbw');
  const receiverPool = bed.pool('czbbwr');
  const local = `${localPool.name}/h`;
  const receive = `${receiverPool.name}/offsite/h`;
  zfs('create', local);
  zfs('create', `${receiverPool.name}/offsite`);
  const push = (...extra: string[]) => runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra]);
  zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
  const first = await push('--force-non-incremental');
  t.is(first.code, 0, first.stderr);
  const mnt = mkdtempSync(join(localPool.dir, 'mnt-'));
  mountTree(local, mnt);
  for (let i = 0; i < 8; i += 1) writeRandomFile(mnt, `big${i}.bin`, 8 * 1048576);
  zfs('set', 'mountpoint=none', local);
  zfs('snapshot', '-r', `${local}@2026-10-02T00:00:00Z`);

  const limited = await push('--bwlimit', '8M', '-v');
  t.is(limited.code, 0, limited.stderr);
  // The whole time also has zfs send's start and the receiver's end in it; the limit holds the stream itself.
  const m = /pushed \S+ \(incremental from @2026-10-01T00:00:00Z\) to offsite:\S+: (\d+) bytes in ([\d.]+) s, [\d.]+ MiB\/s; the stream ([\d.]+) s at ([\d.]+) MiB\/s \(limited to 8 MiB\/s\)$/m.exec(limited.stderr);
  t.truthy(m, limited.stderr);
  const bytes = Number(m?.[1]);
  const seconds = Number(m?.[2]);
  const streamSeconds = Number(m?.[3]);
  const rate = bytes / streamSeconds;
  t.log(`${bytes} bytes in ${seconds} s, the stream ${streamSeconds} s: ${(rate / 1048576).toFixed(2)} MiB/s (logged ${m?.[4]}) against a limit of 8 MiB/s`);
  t.true(bytes >= 64 * 1048576, `the stream carried the 64 MiB (${bytes} bytes)`);
  t.true(streamSeconds >= 7.6 && seconds >= streamSeconds, `the limit holds: the stream took ${streamSeconds} s of ${seconds} s`);
  t.true(rate >= 0.85 * 8 * 1048576, `the limiter does not starve the stream: ${(rate / 1048576).toFixed(2)} MiB/s`);
  t.deepEqual(treeSignature(receive), treeSignature(local));
});
