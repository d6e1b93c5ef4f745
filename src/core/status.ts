// The status verdict of one tree: what the local listing, each offsite probe and the state file show, judged with Nagios levels.
import { shortAge } from './age';
import { parseSnapshotTime } from './names';
import type { DestinationState, LastRun } from './run-state';
import { partialReceives, type DatasetTree } from './tree';

/** Nagios/Icinga plugin levels, which are also status's exit codes. */
export const Level = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;
export type LevelValue = (typeof Level)[keyof typeof Level];
export const LEVEL_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** Worst first: CRITICAL, then WARNING, then UNKNOWN (status could not decide), then OK. */
const SEVERITY: Record<LevelValue, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };

export function worstLevel(levels: readonly LevelValue[]): LevelValue {
  return levels.reduce<LevelValue>((worst, l) => (SEVERITY[l] > SEVERITY[worst] ? l : worst), Level.ok);
}

export function bySeverity(a: LevelValue, b: LevelValue): number {
  return SEVERITY[b] - SEVERITY[a];
}

export interface Finding {
  level: LevelValue;
  text: string;
}

export interface Thresholds {
  warningSeconds: number;
  criticalSeconds: number;
}

/** A newest snapshot of ours, with the time its name stands for and its age at `now`. */
export interface Newest {
  name: string;
  time: number;
  ageSeconds: number;
}

/** One side of the copy: the root dataset's snapshot count, the tree's dataset count, the newest of ours. */
export interface Side {
  snapshots: number;
  datasets: number;
  newest?: Newest;
}

/**
 * Whether the replication base pin sits on the offsite copy's newest snapshot. `on-newest`: our tag is
 * there (zfs holds, OpenZFS); `held`: it is held but this zfs cannot name the tags (zfs-fuse has no
 * zfs holds, only the userrefs count); `other-holds`/`missing`: our tag is not there; `not-here`: the
 * offsite newest is not on this host with the same GUID; `unknown`: nothing to compare.
 */
export type BaseHold =
  | { state: 'on-newest' | 'held' | 'missing' | 'not-here'; snapshot: string }
  | { state: 'other-holds'; snapshot: string; tags: string[] }
  | { state: 'unknown' };

export interface DestinationInput {
  sshDestination: string;
  receiveDataset: string;
  /** The probe's answer: the received tree (undefined when it does not exist), or why there is none. */
  probe: { ok: true; tree: DatasetTree | undefined; receiver: 'plain' | 'serve' } | { ok: false; exitCode: number; message: string };
  /** This destination's hold tag. */
  holdTag: string;
  /** Tags held on the local root's snapshots, by snapshot name; undefined where zfs cannot list them. */
  holdTags: ReadonlyMap<string, readonly string[]> | undefined;
}

export interface DestinationStatus {
  sshDestination: string;
  receiveDataset: string;
  level: LevelValue;
  findings: Finding[];
  receiver?: 'plain' | 'serve';
  error?: { exitCode: number; message: string };
  /** Undefined when unreachable or when the receive dataset does not exist. */
  offsite?: Side;
  /** How far the offsite copy is behind this host: snapshots newer here, and the time between the newest of ours. */
  lag?: { snapshots: number; seconds?: number };
  baseHold: BaseHold;
  /** Datasets with snapshots here that the offsite copy lacks, and datasets there that are gone here. */
  missingOffsite: string[];
  missingLocal: string[];
  /** Datasets of the offsite copy holding a partial receive that the next push resumes. */
  partialReceives: string[];
  lastPush?: DestinationState['lastPush'] & { lastSuccessAt?: string };
}

export interface TreeInput {
  dataset: string;
  now: number;
  thresholds: Thresholds;
  /** The local listing, or why there is none. */
  local: { ok: true; tree: DatasetTree | undefined } | { ok: false; exitCode: number; message: string };
  destinations: readonly DestinationInput[];
  lastRun?: LastRun;
  recorded?: readonly DestinationState[];
}

export interface TreeStatus {
  dataset: string;
  now: number;
  thresholds: Thresholds;
  level: LevelValue;
  /** Findings about the tree itself (the local side, the last run). */
  findings: Finding[];
  local?: Side;
  lastRun?: LastRun;
  destinations: DestinationStatus[];
}

