// The multi-rotation retention rule: which of our snapshots to keep (days, ISO weeks, months, then yearly).
import { digits, parseSnapshotTime } from './names';

export interface RetentionPolicy {
  days: number;
  weeks: number;
  months: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { days: 31, weeks: 12, months: 36 };

/** Both lists newest first; every input name is in exactly one of them. */
export interface RetentionPlan {
  keep: string[];
  destroy: string[];
}

const DAY_MS = 86_400_000;

interface Dated {
  name: string;
  time: number;
  day: number;
  week: number;
  month: number;
  year: number;
}

function dated(name: string): Dated {
  const time = parseSnapshotTime(name);
  if (time === undefined) throw new Error(`not a timestamp snapshot name: ${name}`);
  const day = Math.floor(time / DAY_MS);
  // 1970-01-01 was a Thursday; the Monday that starts the ISO week identifies the week.
  const weekday = (((day + 3) % 7) + 7) % 7;
  const year = digits(name, 0, 4);
  const month = year * 12 + digits(name, 5, 7) - 1;
  return { name, time, day, week: day - weekday, month, year };
}

/**
 * Walks newest to oldest, always keeping the newest; then keeps a snapshot whenever its day differs
 * from the last kept one while days remain, then likewise for ISO weeks, then months, then one per
 * year forever. Each kept snapshot counts for one rotation only.
 */
export function planRetention(names: readonly string[], policy: RetentionPolicy): RetentionPlan {
  // Fixed-width UTC names sort as their instants do, so plain string order is time order.
  const sorted = names.map(dated).sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const keep: string[] = [];
  const destroy: string[] = [];
  let { days, weeks, months } = policy;
  let last: Dated | undefined;
  for (const s of sorted) {
    let kept: boolean;
    if (last === undefined) kept = true;
    else if (days > 0) {
      kept = s.day !== last.day;
      if (kept) days -= 1;
    } else if (weeks > 0) {
      kept = s.week !== last.week;
      if (kept) weeks -= 1;
    } else if (months > 0) {
      kept = s.month !== last.month;
      if (kept) months -= 1;
    } else kept = s.year !== last.year;
    if (kept) {
      keep.push(s.name);
      last = s;
    } else destroy.push(s.name);
  }
  return { keep, destroy };
}
