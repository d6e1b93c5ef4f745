// One planner measurement in a fresh process: builds synthetic trees, then times one planner and reads its peak RSS from /proc/self.
import { readFileSync, writeFileSync } from 'node:fs';
import { planExpire } from '../src/core/expire-plan';
import { planReplication } from '../src/core/replication-plan';
import { DEFAULT_RETENTION, planRetention } from '../src/core/retention';
import { parseTree, type DatasetInfo, type DatasetTree } from '../src/core/tree';

export type Scenario = 'retention-names' | 'expire-tree' | 'replication-incremental' | 'replication-no-common' | 'replication-diverged' | 'parse-tree';

export interface ChildResult {
  scenario: Scenario;
  datasets: number;
  snapshotsPerDataset: number;
  /** Snapshots in the planner's input (both sides for replication). */
  inputSnapshots: number;
  buildSeconds: number;
  /** RSS of the process before any input existed (node + tsx + the modules). */
  baselineRssMiB: number;
  /** RSS with the input built and garbage collected. */
  inputRssMiB: number;
  /** VmHWM while the planner ran (reset just before it). */
  peakRssMiB: number;
  /** peakRss - inputRss: what the planner itself needed. */
  plannerIncrementMiB: number;
  heapUsedInputMiB: number;
  /** The first (cold) call: what one CLI run sees. */
  firstSeconds: number;
  /** Median of the later calls (warm JIT). */
  warmSeconds: number;
  outcome: string;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const HOUR = 3_600_000;
const T0 = Date.UTC(2020, 0, 1);

function status(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function resetPeak(): void {
  // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
  writeFileSync('/proc/self/clear_refs', '5');
}

function settle(): void {
  for (let i = 0; i < 3; i += 1) gc();
}

/** A flat, unshared copy of a string, as a parser would produce (no cons or sliced strings). */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

export function snapshotName(index: number, stepMs = HOUR): string {
  return flat(new Date(T0 + index * stepMs).toISOString().replace('.000Z', 'Z'));
}

/** Relative names of a tree of `count` datasets: the root, 9 children, then grandchildren under them. */
export function datasetNames(count: number): string[] {
  const names = [''];
  const top = Math.min(9, count - 1);
  for (let i = 1; i <= top; i += 1) names.push(`c${i}`);
  for (let i = 0; names.length < count; i += 1) names.push(`c${(i % top) + 1}/g${Math.floor(i / top)}`);
  return names;
}

function guid(ds: number, i: number, lineage: number): string {
  const hi = (Math.imul(ds + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b) ^ Math.imul(lineage + 1, 0xc2b2ae35)) >>> 0;
  const lo = Math.imul(i + 7, 2654435761) >>> 0;
  return flat(`${hi || 1}${String(lo).padStart(10, '0')}`);
}

/** A tree whose every dataset holds snapshots 0..count-1 (hourly names), all created by `snapshot -r`. */
function buildTree(root: string, datasets: number, count: number, options: { lineage?: number; skipDataset?: number; heldIndex?: number } = {}): DatasetTree {
  const map = new Map<string, DatasetInfo>();
  datasetNames(datasets).forEach((relative, ds) => {
    if (ds === options.skipDataset) return;
    const snapshots = new Array(count);
    for (let i = 0; i < count; i += 1) {
      snapshots[i] = { name: snapshotName(i), guid: guid(ds, i, options.lineage ?? 0), createtxg: 1000 + i * 5, userrefs: i === options.heldIndex ? 1 : 0 };
    }
    map.set(relative, { relative, guid: guid(ds, -1, options.lineage ?? 0), snapshots });
  });
  return { root, datasets: map };
}

/** The text of `zfs get -H -p -o name,property,value -r guid,createtxg,userrefs ROOT` for such a tree. */
function zfsGetText(root: string, datasets: number, count: number): string {
  const chunks: string[] = [];
  datasetNames(datasets).forEach((relative, ds) => {
    const full = relative === '' ? root : `${root}/${relative}`;
    const lines = [`${full}\tguid\t${guid(ds, -1, 0)}`, `${full}\tcreatetxg\t${900 + ds}`, `${full}\tuserrefs\t-`];
    for (let i = 0; i < count; i += 1) {
      const snap = `${full}@${snapshotName(i)}`;
      lines.push(`${snap}\tguid\t${guid(ds, i, 0)}`, `${snap}\tcreatetxg\t${1000 + i * 5}`, `${snap}\tuserrefs\t${i === count - 2 ? 1 : 0}`);
    }
    chunks.push(lines.join('\n'));
  });
  return chunks.join('\n') + '\n';
}

function measure(scenario: Scenario, datasets: number, count: number, repeat: number): ChildResult {
  settle();
  const baselineRssMiB = status('VmRSS');
  const buildStart = process.hrtime.bigint();
  let run: () => string;
  let inputSnapshots = datasets * count;
  switch (scenario) {
    case 'retention-names': {
      const names = Array.from({ length: datasets * count }, (_, i) => snapshotName(i, 30_000));
      run = () => {
        const plan = planRetention(names, DEFAULT_RETENTION);
        return `keep ${plan.keep.length}, destroy ${plan.destroy.length}`;
      };
      break;
    }
    case 'expire-tree': {
      const tree = buildTree('pool/tree', datasets, count, { heldIndex: count - 2 });
      const now = T0 + count * HOUR;
      run = () => {
        const plan = planExpire(tree, DEFAULT_RETENTION, now, true);
        return plan.kind === 'plan' ? `keep ${plan.keep.length}, destroy ${plan.destroy.length}, held ${plan.held.length}` : plan.kind;
      };
      break;
    }
    case 'replication-incremental':
    case 'replication-no-common':
    case 'replication-diverged': {
      const local = buildTree('pool/tree', datasets, count, { heldIndex: count - 2 });
      const remote =
        scenario === 'replication-incremental'
          ? buildTree('offsite/tree', datasets, count - 1)
          : scenario === 'replication-no-common'
            ? buildTree('offsite/tree', datasets, count, { lineage: 1 })
            : buildTree('offsite/tree', datasets, count - 1, { skipDataset: datasets - 1 });
      inputSnapshots = datasets * count + [...remote.datasets.values()].reduce((a, d) => a + d.snapshots.length, 0);
      run = () => {
        const plan = planReplication(local, remote, false);
        return plan.kind === 'refused' ? `refused: ${plan.refusal.reason}` : plan.kind === 'incremental' ? `incremental from ${plan.base}` : plan.kind;
      };
      break;
    }
    case 'parse-tree': {
      const text = zfsGetText('pool/tree', datasets, count);
      run = () => {
        const tree = parseTree('pool/tree', text);
        return `${tree.datasets.size} datasets, ${text.length >> 20} MiB of text`;
      };
      break;
    }
  }
  const buildSeconds = Number(process.hrtime.bigint() - buildStart) / 1e9;
  settle();
  const inputRssMiB = status('VmRSS');
  const heapUsedInputMiB = process.memoryUsage().heapUsed / 1048576;
  resetPeak();
  let t = process.hrtime.bigint();
  const outcome = run();
  const firstSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const peakRssMiB = status('VmHWM');
  const warm: number[] = [];
  for (let i = 1; i < repeat; i += 1) {
    settle();
    t = process.hrtime.bigint();
    run();
    warm.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  warm.sort((a, b) => a - b);
  return {
    scenario,
    datasets,
    snapshotsPerDataset: count,
    inputSnapshots,
    buildSeconds,
    baselineRssMiB,
    inputRssMiB,
    peakRssMiB,
    plannerIncrementMiB: peakRssMiB - inputRssMiB,
    heapUsedInputMiB,
    firstSeconds,
    warmSeconds: warm.length > 0 ? (warm[Math.floor(warm.length / 2)] as number) : firstSeconds,
    outcome,
  };
}

if (process.argv[1]?.endsWith('planner-child.ts')) {
  const [scenario, datasets, count, repeat] = process.argv.slice(2);
  const result = measure(scenario as Scenario, Number(datasets), Number(count), Number(repeat ?? 3));
  process.stdout.write(JSON.stringify(result) + '\n');
}