/** Seconds from a snapshot name's time to `now` (negative when dated in the future). */
function newestOf(names: readonly string[], now: number): Newest | undefined {
  for (let i = names.length - 1; i >= 0; i -= 1) {
    const name = names[i] as string;
    const time = parseSnapshotTime(name);
    if (time !== undefined) return { name, time, ageSeconds: Math.floor((now - time) / 1000) };
  }
  return undefined;
}

export function sideOf(tree: DatasetTree, now: number): Side {
  const names = (tree.datasets.get('')?.snapshots ?? []).map((s) => s.name);
  const newest = newestOf(names, now);
  return { snapshots: names.length, datasets: tree.datasets.size, ...(newest ? { newest } : {}) };
}

/** Clock skew up to this is not worth a warning. */
const FUTURE_SLACK_SECONDS = 300;

/** The level of an age against the thresholds, and its finding. */
export function ageFinding(what: string, newest: Newest, thresholds: Thresholds): Finding {
  const age = newest.ageSeconds;
  if (age < -FUTURE_SLACK_SECONDS) return { level: Level.warning, text: `${what} @${newest.name} is dated ${shortAge(-age)} in the future: check the clocks` };
  const text = `${what} is ${shortAge(Math.max(0, age))} old`;
  if (age >= thresholds.criticalSeconds) return { level: Level.critical, text };
  if (age >= thresholds.warningSeconds) return { level: Level.warning, text };
  return { level: Level.ok, text };
}

function baseHoldOf(input: DestinationInput, local: DatasetTree, remote: DatasetTree): { hold: BaseHold; matchTxg?: number } {
  const newest = remote.datasets.get('')?.snapshots.at(-1);
  if (!newest) return { hold: { state: 'unknown' } };
  const match = local.datasets.get('')?.snapshots.find((s) => s.name === newest.name && s.guid === newest.guid);
  if (!match) return { hold: { state: 'not-here', snapshot: newest.name } };
  const tags = input.holdTags ? (input.holdTags.get(match.name) ?? []) : undefined;
  if (tags === undefined) return { hold: { state: match.userrefs > 0 ? 'held' : 'missing', snapshot: match.name }, matchTxg: match.createtxg };
  if (tags.includes(input.holdTag)) return { hold: { state: 'on-newest', snapshot: match.name }, matchTxg: match.createtxg };
  return { hold: tags.length > 0 ? { state: 'other-holds', snapshot: match.name, tags: [...tags] } : { state: 'missing', snapshot: match.name }, matchTxg: match.createtxg };
}

