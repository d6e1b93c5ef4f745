// --bwlimit holds the stream to its rate in process: 64 MiB at 8M streams for at least 7.6 s, and the limiter does not starve it (at least 85% of the rate, or of what the same pipe carries without a limit, just before or after, on a machine too busy for 8 MiB/s).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from '../bed/cli';
import { mountTree, writeRandomFile } from '../bed/content';
import { useBed } from '../bed/fixture';
import { treeSignature, zfs } from '../bed/pools';

const bed = useBed(test);

test('--bwlimit 8M on 64 MiB: the stream takes at least 7.6 s and runs at 85% of the limit or more (of the same pipe without a limit, just before or just after, if that is slower here); the log line shows the rate and the limit', async (t) => {
  const localPool = bed.pool('czbbw', '512M');
  const receiverPool = bed.pool('czbbwr', '512M');
  const local = `${localPool.name}/h`;
  const receive = `${receiverPool.name}/offsite/h`;
  zfs('create', local);
  zfs('create', `${receiverPool.name}/offsite`);
  const push = (...extra: string[]) => runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra]);
  zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
  const first = await push('--force-non-incremental');
  t.is(first.code, 0, first.stderr);
  const mnt = mkdtempSync(join(localPool.dir, 'mnt-'));
  const write64MiB = (snapshot: string, name: string) => {
    mountTree(local, mnt);
    for (let i = 0; i < 8; i += 1) writeRandomFile(mnt, `${name}${i}.bin`, 8 * 1048576);
    zfs('set', 'mountpoint=none', local);
    zfs('snapshot', '-r', `${local}@${snapshot}`);
  };

  // The same pipe without a limit, just before: what it can carry on this machine now (a loaded
  // test machine may not reach 8 MiB/s at all; the limiter must not be blamed for that).
  write64MiB('2026-10-02T00:00:00Z', 'free');
  const free = await push('-v');
  t.is(free.code, 0, free.stderr);
  const f = /pushed \S+ \(incremental from @2026-10-01T00:00:00Z\) to offsite:\S+: (\d+) bytes in ([\d.]+) s, /m.exec(free.stderr);
  t.truthy(f, free.stderr);

  write64MiB('2026-10-03T00:00:00Z', 'big');
  const limited = await push('--bwlimit', '8M', '-v');
  t.is(limited.code, 0, limited.stderr);
  // The whole time also has zfs send's start and the receiver's end in it; the limit holds the stream itself.
  const m = /pushed \S+ \(incremental from @2026-10-02T00:00:00Z\) to offsite:\S+: (\d+) bytes in ([\d.]+) s, [\d.]+ MiB\/s; the stream ([\d.]+) s at ([\d.]+) MiB\/s \(limited to 8 MiB\/s\)$/m.exec(limited.stderr);
  t.truthy(m, limited.stderr);
  // …and just after: the load of a busy test machine comes and goes, so the lower of the two.
  write64MiB('2026-10-04T00:00:00Z', 'after');
  const after = await push('-v');
  t.is(after.code, 0, after.stderr);
  const a = /pushed \S+ \(incremental from @2026-10-03T00:00:00Z\) to offsite:\S+: (\d+) bytes in ([\d.]+) s, /m.exec(after.stderr);
  t.truthy(a, after.stderr);
  const freeRate = Math.min(Number(f?.[1]) / Number(f?.[2]), Number(a?.[1]) / Number(a?.[2]));
  const bytes = Number(m?.[1]);
  const seconds = Number(m?.[2]);
  const streamSeconds = Number(m?.[3]);
  const rate = bytes / streamSeconds;
  const limit = 8 * 1048576;
  const floor = 0.85 * Math.min(limit, freeRate);
  t.log(`without a limit (the slower of before and after) ${(freeRate / 1048576).toFixed(2)} MiB/s; limited: ${bytes} bytes in ${seconds} s, the stream ${streamSeconds} s: ${(rate / 1048576).toFixed(2)} MiB/s (logged ${m?.[4]}) against a limit of 8 MiB/s`);
  t.true(bytes >= 64 * 1048576, `the stream carried the 64 MiB (${bytes} bytes)`);
  t.true(streamSeconds >= 7.6 && seconds >= streamSeconds, `the limit holds: the stream took ${streamSeconds} s of ${seconds} s`);
  t.true(rate >= floor, `the limiter does not starve the stream: ${(rate / 1048576).toFixed(2)} MiB/s, below 85% of ${(Math.min(limit, freeRate) / 1048576).toFixed(2)} MiB/s (the limit, or the same pipe without one if that was slower)`);
  t.deepEqual(treeSignature(receive), treeSignature(local));
});
