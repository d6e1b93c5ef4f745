// The offsite host's view: every received tree below a dataset, with its newest snapshot and age, judged and listed worst first.
import { type Finding, type LevelValue, type Side, type Thresholds, ageFinding, bySeverity, Level, sideOf, worstLevel } from './status';
import type { DatasetInfo, DatasetTree } from './tree';
import { isOurSnapshotName } from './names';

export interface ReceivedTree {
  /** Full dataset name of the received tree's root. */
  dataset: string;
  level: LevelValue;
  findings: Finding[];
  side: Side;
  /** Datasets of the tree (full names) holding a partial receive. */
  partialReceives: string[];
}

export interface ReceivedStatus {
  dataset: string;
  now: number;
  thresholds: Thresholds;
  level: LevelValue;
  /** Findings about the listing itself (missing dataset, nothing received). */
  findings: Finding[];
  /** Worst first; among equals, the oldest first. */
  trees: ReceivedTree[];
}

/**
 * The roots of the received trees below the listed dataset: the topmost datasets that hold a
 * snapshot named by this tool, or a partial receive (a first push cut short). The datasets that
 * only group trees (tank/backup, tank/backup/site1) hold none, whatever the layout; another tool's
 * snapshots (other names) do not make a dataset a tree.
 */
export function receivedTreeRoots(tree: DatasetTree): string[] {
  const roots: string[] = [];
  for (const ds of tree.datasets.values()) {
    if (roots.some((r) => r === '' || ds.relative.startsWith(`${r}/`))) continue;
    if (ds.resumeToken !== undefined || ds.snapshots.some((s) => isOurSnapshotName(s.name))) roots.push(ds.relative);
  }
  return roots;
}

/** The received tree rooted at `relative`, as a tree of its own. */
function subtree(tree: DatasetTree, relative: string): DatasetTree {
  const datasets = new Map<string, DatasetInfo>();
  for (const [r, ds] of tree.datasets) {
    if (r === relative) datasets.set('', ds);
    else if (relative === '' || r.startsWith(`${relative}/`)) {
      const inner = relative === '' ? r : r.slice(relative.length + 1);
      datasets.set(inner, ds);
    }
  }
  return { root: relative === '' ? tree.root : `${tree.root}/${relative}`, datasets };
}

export function judgeReceived(input: {
  dataset: string;
  now: number;
  thresholds: Thresholds;
  listing: { ok: true; tree: DatasetTree | undefined } | { ok: false; exitCode: number; message: string };
}): ReceivedStatus {
  const base = { dataset: input.dataset, now: input.now, thresholds: input.thresholds };
  if (!input.listing.ok) return { ...base, level: Level.unknown, findings: [{ level: Level.unknown, text: `cannot list ${input.dataset}: ${input.listing.message}` }], trees: [] };
  const listed = input.listing.tree;
  if (!listed) return { ...base, level: Level.unknown, findings: [{ level: Level.unknown, text: `dataset ${input.dataset} does not exist on this host; check --dataset against "zfs list"` }], trees: [] };
  const trees = receivedTreeRoots(listed).map((relative): ReceivedTree => {
    const sub = subtree(listed, relative);
    const side = sideOf(sub, input.now);
    const findings: Finding[] = [];
    // The subtree's keys are relative to its own root (the datasets keep their place in the listing).
    const partialReceives = [...sub.datasets].filter(([, d]) => d.resumeToken !== undefined).map(([inner]) => (inner === '' ? sub.root : `${sub.root}/${inner}`));
    if (side.newest) findings.push(ageFinding('newest', side.newest, input.thresholds));
    else findings.push({ level: Level.critical, text: 'no complete snapshot received yet' });
    if (partialReceives.length > 0) findings.push({ level: Level.warning, text: `a partial receive waits in ${partialReceives.join(', ')} (the sender's next push resumes it)` });
    return { dataset: sub.root, level: worstLevel(findings.map((f) => f.level)), findings, side, partialReceives };
  });
  trees.sort((a, b) => bySeverity(a.level, b.level) || (b.side.newest?.ageSeconds ?? Infinity) - (a.side.newest?.ageSeconds ?? Infinity) || a.dataset.localeCompare(b.dataset));
  const findings: Finding[] =
    trees.length === 0 ? [{ level: Level.unknown, text: `no received tree below ${input.dataset}: no dataset there holds a snapshot named by cyber-zfs-backup` }] : [];
  return { ...base, level: worstLevel([...findings, ...trees].map((x) => x.level)), findings, trees };
}
