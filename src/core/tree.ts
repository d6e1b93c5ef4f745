// The dataset tree as ZFS reports it: datasets with their snapshots, GUIDs, txgs and hold counts.
import { relativeDataset, splitSnapshot } from './names';
import { ZfsOutputError } from './zfs-errors';

export interface SnapshotInfo {
  /** The part after "@". */
  name: string;
  guid: string;
  createtxg: number;
  /** Number of user holds; 0 on a platform that cannot say. */
  userrefs: number;
}

export interface DatasetInfo {
  /** Path below the tree's root; '' for the root itself. */
  relative: string;
  guid: string;
  /** Oldest first (by createtxg). */
  snapshots: SnapshotInfo[];
  /** Set when an interrupted `zfs receive -s` left partial state here (OpenZFS). */
  resumeToken?: string;
}

export interface DatasetTree {
  /** Full name of the root dataset. */
  root: string;
  /** Keyed by path below the root; parents before children. */
  datasets: Map<string, DatasetInfo>;
}

export class TreeParseError extends ZfsOutputError {}

/**
 * Parses `zfs get -H -p -o name,property,value -r guid,createtxg,userrefs[,receive_resume_token] ROOT`.
 * Bookmarks (`#`) and names outside the root are ignored.
 */
export function parseTree(root: string, stdout: string): DatasetTree {
  const datasets = new Map<string, DatasetInfo>();
  const snapshotProps = new Map<string, Partial<SnapshotInfo> & { dataset: string }>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields.length !== 3) throw new TreeParseError(`unexpected zfs get line: ${JSON.stringify(line)}`);
    const [name, property, value] = fields as [string, string, string];
    if (name.includes('#')) continue;
    const snap = splitSnapshot(name);
    if (snap) {
      if (relativeDataset(root, snap.dataset) === undefined) continue;
      const entry = snapshotProps.get(name) ?? { dataset: snap.dataset, name: snap.snapshot };
      if (property === 'guid') entry.guid = value;
      else if (property === 'createtxg') entry.createtxg = Number(value);
      else if (property === 'userrefs') entry.userrefs = value === '-' ? 0 : Number(value);
      snapshotProps.set(name, entry);
    } else {
      const relative = relativeDataset(root, name);
      if (relative === undefined) continue;
      const ds = datasets.get(relative) ?? { relative, guid: '', snapshots: [] };
      if (property === 'guid') ds.guid = value;
      else if (property === 'receive_resume_token' && value !== '-' && value !== '') ds.resumeToken = value;
      datasets.set(relative, ds);
    }
  }
  for (const [full, s] of snapshotProps) {
    const relative = relativeDataset(root, s.dataset) as string;
    const ds = datasets.get(relative);
    if (!ds) throw new TreeParseError(`snapshot ${full} listed without its dataset`);
    if (s.guid === undefined || s.createtxg === undefined || !Number.isFinite(s.createtxg)) {
      throw new TreeParseError(`snapshot ${full} lacks a guid or createtxg`);
    }
    ds.snapshots.push({ name: s.name as string, guid: s.guid, createtxg: s.createtxg, userrefs: s.userrefs ?? 0 });
  }
  for (const ds of datasets.values()) ds.snapshots.sort((a, b) => a.createtxg - b.createtxg || a.name.localeCompare(b.name));
  const ordered = new Map([...datasets.entries()].sort(([a], [b]) => depth(a) - depth(b) || a.localeCompare(b)));
  return { root, datasets: ordered };
}

function depth(relative: string): number {
  return relative === '' ? 0 : relative.split('/').length;
}

export function rootOf(tree: DatasetTree): DatasetInfo | undefined {
  return tree.datasets.get('');
}

/** The tree's root dataset alone, as if it had no children. */
export function onlyRoot(tree: DatasetTree): DatasetTree {
  const root = rootOf(tree);
  return { root: tree.root, datasets: new Map(root ? [['', root]] : []) };
}

/** The datasets of the tree that hold a partial receive (a resume token), parents first. */
export function partialReceives(tree: DatasetTree): Array<DatasetInfo & { resumeToken: string }> {
  return [...tree.datasets.values()].filter((ds): ds is DatasetInfo & { resumeToken: string } => ds.resumeToken !== undefined);
}

/** Snapshot names held (userrefs > 0) on any dataset of the tree. */
export function heldSnapshotNames(tree: DatasetTree): Set<string> {
  const held = new Set<string>();
  for (const ds of tree.datasets.values()) for (const s of ds.snapshots) if (s.userrefs > 0) held.add(s.name);
  return held;
}

/**
 * The tree after `zfs destroy -r ROOT@NAME` of each name: those snapshots gone from every dataset
 * (a recursive destroy takes the name from every dataset below the root), everything else as it was.
 */
export function withoutSnapshots(tree: DatasetTree, names: readonly string[]): DatasetTree {
  if (names.length === 0) return tree;
  const gone = new Set(names);
  const datasets = new Map<string, DatasetInfo>();
  for (const [relative, ds] of tree.datasets) datasets.set(relative, { ...ds, snapshots: ds.snapshots.filter((s) => !gone.has(s.name)) });
  return { root: tree.root, datasets };
}
