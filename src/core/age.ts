// Ages: `--warning`/`--critical` values such as 90s, 26h or 2d, their defaults, and ages in short words and in luxon's relative words.
import { DateTime, Duration } from 'luxon';

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

/** An age in a few characters for the monitoring line: "45 s", "12 min", "30 h", "4 d". */
export function shortAge(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s < 120) return `${sign}${Math.floor(s)} s`;
  if (s < 7200) return `${sign}${Math.floor(s / 60)} min`;
  if (s < 72 * 3600) return `${sign}${Math.floor(s / 3600)} h`;
  return `${sign}${Math.floor(s / 86400)} d`;
}

function unitFor(seconds: number): 'seconds' | 'minutes' | 'hours' | 'days' {
  return seconds < 120 ? 'seconds' : seconds < 7200 ? 'minutes' : seconds < 72 * 3600 ? 'hours' : 'days';
}

/** A length of time in luxon's words, in one unit picked as for relativeAge: "24 hours", "3 days". */
export function durationWords(seconds: number): string {
  const unit = unitFor(Math.abs(seconds));
  const count = Math.trunc(Duration.fromObject({ seconds }).as(unit));
  return Duration.fromObject({ [unit]: count }, { locale: 'en' }).toHuman({ unitDisplay: 'long' });
}

/**
 * How long ago `thenMs` was, seen from `nowMs`, in luxon's words ("30 hours ago", "3 days ago",
 * "in 2 hours"); the unit is picked so that a day and a half reads as hours, not "1 day".
 */
export function relativeAge(thenMs: number, nowMs: number): string {
  const s = Math.abs(nowMs - thenMs) / 1000;
  const unit = unitFor(s);
  const base = DateTime.fromMillis(nowMs, { zone: 'utc' });
  return DateTime.fromMillis(thenMs, { zone: 'utc' }).toRelative({ base, unit, locale: 'en' }) ?? `${Math.round(s)} seconds`;
}
