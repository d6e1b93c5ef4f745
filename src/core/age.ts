// Ages in words: the short form of the monitoring line, and luxon's relative words.
import { DateTime, Duration } from 'luxon';

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
