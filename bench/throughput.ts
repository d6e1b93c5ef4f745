// Push throughput of a tree of incompressible data: local zfs pipe, OpenSSH pipe and the CLI, interleaved runs, medians and CPU.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotNameFor } from '../src/core/names';
import { createPool, type TestPool } from '../test/bed/pools';
import type { TestSshd } from '../test/bed/sshd';
import { machineCpu, median, MiB, must, procCpu, round, timedAsync, timedSync, waitForNoChildren, zfsFusePid, type Cell } from './lib';

export type Method = 'local' | 'openssh' | 'openssh-gcm' | 'cli';

export interface RunSample {
  method: Method;
  run: number;
  ok: boolean;
  wallSeconds: number;
  mibPerSecond: number;
  /** The transfer alone, as the CLI logs it (cli only). */
  transferSeconds?: number;
  /** CPU of the transport process: ssh for openssh*, our node process (self only) for cli. */
  clientCpuSeconds?: number;
  /** The cli with its children (zfs send client, ssh -G), from /usr/bin/time. */
  clientTreeCpuSeconds?: number;
  clientMaxRssMiB?: number;
  /** Session processes the test sshd reaped during the run (sshd, bash, zfs receive client). */
  sshdCpuSeconds?: number;
  zfsFuseCpuSeconds?: number;
  /** Whole machine, percent of all cores. */
  machineBusyPercent: number;
  destroySeconds: number;
  error?: string;
}

export interface ThroughputResult {
  dataMiB: number;
  streamBytes: number;
  sendOnlySeconds: number;
  sendOnlyMibPerSecond: number;
  writeSeconds: number;
  sshTrueSeconds: number;
  runs: RunSample[];
  summary: Record<Method, { medianMibPerSecond: number; minMibPerSecond: number; maxMibPerSecond: number; medianWallSeconds: number; medianClientCpuSeconds?: number; medianTransferMibPerSecond?: number; medianOutsideTransferSeconds?: number; medianSshdCpuSeconds?: number; medianZfsFuseCpuSeconds?: number; medianBusyPercent: number; okRuns: number }>;
  ratioCliToOpenssh: number;
  ratioCliToLocal: number;
}

export interface ThroughputOptions {
  sizeMiB: number;
  runs: number;
  sshd: TestSshd;
  cli: string;
  hook: string;
  scratch: string;
  pools: TestPool[];
  say: (line: string) => void;
}

function readTime(file: string): { wall: number; cpu: number; maxRssKiB: number } | undefined {
  try {
    const [wall, user, sys, rss] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wall: wall as number, cpu: (user as number) + (sys as number), maxRssKiB: rss as number };
  } catch {
    return undefined;
  }
}

export interface SourceTree {
  tree: string;
  snapshot: string;
  /** The pool that receives. */
  receivePool: string;
  dir: string;
  writeSeconds: number;
}

