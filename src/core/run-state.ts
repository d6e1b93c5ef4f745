// The state file of one tree: the last run's outcome and each destination's last push, merged run after run; read by status and the metrics.
import { parseSnapshotTime } from './names';
import type { DatasetTree } from './tree';
import { parseJson } from './json';

export const STATE_VERSION = 1;

/** Snapshot count of a tree's root dataset (every dataset of the tree has the same names) and its newest snapshot of ours. */
export interface SideFacts {
  snapshots: number;
  /** The newest snapshot named by this tool (its name is its UTC time); absent when there is none. */
  newest?: string;
}

export interface LastPush {
  /** When the push ended (ISO 8601, UTC). */
  endedAt: string;
  exitCode: number;
  kind?: string;
  target?: string;
  base?: string;
  bytes: number;
  seconds: number;
  receiver?: string;
  /** The failure's one line, when it failed. */
  error?: string;
}

export interface DestinationState {
  sshDestination: string;
  receiveDataset: string;
  lastPush: LastPush;
  lastSuccessAt?: string;
  /** The offsite copy as the last successful push left it. */
  offsite?: SideFacts;
}

export interface LastRun {
  startedAt: string;
  endedAt: string;
  exitCode: number;
  actions: string[];
  /** Bytes pushed over all destinations. */
  bytes: number;
  error?: string;
}

export interface TreeState {
  version: typeof STATE_VERSION;
  dataset: string;
  lastRun: LastRun;
  lastSuccessAt?: string;
  local?: SideFacts;
  destinations: DestinationState[];
  /** The metrics file the last run wrote, so that it lists only the trees whose runs write it. */
  metricsFile?: string;
}

/** What one push of a run did, as the run knows it. */
export interface PushRecord {
  sshDestination: string;
  receiveDataset: string;
  exitCode: number;
  error?: string;
  outcome?: { kind: string; target: string; base: string | undefined; bytes: number; seconds: number; receiver: string; offsite?: SideFacts };
}

/** One run's outcome, in milliseconds since the epoch. */
export interface RunRecord {
  dataset: string;
  actions: readonly string[];
  startedAt: number;
  endedAt: number;
  exitCode: number;
  error?: string;
  local?: SideFacts;
  pushes: readonly PushRecord[];
  metricsFile?: string;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Count and newest of ours from snapshot names listed oldest first (createtxg order). */
export function sideFromNames(names: readonly string[]): SideFacts {
  const newest = [...names].reverse().find((n) => parseSnapshotTime(n) !== undefined);
  return newest === undefined ? { snapshots: names.length } : { snapshots: names.length, newest };
}

/** The root dataset's facts of a listed tree. */
export function sideOfTree(tree: DatasetTree): SideFacts {
  return sideFromNames((tree.datasets.get('')?.snapshots ?? []).map((s) => s.name));
}

const sameDestination = (a: { sshDestination: string; receiveDataset: string }, b: { sshDestination: string; receiveDataset: string }) =>
  a.sshDestination === b.sshDestination && a.receiveDataset === b.receiveDataset;

/**
 * The state after `record`. The last success times survive failed runs; a run that pushed replaces
 * the destination list (a destination no longer pushed to drops out), a run without push keeps it.
 */
export function mergeRun(previous: TreeState | undefined, record: RunRecord): TreeState {
  const endedAt = isoTime(record.endedAt);
  const bytes = record.pushes.reduce((sum, p) => sum + (p.outcome?.bytes ?? 0), 0);
  const lastRun: LastRun = { startedAt: isoTime(record.startedAt), endedAt, exitCode: record.exitCode, actions: [...record.actions], bytes, ...(record.error === undefined ? {} : { error: record.error }) };
  const before = previous?.dataset === record.dataset ? previous : undefined;
  const destinations = record.actions.includes('push')
    ? record.pushes.map((push): DestinationState => {
        const old = before?.destinations.find((d) => sameDestination(d, push));
        const o = push.outcome;
        const lastPush: LastPush = {
          endedAt,
          exitCode: push.exitCode,
          ...(o ? { kind: o.kind, target: o.target, ...(o.base === undefined ? {} : { base: o.base }), receiver: o.receiver } : {}),
          bytes: o?.bytes ?? 0,
          seconds: o?.seconds ?? 0,
          ...(push.error === undefined ? {} : { error: push.error }),
        };
        const lastSuccessAt = push.exitCode === 0 ? endedAt : old?.lastSuccessAt;
        const offsite = push.exitCode === 0 && o?.offsite ? o.offsite : old?.offsite;
        return {
          sshDestination: push.sshDestination,
          receiveDataset: push.receiveDataset,
          lastPush,
          ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
          ...(offsite === undefined ? {} : { offsite }),
        };
      })
    : (before?.destinations ?? []);
  const lastSuccessAt = record.exitCode === 0 ? endedAt : before?.lastSuccessAt;
  const local = record.local ?? before?.local;
  return {
    version: STATE_VERSION,
    dataset: record.dataset,
    lastRun,
    ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
    ...(local === undefined ? {} : { local }),
    destinations,
    ...(record.metricsFile === undefined ? {} : { metricsFile: record.metricsFile }),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A state file's content, or undefined when it is not one this version wrote (unreadable, other version). */
export function parseTreeState(text: string): TreeState | undefined {
  const value = parseJson(text);
  if (!isObject(value) || value.version !== STATE_VERSION || typeof value.dataset !== 'string') return undefined;
  const run = value.lastRun;
  if (!isObject(run) || typeof run.startedAt !== 'string' || typeof run.endedAt !== 'string' || typeof run.exitCode !== 'number') return undefined;
  if (!Array.isArray(value.destinations) || !value.destinations.every((d) => isObject(d) && typeof d.sshDestination === 'string' && typeof d.receiveDataset === 'string' && isObject(d.lastPush))) return undefined;
  return value as unknown as TreeState;
}

/** The state file's name for a tree: "/" becomes "+", which no dataset name contains, so no two trees share one. */
export function stateFileName(dataset: string): string {
  return `${dataset.replace(/\//g, '+')}.json`;
}

export function renderTreeState(state: TreeState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}
