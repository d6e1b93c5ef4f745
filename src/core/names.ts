// ZFS dataset and snapshot name rules, and the UTC timestamp names that mark snapshots as ours.

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

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/** Digits of `name` from `from` to `to` (exclusive) as a number, or -1 when any is not a digit. */
export function digits(name: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i += 1) {
    const c = name.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/**
 * The instant an our-form snapshot name (`YYYY-MM-DDTHH:MM:SSZ`) stands for, or undefined when the
 * name is not ours. Read by position rather than by regular expression: expire reads every name.
 */
export function parseSnapshotTime(name: string): number | undefined {
  if (name.length !== 20 || name[4] !== '-' || name[7] !== '-' || name[10] !== 'T' || name[13] !== ':' || name[16] !== ':' || name[19] !== 'Z') return undefined;
  const y = digits(name, 0, 4);
  const mo = digits(name, 5, 7);
  const d = digits(name, 8, 10);
  const h = digits(name, 11, 13);
  const mi = digits(name, 14, 16);
  const s = digits(name, 17, 19);
  // Impossible dates such as 2026-02-30 or 24:00:00 are not ours (Date.UTC would roll them over).
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s);
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