/** A source pool holding `sizeMiB` of random data in a root and two children (compression off, unmounted, one snapshot), and an empty receiving pool. */
export function prepareSourceTree(sizeMiB: number, pools: TestPool[], scratch: string, say: (line: string) => void): SourceTree {
  const src = createPool('czbbench', `${Math.ceil((sizeMiB * 2) / 1024) + 1}G`);
  pools.push(src);
  const dst = createPool('czbbench', `${Math.ceil((sizeMiB * 3) / 1024) + 1}G`);
  pools.push(dst);
  const dir = mkdtempSync(join(scratch, 'tp-'));
  const tree = `${src.name}/data`;
  const mnt = join(dir, 'mnt');
  say(`throughput: writing ${sizeMiB} MiB from /dev/urandom into ${tree} (compression=off, root + 2 children)`);
  must('zfs', ['create', '-o', 'compression=off', '-o', `mountpoint=${mnt}`, tree]);
  must('zfs', ['create', `${tree}/a`]);
  must('zfs', ['create', `${tree}/b`]);
  const half = Math.floor(sizeMiB / 2);
  const quarter = Math.floor((sizeMiB - half) / 2);
  const write = timedSync('sh', ['-c', 'dd if=/dev/urandom of="$1/blob" bs=1M count="$2" status=none && dd if=/dev/urandom of="$1/a/blob" bs=1M count="$3" status=none && dd if=/dev/urandom of="$1/b/blob" bs=1M count="$4" status=none', 'sh', mnt, String(half), String(quarter), String(sizeMiB - half - quarter)]);
  if (write.status !== 0) throw new Error(`writing the test data failed: ${write.stderr.trim()}`);
  // Unmount (and keep the received copies unmountable): the stream then carries mountpoint=none.
  must('zfs', ['set', 'mountpoint=none', tree]);
  const snapshot = snapshotNameFor(Date.now());
  must('zfs', ['snapshot', '-r', `${tree}@${snapshot}`]);
  return { tree, snapshot, receivePool: dst.name, dir, writeSeconds: write.seconds };
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const { tree, snapshot, receivePool, dir, writeSeconds } = prepareSourceTree(o.sizeMiB, o.pools, o.scratch, o.say);
  const sizeRun = timedSync('sh', ['-c', 'zfs send -R "$1" | wc -c', 'sh', `${tree}@${snapshot}`]);
  const streamBytes = Number(sizeRun.stdout.trim());
  if (!(streamBytes > o.sizeMiB * MiB)) throw new Error(`zfs send -R gave ${sizeRun.stdout.trim()} bytes: ${sizeRun.stderr.trim()}`);
  const sshTrue = median([1, 2, 3].map(() => timedSync('ssh', ['-F', o.sshd.config, 'offsite', 'true']).seconds));
  o.say(`throughput: stream ${round(streamBytes / MiB, 1)} MiB; zfs send alone ${round(streamBytes / MiB / sizeRun.seconds, 1)} MiB/s; "ssh offsite true" takes ${round(sshTrue, 3)} s`);

  const sshdPid = Number(readFileSync(join(o.sshd.dir, 'sshd.pid'), 'utf8').trim());
  const fusePid = zfsFusePid();
  const recv = `${receivePool}/recv`;
  const runs: RunSample[] = [];
  const methods: Method[] = ['local', 'openssh', 'openssh-gcm', 'cli'];
  for (let run = 1; run <= o.runs; run += 1) {
    for (const method of methods) {
      const timeFile = join(dir, `time-${method}-${run}`);
      const rusageFile = join(dir, `rusage-${run}.json`);
      const cpu0 = machineCpu();
      const fuse0 = fusePid ? procCpu(fusePid) : undefined;
      const sshd0 = procCpu(sshdPid);
      let r;
      if (method === 'local') {
        r = await timedAsync('sh', ['-c', 'zfs send -R "$1" | zfs receive -F -u "$2"', 'sh', `${tree}@${snapshot}`, recv]);
      } else if (method === 'openssh' || method === 'openssh-gcm') {
        // openssh-gcm: the same with the cipher ssh2 negotiates, to separate cipher from implementation.
        const cipher = method === 'openssh-gcm' ? '-c aes128-gcm@openssh.com' : '';
        r = await timedAsync('sh', ['-c', `zfs send -R "$1" | /usr/bin/time -f "%e %U %S %M" -o "$4" ssh ${cipher} -F "$3" offsite zfs receive -F -u "$2"`, 'sh', `${tree}@${snapshot}`, recv, o.sshd.config, timeFile]);
      } else {
        r = await timedAsync(
          '/usr/bin/time',
          ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, '--import', o.hook, o.cli, '--action', 'push', '--force-non-incremental', '--dataset', tree, '--zfs-receive-dataset', recv, '--ssh-config', o.sshd.config, '--ssh-destination', 'offsite', '--verbose'],
          { ...process.env, CYBER_ZFS_BACKUP_LOCK_DIR: dir, CZB_BENCH_RUSAGE: rusageFile },
        );
      }
      // The ssh session's processes exit just after the client: let the sshd reap them first.
      if (method !== 'local') waitForNoChildren(sshdPid);
      const cpu1 = machineCpu();
      const fuse1 = fusePid ? procCpu(fusePid) : undefined;
      const sshd1 = procCpu(sshdPid);
      const exists = timedSync('zfs', ['list', '-H', '-o', 'name', `${recv}/b`]).status === 0;
      const ok = r.status === 0 && exists;
      const sample: RunSample = {
        method,
        run,
        ok,
        wallSeconds: r.seconds,
        mibPerSecond: streamBytes / MiB / r.seconds,
        machineBusyPercent: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total),
        destroySeconds: 0,
        ...(fuse0 && fuse1 ? { zfsFuseCpuSeconds: fuse1.self - fuse0.self } : {}),
        ...(method !== 'local' && sshd0 && sshd1 ? { sshdCpuSeconds: sshd1.children - sshd0.children } : {}),
      };
      if (!ok) sample.error = (r.stderr.trim().split('\n').pop() ?? '') || `exit ${r.status}, ${recv} missing`;
      const time = readTime(timeFile);
      if ((method === 'openssh' || method === 'openssh-gcm') && time) {
        sample.clientCpuSeconds = time.cpu;
        sample.clientMaxRssMiB = time.maxRssKiB / 1024;
      }
      if (method === 'cli') {
        const m = /pushed .* (\d+) bytes in ([\d.]+) s/.exec(r.stderr);
        if (m) sample.transferSeconds = Number(m[2]);
        if (m && Number(m[1]) !== streamBytes) sample.error = `the CLI sent ${m[1]} bytes, zfs send -R gives ${streamBytes}`;
        try {
          const u = JSON.parse(readFileSync(rusageFile, 'utf8')) as { userSeconds: number; systemSeconds: number; maxRssKiB: number };
          sample.clientCpuSeconds = u.userSeconds + u.systemSeconds;
          sample.clientMaxRssMiB = u.maxRssKiB / 1024;
        } catch {
          /* the hook did not run */
        }
        if (time) sample.clientTreeCpuSeconds = time.cpu;
      }
      const destroy = timedSync('zfs', ['destroy', '-r', recv]);
      sample.destroySeconds = destroy.seconds;
      if (destroy.status !== 0 && exists) sample.error = `${sample.error ?? ''} destroy: ${destroy.stderr.trim()}`.trim();
      runs.push(sample);
      o.say(
        `throughput: run ${run} ${method.padEnd(7)} ${ok ? 'ok ' : 'FAILED'} ${round(sample.mibPerSecond, 1)} MiB/s in ${round(r.seconds, 2)} s` +
          (sample.clientCpuSeconds !== undefined ? `, client CPU ${round(sample.clientCpuSeconds, 2)} s` : '') +
          (sample.error ? ` (${sample.error})` : ''),
      );
    }
  }
  rmSync(dir, { recursive: true, force: true });

  const summarize = (method: Method) => {
    const ok = runs.filter((s) => s.method === method && s.ok);
    const rates = ok.map((s) => s.mibPerSecond);
    const opt = (values: (number | undefined)[]) => {
      const v = values.filter((x): x is number => x !== undefined);
      return v.length > 0 ? median(v) : undefined;
    };
    return {
      medianMibPerSecond: median(rates),
      minMibPerSecond: Math.min(...rates),
      maxMibPerSecond: Math.max(...rates),
      medianWallSeconds: median(ok.map((s) => s.wallSeconds)),
      medianClientCpuSeconds: opt(ok.map((s) => s.clientCpuSeconds)),
      medianTransferMibPerSecond: opt(ok.map((s) => (s.transferSeconds ? streamBytes / MiB / s.transferSeconds : undefined))),
      /** Start-up, listing, connecting, probing, and the work after the stream (cli only). */
      medianOutsideTransferSeconds: opt(ok.map((s) => (s.transferSeconds ? s.wallSeconds - s.transferSeconds : undefined))),
      medianSshdCpuSeconds: opt(ok.map((s) => s.sshdCpuSeconds)),
      medianZfsFuseCpuSeconds: opt(ok.map((s) => s.zfsFuseCpuSeconds)),
      medianBusyPercent: median(ok.map((s) => s.machineBusyPercent)),
      okRuns: ok.length,
    };
  };
  const summary = { local: summarize('local'), openssh: summarize('openssh'), 'openssh-gcm': summarize('openssh-gcm'), cli: summarize('cli') };
  return {
    dataMiB: o.sizeMiB,
    streamBytes,
    sendOnlySeconds: sizeRun.seconds,
    sendOnlyMibPerSecond: streamBytes / MiB / sizeRun.seconds,
    writeSeconds,
    sshTrueSeconds: sshTrue,
    runs,
    summary,
    ratioCliToOpenssh: summary.cli.medianMibPerSecond / summary.openssh.medianMibPerSecond,
    ratioCliToLocal: summary.cli.medianMibPerSecond / summary.local.medianMibPerSecond,
  };
}

