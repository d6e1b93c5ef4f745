// Push throughput of a tree of incompressible data by every carrier (local pipe, OpenSSH, the CLI, stream prototypes), interleaved runs, medians, and CPU per GiB for each process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotNameFor } from '../src/core/names';
import { createPool, type TestPool } from '../test/bed/pools';
import type { TestSshd } from '../test/bed/sshd';
import type { CpuGroup } from './cpu-groups';
import { machineCpu, median, MiB, must, procCpu, round, timedAsync, timedSync, zfsFusePid, type Cell } from './lib';
import type { StreamReport, StreamRequest } from './stream-child';

export const METHODS = ['local', 'openssh', 'openssh-gcm', 'cli', 'cli-alt', 'cli-alt2', 'ssh2', 'ssh2-tuned', 'ssh2-tuned-nodelay', 'openssh-fd', 'openssh-relay', 'openssh-relay-gcm'] as const;
export type Method = (typeof METHODS)[number];

export const METHOD_LABEL: Record<Method, string> = {
  local: '(a) zfs send -R | zfs recv',
  openssh: '(b) zfs send -R | ssh offsite zfs recv',
  'openssh-gcm': '    same, ssh -c aes128-gcm',
  cli: '(c) cyber-zfs-backup --action push',
  'cli-alt': "(c') --alt-cli with --alt-env",
  'cli-alt2': "(c'') --alt-cli with --alt2-env",
  ssh2: '[s] stream alone: ssh2 as the CLI does',
  'ssh2-tuned': '[s] ssh2, one socket write per tick',
  'ssh2-tuned-nodelay': '[s] same, TCP_NODELAY on',
  'openssh-fd': '[s] OpenSSH client, send fd as stdin',
  'openssh-relay': '[s] OpenSSH client, node relays',
  'openssh-relay-gcm': '[s] same, ssh -c aes128-gcm',
};

/** The processes whose CPU is charged separately (cgroups; see cpu-groups.ts). */
export interface BenchGroups {
  kind: string;
  /** The local `ssh` client. */
  ssh: CpuGroup;
  /** The local `zfs send` (the local zfs wrapper moves itself there). */
  send: CpuGroup;
  /** The test sshd and every session it forks, except `zfs receive`. */
  sshd: CpuGroup;
  /** The remote `zfs receive` (the remote env wrapper moves itself there). */
  recv: CpuGroup;
  /** The CLI's perl children (the pipes' enlarging): counted with our node process. */
  relay: CpuGroup;
}

export interface RunSample {
  method: Method;
  run: number;
  sizeMiB: number;
  ok: boolean;
  wallSeconds: number;
  mibPerSecond: number;
  /** The stream alone: as the CLI logs it, or as the stream child measures it. */
  streamSeconds?: number;
  /** Our node process (not its zfs, ssh children), with the CLI's perl children: the CLI, or the stream child. */
  nodeCpuSeconds?: number;
  /** The cli with its children (zfs send, ssh -G, zfs listings), from /usr/bin/time. */
  cliTreeCpuSeconds?: number;
  sshCpuSeconds?: number;
  sshdCpuSeconds?: number;
  recvCpuSeconds?: number;
  sendCpuSeconds?: number;
  zfsFuseCpuSeconds?: number;
  maxRssMiB?: number;
  /** Whole machine, percent of all cores. */
  machineBusyPercent: number;
  error?: string;
}

export interface MethodSummary {
  medianMibPerSecond: number;
  minMibPerSecond: number;
  maxMibPerSecond: number;
  medianWallSeconds: number;
  medianStreamMibPerSecond?: number;
  medianOutsideStreamSeconds?: number;
  /** CPU seconds per GiB of stream, medians over the runs. */
  perGiB: { node?: number; ssh?: number; sshd?: number; recv?: number; send?: number; zfsFuse?: number };
  medianBusyPercent: number;
  okRuns: number;
  runs: number;
}

export interface SizeResult {
  sizeMiB: number;
  streamBytes: number;
  sendOnlySeconds: number;
  summary: Partial<Record<Method, MethodSummary>>;
}