function list(names: readonly string[], max = 3): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export function judgeDestination(input: DestinationInput, local: DatasetTree | undefined, now: number, thresholds: Thresholds, recorded?: DestinationState): DestinationStatus {
  const status: DestinationStatus = {
    sshDestination: input.sshDestination,
    receiveDataset: input.receiveDataset,
    level: Level.ok,
    findings: [],
    baseHold: { state: 'unknown' },
    missingOffsite: [],
    missingLocal: [],
    partialReceives: [],
    ...(recorded ? { lastPush: { ...recorded.lastPush, ...(recorded.lastSuccessAt === undefined ? {} : { lastSuccessAt: recorded.lastSuccessAt }) } } : {}),
  };
  const add = (level: LevelValue, text: string) => status.findings.push({ level, text });
  const where = `${input.sshDestination}:${input.receiveDataset}`;
  if (!input.probe.ok) {
    status.error = { exitCode: input.probe.exitCode, message: input.probe.message };
    // Output status cannot read is its own failure to decide; anything else means no current copy can be shown.
    add(input.probe.exitCode === 70 ? Level.unknown : Level.critical, `offsite ${where} cannot be checked: ${input.probe.message}`);
  } else if (!input.probe.tree) {
    status.receiver = input.probe.receiver;
    add(Level.critical, `no offsite copy: ${input.receiveDataset} does not exist on ${input.sshDestination}`);
  } else {
    const remote = input.probe.tree;
    status.receiver = input.probe.receiver;
    status.offsite = sideOf(remote, now);
    if (status.offsite.newest) {
      const f = ageFinding('offsite newest', status.offsite.newest, thresholds);
      add(f.level, f.text);
    } else add(Level.critical, `the offsite copy ${where} holds no snapshot made by cyber-zfs-backup`);
    status.partialReceives = partialReceives(remote).map((d) => d.relative);
    if (status.partialReceives.length > 0) {
      add(Level.warning, `a partial receive waits in ${list(status.partialReceives.map((r) => (r === '' ? input.receiveDataset : `${input.receiveDataset}/${r}`)))} (the next push resumes it)`);
    }
    if (local) {
      status.missingOffsite = [...local.datasets.values()].filter((d) => d.snapshots.length > 0 && !remote.datasets.has(d.relative)).map((d) => d.relative);
      status.missingLocal = [...remote.datasets.keys()].filter((r) => !local.datasets.has(r));
      if (status.missingOffsite.length > 0) add(Level.warning, `${status.missingOffsite.length} dataset(s) missing on the offsite copy: ${list(status.missingOffsite)}`);
      const { hold, matchTxg } = baseHoldOf(input, local, remote);
      status.baseHold = hold;
      if (matchTxg !== undefined) {
        const localRoot = local.datasets.get('')?.snapshots ?? [];
        const localNewest = newestOf(localRoot.map((s) => s.name), now);
        const offsiteNewest = status.offsite.newest;
        status.lag = {
          snapshots: localRoot.filter((s) => s.createtxg > matchTxg).length,
          ...(localNewest && offsiteNewest ? { seconds: Math.max(0, Math.floor((localNewest.time - offsiteNewest.time) / 1000)) } : {}),
        };
      }
      if (hold.state === 'not-here') {
        add(Level.warning, `the offsite newest @${hold.snapshot} is not on this host with the same GUID: the next push will refuse until a human decides (see push's message)`);
      } else if (hold.state === 'missing' || hold.state === 'other-holds') {
        add(Level.warning, `the base hold ${input.holdTag} is not on the offsite newest @${hold.snapshot}: expire could destroy the snapshot the next push starts from (the next successful push sets it)`);
      }
    }
  }
  status.level = worstLevel(status.findings.map((f) => f.level));
  return status;
}

export function judgeTree(input: TreeInput): TreeStatus {
  const findings: Finding[] = [];
  let localTree: DatasetTree | undefined;
  if (!input.local.ok) findings.push({ level: Level.unknown, text: `cannot list ${input.dataset} on this host: ${input.local.message}` });
  else if (!input.local.tree) findings.push({ level: Level.unknown, text: `dataset ${input.dataset} does not exist on this host; check --dataset against "zfs list"` });
  else localTree = input.local.tree;
  if (input.lastRun && input.lastRun.exitCode !== 0) {
    findings.push({ level: Level.warning, text: `the last run (${input.lastRun.endedAt}) ended with exit ${input.lastRun.exitCode}${input.lastRun.error ? `: ${input.lastRun.error}` : ''}` });
  }
  const destinations = input.destinations.map((d) =>
    judgeDestination(d, localTree, input.now, input.thresholds, input.recorded?.find((r) => r.sshDestination === d.sshDestination && r.receiveDataset === d.receiveDataset)),
  );
  return {
    dataset: input.dataset,
    now: input.now,
    thresholds: input.thresholds,
    level: worstLevel([...findings.map((f) => f.level), ...destinations.map((d) => d.level)]),
    findings,
    ...(localTree ? { local: sideOf(localTree, input.now) } : {}),
    ...(input.lastRun ? { lastRun: input.lastRun } : {}),
    destinations,
  };
}

/** Tags per snapshot name from `zfs holds -H DATASET@A DATASET@B` (lines: name, tag, time, tab-separated). */
export function parseHolds(dataset: string, stdout: string): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const [name, tag] = line.split('\t');
    if (name === undefined || tag === undefined || !name.startsWith(`${dataset}@`)) continue;
    const snapshot = name.slice(dataset.length + 1);
    tags.set(snapshot, [...(tags.get(snapshot) ?? []), tag.trim()]);
  }
  return tags;
}