export function throughputRows(t: ThroughputResult): Cell[][] {
  const label: Record<Method, string> = {
    local: '(a) zfs send -R | zfs recv',
    openssh: '(b) zfs send -R | ssh offsite zfs recv',
    'openssh-gcm': '    same, ssh -c aes128-gcm (reference)',
    cli: '(c) cyber-zfs-backup --action push',
  };
  const r = (v: number | undefined, d = 1): Cell => (v === undefined || !Number.isFinite(v) ? '-' : round(v, d));
  const rows: Cell[][] = [['(0) zfs send -R | wc -c (source only)', r(t.sendOnlyMibPerSecond), '-', r(t.sendOnlySeconds, 2), '-', '-', '-', '-', '1/1']];
  for (const m of ['local', 'openssh', 'openssh-gcm', 'cli'] as Method[]) {
    const s = t.summary[m];
    rows.push([
      label[m],
      r(s.medianMibPerSecond),
      `${r(s.minMibPerSecond)}-${r(s.maxMibPerSecond)}`,
      r(s.medianWallSeconds, 2),
      m === 'cli' ? `${r(s.medianClientCpuSeconds, 2)} (node)` : m === 'local' ? '-' : `${r(s.medianClientCpuSeconds, 2)} (ssh)`,
      r(s.medianSshdCpuSeconds, 2),
      r(s.medianZfsFuseCpuSeconds, 2),
      r(s.medianBusyPercent, 0),
      `${s.okRuns}/${t.runs.filter((x) => x.method === m).length}`,
    ]);
  }
  return rows;
}
