// Test helper: builds DatasetTree values from a compact description (`name:guid` per snapshot, oldest first).
import type { DatasetTree } from '../../src/core/tree';

/** Four snapshot names of ours, one day apart, oldest first. */
export const [A, B, C, D] = ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z'] as const;

/** `{ '': ['a:1', 'b:2'], child: ['a:11'] }` → a tree whose snapshots get increasing txgs in list order. */
export function makeTree(root: string, spec: Record<string, string[]>, holds: Record<string, number> = {}): DatasetTree {
  const datasets = new Map();
  for (const [relative, snaps] of Object.entries(spec)) {
    datasets.set(relative, {
      relative,
      guid: `ds-${relative}`,
      snapshots: snaps.map((s, i) => {
        const cut = s.lastIndexOf(':');
        const name = s.slice(0, cut);
        const guid = s.slice(cut + 1);
        return { name, guid, createtxg: (i + 1) * 10, userrefs: holds[`${relative}@${name}`] ?? 0 };
      }),
    });
  }
  return { root, datasets };
}
