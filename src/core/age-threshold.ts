// The --warning and --critical thresholds: values such as 90s, 26h or 2d, and their defaults (no luxon here: the flags are read before any action runs).

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Ten years: a larger threshold is a typo, never a policy. */
const MAX_AGE_SECONDS = 3650 * 86400;

/**
 * The daily timer starts at 22:45 plus up to 15 minutes, so the offsite copy's newest snapshot is up
 * to about 24 h 15 min old just before the next push lands, and a push may take a while: 26 h is one
 * missed run (with two hours for the push), 50 h two.
 */
export const DEFAULT_WARNING_SECONDS = 26 * 3600;
export const DEFAULT_CRITICAL_SECONDS = 50 * 3600;

/** Seconds of an age written as a whole number and a unit (s, m, h or d), or a reason it is not one. */
export function parseAge(text: string): { seconds: number } | { problem: string } {
  const m = /^(\d{1,7})([smhd])$/.exec(text.trim());
  if (!m) return { problem: `${JSON.stringify(text)} is not an age: give a whole number and s, m, h or d (90s, 30m, 26h, 2d)` };
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
  if (seconds === 0) return { problem: `${JSON.stringify(text)} is zero: every copy would be too old` };
  if (seconds > MAX_AGE_SECONDS) return { problem: `${JSON.stringify(text)} is more than ten years` };
  return { seconds };
}