export interface HandshakeResult {
  /** `ssh -F CONFIG offsite true`: wall, the client's CPU and the sshd's CPU, medians. */
  wallSeconds: number;
  sshCpuSeconds: number;
  sshdCpuSeconds: number;
  runs: number;
}

export interface ThroughputResult {
  dataMiB: number[];
  methods: Method[];
  cpuAccounting: string;
  handshake: HandshakeResult;
  runs: RunSample[];
  sizes: SizeResult[];
}

export interface ThroughputOptions {
  sizesMiB: number[];
  runs: number;
  methods: Method[];
  /** Methods also run at sizes after the first (the whole-command goal is on 1 and 4 GiB). */
  largeMethods: Method[];
  sshd: TestSshd;
  cli: string;
  altCli?: string;
  /** Environment for the cli-alt and cli-alt2 runs (e.g. a scratch build's switch). */
  altEnv?: Record<string, string>;
  alt2Env?: Record<string, string>;
  hook: string;
  benchDir: string;
  scratch: string;
  pools: TestPool[];
  groups: BenchGroups;
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

/** The cost of a second SSH connection (what carrying the stream by OpenSSH's client adds to a push). */
export function measureHandshake(sshd: TestSshd, groups: BenchGroups, cgExec: string, runs: number): HandshakeResult {
  const wall: number[] = [];
  const client: number[] = [];
  const server: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const s0 = groups.ssh.seconds();
    const d0 = groups.sshd.seconds();
    const r = timedSync(cgExec, [groups.ssh.dir, 'ssh', '-F', sshd.config, '-o', 'BatchMode=yes', 'offsite', 'true']);
    waitForSessionsToEnd(groups.sshd);
    if (r.status !== 0) throw new Error(`ssh offsite true failed: ${r.stderr.trim()}`);
    wall.push(r.seconds);
    client.push(groups.ssh.seconds() - s0);
    server.push(groups.sshd.seconds() - d0);
  }
  return { wallSeconds: median(wall), sshCpuSeconds: median(client), sshdCpuSeconds: median(server), runs };
}

