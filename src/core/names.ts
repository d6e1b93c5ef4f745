// ZFS dataset and snapshot name rules, and the UTC timestamp names that mark snapshots as ours.

/** Our snapshot names: `YYYY-MM-DDTHH:MM:SSZ`, UTC. Nothing else is ever expired. */
const OUR_SNAPSHOT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Characters ZFS allows in a component, minus the space we refuse for safety. */
const COMPONENT = /^[A-Za-z0-9_.:-]+$/;
const RESERVED_POOL_NAMES = new Set(['mirror', 'raidz', 'raidz1', 'raidz2', 'raidz3', 'draid', 'spare', 'log', 'cache', 'special', 'dedup']);
const MAX_NAME_LENGTH = 255;

/** Why `name` is not a dataset name we accept, or undefined when it is fine. */
export function datasetNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_NAME_LENGTH) return `it is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name.includes('@')) return 'it contains "@" (give a dataset, not a snapshot)';
  if (name.includes('#')) return 'it contains "#" (give a dataset, not a bookmark)';
  if (/\s/.test(name)) return 'it contains white space';
  const components = name.split('/');
  for (const component of components) {
    if (component.length === 0) return 'it has an empty component (leading, trailing or double "/")';
    if (component === '.' || component === '..') return `it has a "${component}" component`;
    if (!COMPONENT.test(component)) {
      const bad = [...component].find((c) => !/[A-Za-z0-9_.:-]/.test(c)) ?? '?';
      return `it contains ${JSON.stringify(bad)}; ZFS names allow only letters, digits and _ . : -`;
    }
  }
  const pool = components[0] ?? '';
  if (!/^[A-Za-z]/.test(pool)) return 'the pool name must start with a letter';
  if (RESERVED_POOL_NAMES.has(pool) || /^c[0-9]/.test(pool)) return `"${pool}" is a reserved pool name`;
  return undefined;
}

export function isValidDatasetName(name: string): boolean {
  return datasetNameProblem(name) === undefined;
}

/** Formats an instant as our snapshot name (ZFS forbids "+", so always UTC with Z). */
export function snapshotNameFor(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The instant an our-form snapshot name stands for, or undefined when the name is not ours. */
export function parseSnapshotTime(name: string): number | undefined {
  const m = OUR_SNAPSHOT.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  // Reject impossible dates such as 2026-02-30 that Date.UTC would roll over.
  return snapshotNameFor(t) === name ? t : undefined;
}

export function isOurSnapshotName(name: string): boolean {
  return parseSnapshotTime(name) !== undefined;
}

/** Splits `pool/ds@snap` into its dataset and snapshot parts. */
export function splitSnapshot(fullName: string): { dataset: string; snapshot: string } | undefined {
  const at = fullName.indexOf('@');
  if (at <= 0 || at === fullName.length - 1) return undefined;
  return { dataset: fullName.slice(0, at), snapshot: fullName.slice(at + 1) };
}

/** The path of `dataset` below `root` ('' for the root itself), or undefined when it is outside. */
export function relativeDataset(root: string, dataset: string): string | undefined {
  if (dataset === root) return '';
  if (dataset.startsWith(root + '/')) return dataset.slice(root.length + 1);
  return undefined;
}

export function joinDataset(root: string, relative: string): string {
  return relative === '' ? root : `${root}/${relative}`;
}