/** The sshd's session processes end just after the client: wait until only the listener is left in its group. */
function waitForSessionsToEnd(group: CpuGroup, ms = 3000): void {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const pids = readFileSync(join(group.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    if (pids.length <= 1) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

function streamRequest(method: Method, o: ThroughputOptions, sendArgs: string[], receiveArgs: string[], localZfs: string): StreamRequest {
  const base = { config: o.sshd.config, destination: 'offsite', zfs: localZfs, sendArgs, receiveArgs, sshPrefix: [join(o.benchDir, 'wrap', 'cg-exec'), o.groups.ssh.dir] };
  switch (method) {
    case 'ssh2':
      return { ...base, carrier: 'ssh2' };
    case 'ssh2-tuned':
      return { ...base, carrier: 'ssh2-tuned', tune: { coalesce: true, noDelay: false } };
    case 'ssh2-tuned-nodelay':
      return { ...base, carrier: 'ssh2-tuned', tune: { coalesce: true, noDelay: true } };
    case 'openssh-fd':
      return { ...base, carrier: 'openssh-fd' };
    case 'openssh-relay':
      return { ...base, carrier: 'openssh-relay' };
    default:
      return { ...base, carrier: 'openssh-relay', sshOptions: ['-c', 'aes128-gcm@openssh.com'] };
  }
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const cgExec = join(o.benchDir, 'wrap', 'cg-exec');
  const localZfs = join(o.benchDir, 'wrap', 'local', 'zfs');
  const fusePid = zfsFusePid();
  const handshake = measureHandshake(o.sshd, o.groups, cgExec, 5);
  o.say(`throughput: a second SSH connection ("ssh offsite true") takes ${round(handshake.wallSeconds, 3)} s, ssh ${round(handshake.sshCpuSeconds, 3)} CPU s, sshd ${round(handshake.sshdCpuSeconds, 3)} CPU s`);
  const runs: RunSample[] = [];
  const sizes: SizeResult[] = [];
  for (const [index, sizeMiB] of o.sizesMiB.entries()) {
    const methods = index === 0 ? o.methods : o.methods.filter((m) => o.largeMethods.includes(m));
    const { tree, snapshot, receivePool, dir } = prepareSourceTree(sizeMiB, o.pools, o.scratch, o.say);
    const sizeRun = timedSync('sh', ['-c', 'zfs send -R "$1" | wc -c', 'sh', `${tree}@${snapshot}`]);
    const streamBytes = Number(sizeRun.stdout.trim());
    if (!(streamBytes > sizeMiB * MiB)) throw new Error(`zfs send -R gave ${sizeRun.stdout.trim()} bytes: ${sizeRun.stderr.trim()}`);
    o.say(`throughput: ${sizeMiB} MiB: stream ${round(streamBytes / MiB, 1)} MiB; zfs send alone ${round(streamBytes / MiB / sizeRun.seconds, 1)} MiB/s; methods ${methods.join(', ')}`);
    const recv = `${receivePool}/recv`;
    const sendArgs = ['send', '-R', `${tree}@${snapshot}`];
    const receiveArgs = ['receive', '-F', '-u', recv];
    const gib = streamBytes / (1024 * MiB);
    for (let run = 1; run <= o.runs; run += 1) {
      for (const method of methods) {
        if (method.startsWith('cli-alt') && !o.altCli) continue;
        const timeFile = join(dir, `time-${method}-${run}`);
        const rusageFile = join(dir, `rusage-${method}-${run}.json`);
        const cpu0 = machineCpu();
        const fuse0 = fusePid ? procCpu(fusePid) : undefined;
        const g0 = { ssh: o.groups.ssh.seconds(), send: o.groups.send.seconds(), sshd: o.groups.sshd.seconds(), recv: o.groups.recv.seconds(), relay: o.groups.relay.seconds() };
        const env = { ...process.env, CZB_BENCH_SEND_CGROUP: o.groups.send.dir };
        let r;
        let report: StreamReport | undefined;
        if (method === 'local') {
          r = await timedAsync('sh', ['-c', '"$3" send -R "$1" | zfs receive -F -u "$2"', 'sh', `${tree}@${snapshot}`, recv, localZfs], env);
        } else if (method === 'openssh' || method === 'openssh-gcm') {
          // The remote command as the CLI sends it (env PATH=… zfs receive), so the same wrapper charges zfs receive.
          const cipher = method === 'openssh-gcm' ? '-c aes128-gcm@openssh.com' : '';
          r = await timedAsync(
            'sh',
            ['-c', `"$5" send -R "$1" | "$4" "$6" ssh ${cipher} -F "$3" offsite env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin zfs receive -F -u "$2"`, 'sh', `${tree}@${snapshot}`, recv, o.sshd.config, cgExec, localZfs, o.groups.ssh.dir],
            env,
          );
        } else if (method.startsWith('cli')) {
          const cli = method === 'cli' ? o.cli : (o.altCli as string);
          const extra = method === 'cli-alt' ? o.altEnv : method === 'cli-alt2' ? o.alt2Env : undefined;
          r = await timedAsync(
            '/usr/bin/time',
            ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, '--import', o.hook, cli, '--action', 'push', '--force-non-incremental', '--dataset', tree, '--zfs-receive-dataset', recv, '--ssh-config', o.sshd.config, '--ssh-destination', 'offsite', '--verbose'],
            {
              ...env,
              // The local wrappers first on PATH: a build that runs ssh for the stream has it charged to the ssh group.
              PATH: `${join(o.benchDir, 'wrap', 'local')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
              CYBER_ZFS_BACKUP_LOCK_DIR: dir,
              CZB_BENCH_RUSAGE: rusageFile,
              CYBER_ZFS_BACKUP_ZFS: localZfs,
              CZB_BENCH_SSH_CGROUP: o.groups.ssh.dir,
              CZB_BENCH_RELAY_CGROUP: o.groups.relay.dir,
              ...extra,
            },
          );
        } else {
          const request = streamRequest(method, o, sendArgs, receiveArgs, localZfs);
          r = await timedAsync(process.execPath, ['--import', 'tsx', join(o.benchDir, 'stream-child.ts'), JSON.stringify(request)], env);
          try {
            report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as StreamReport;
          } catch {
            report = undefined;
          }
        }
        if (method !== 'local') waitForSessionsToEnd(o.groups.sshd);
        const cpu1 = machineCpu();
        const fuse1 = fusePid ? procCpu(fusePid) : undefined;
        const exists = timedSync('zfs', ['list', '-H', '-o', 'name', `${recv}/b`]).status === 0;
        const sample: RunSample = {
          method,
          run,
          sizeMiB,
          ok: r.status === 0 && exists && (report === undefined ? true : report.ok),
          wallSeconds: r.seconds,
          mibPerSecond: streamBytes / MiB / r.seconds,
          machineBusyPercent: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total),
          sendCpuSeconds: o.groups.send.seconds() - g0.send,
          ...(fuse0 && fuse1 ? { zfsFuseCpuSeconds: fuse1.self - fuse0.self } : {}),
          ...(method !== 'local' ? { sshdCpuSeconds: o.groups.sshd.seconds() - g0.sshd, recvCpuSeconds: o.groups.recv.seconds() - g0.recv } : {}),
        };
        if (method === 'openssh' || method === 'openssh-gcm' || method.startsWith('openssh-')) sample.sshCpuSeconds = o.groups.ssh.seconds() - g0.ssh;
        if (!sample.ok) sample.error = report?.error ?? ((r.stderr.trim().split('\n').pop() ?? '') || `exit ${r.status}, ${recv} missing`);
        if (report) {
          sample.streamSeconds = report.streamSeconds;
          sample.nodeCpuSeconds = report.cpuSeconds;
          if (report.bytes > 0 && report.bytes !== streamBytes) sample.error = `the stream child sent ${report.bytes} bytes, zfs send -R gives ${streamBytes}`;
        }
        if (method.startsWith('cli')) {
          const m = /pushed .* (\d+) bytes in ([\d.]+) s/.exec(r.stderr);
          if (m) sample.streamSeconds = Number(m[2]);
          if (m && Number(m[1]) !== streamBytes) sample.error = `the CLI sent ${m[1]} bytes, zfs send -R gives ${streamBytes}`;
          // A build that carries the stream by OpenSSH's client starts it through CZB_BENCH_SSH_CGROUP's wrapper, or not at all.
          const ssh = o.groups.ssh.seconds() - g0.ssh;
          if (ssh > 0) sample.sshCpuSeconds = ssh;
          try {
            const u = JSON.parse(readFileSync(rusageFile, 'utf8')) as { userSeconds: number; systemSeconds: number; maxRssKiB: number };
            // Our perl children (the pipes' enlarging) are ours: they are in the relay group.
            sample.nodeCpuSeconds = u.userSeconds + u.systemSeconds + (o.groups.relay.seconds() - g0.relay);
            sample.maxRssMiB = u.maxRssKiB / 1024;
          } catch {
            /* the hook did not run */
          }
          const time = readTime(timeFile);
          if (time) sample.cliTreeCpuSeconds = time.cpu;
        }
        const destroy = timedSync('zfs', ['destroy', '-r', recv]);
        if (destroy.status !== 0 && exists) sample.error = `${sample.error ?? ''} destroy: ${destroy.stderr.trim()}`.trim();
        runs.push(sample);
        const per = (v: number | undefined) => (v === undefined ? '-' : round(v / gib, 2));
        o.say(
          `throughput: ${sizeMiB} MiB run ${run} ${method.padEnd(18)} ${sample.ok ? 'ok ' : 'FAILED'} ${round(sample.mibPerSecond, 1)} MiB/s in ${round(r.seconds, 2)} s` +
            (sample.streamSeconds ? ` (stream ${round(streamBytes / MiB / sample.streamSeconds, 1)} MiB/s)` : '') +
            `; CPU s/GiB node ${per(sample.nodeCpuSeconds)} ssh ${per(sample.sshCpuSeconds)} sshd ${per(sample.sshdCpuSeconds)} recv ${per(sample.recvCpuSeconds)} send ${per(sample.sendCpuSeconds)} zfs-fuse ${per(sample.zfsFuseCpuSeconds)}` +
            (sample.error ? ` (${sample.error})` : ''),
        );
      }
    }
    rmSync(dir, { recursive: true, force: true });
    sizes.push({ sizeMiB, streamBytes, sendOnlySeconds: sizeRun.seconds, summary: summarize(runs.filter((s) => s.sizeMiB === sizeMiB), streamBytes) });
  }
  return { dataMiB: o.sizesMiB, methods: o.methods, cpuAccounting: o.groups.kind, handshake, runs, sizes };
}

function summarize(samples: RunSample[], streamBytes: number): Partial<Record<Method, MethodSummary>> {
  const gib = streamBytes / (1024 * MiB);
  const out: Partial<Record<Method, MethodSummary>> = {};
  for (const method of METHODS) {
    const all = samples.filter((s) => s.method === method);
    if (all.length === 0) continue;
    const ok = all.filter((s) => s.ok);
    const rates = ok.map((s) => s.mibPerSecond);
    const opt = (values: (number | undefined)[]) => {
      const v = values.filter((x): x is number => x !== undefined);
      return v.length > 0 ? median(v) : undefined;
    };
    const perGiB = (pick: (s: RunSample) => number | undefined) => {
      const m = opt(ok.map(pick));
      return m === undefined ? undefined : m / gib;
    };
    out[method] = {
      medianMibPerSecond: median(rates),
      minMibPerSecond: Math.min(...rates),
      maxMibPerSecond: Math.max(...rates),
      medianWallSeconds: median(ok.map((s) => s.wallSeconds)),
      medianStreamMibPerSecond: opt(ok.map((s) => (s.streamSeconds ? streamBytes / MiB / s.streamSeconds : undefined))),
      medianOutsideStreamSeconds: method.startsWith('cli') ? opt(ok.map((s) => (s.streamSeconds ? s.wallSeconds - s.streamSeconds : undefined))) : undefined,
      perGiB: {
        node: perGiB((s) => s.nodeCpuSeconds),
        ssh: perGiB((s) => s.sshCpuSeconds),
        sshd: perGiB((s) => s.sshdCpuSeconds),
        recv: perGiB((s) => s.recvCpuSeconds),
        send: perGiB((s) => s.sendCpuSeconds),
        zfsFuse: perGiB((s) => s.zfsFuseCpuSeconds),
      },
      medianBusyPercent: median(ok.map((s) => s.machineBusyPercent)),
      okRuns: ok.length,
      runs: all.length,
    };
  }
  return out;
}

export function throughputRows(t: ThroughputResult, size: SizeResult): Cell[][] {
  const r = (v: number | undefined, d = 1): Cell => (v === undefined || !Number.isFinite(v) ? '-' : round(v, d));
  const rows: Cell[][] = [['(0) zfs send -R | wc -c (source only)', r(size.streamBytes / MiB / size.sendOnlySeconds), '-', r(size.sendOnlySeconds, 2), '-', '-', '-', '-', '-', '-', '-', '-', '1/1']];
  for (const m of METHODS) {
    const s = size.summary[m];
    if (!s) continue;
    rows.push([
      METHOD_LABEL[m],
      r(s.medianMibPerSecond),
      `${r(s.minMibPerSecond)}-${r(s.maxMibPerSecond)}`,
      r(s.medianWallSeconds, 2),
      r(s.medianStreamMibPerSecond),
      r(s.perGiB.node, 2),
      r(s.perGiB.ssh, 2),
      r(s.perGiB.sshd, 2),
      r(s.perGiB.recv, 2),
      r(s.perGiB.send, 2),
      r(s.perGiB.zfsFuse, 2),
      r(s.medianBusyPercent, 0),
      `${s.okRuns}/${s.runs}`,
    ]);
  }
  return rows;
}

export const THROUGHPUT_HEADER = ['method', 'MiB/s', 'range', 'wall s', 'stream MiB/s', 'node', 'ssh', 'sshd', 'zfs recv', 'zfs send', 'zfs-fuse', 'busy %', 'ok'];
