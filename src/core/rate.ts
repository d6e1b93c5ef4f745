// --bwlimit: a stream rate in bytes per second with K, M or G (1024-based), read and shown the same way everywhere.

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Slower than this is surely a typo (a limit in bytes meant as K). */
export const MIN_RATE = 1024;

/**
 * Reads RATE: a number of bytes per second, optionally followed by K, M or G (1024-based; KiB,
 * MiB, GiB and a trailing /s are accepted too), e.g. `20M` or `1.5G`. Returns bytes per second,
 * or the reason it cannot be read.
 */
export function parseRate(text: string): { bytesPerSecond: number } | { problem: string } {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgKMG])(?:i?B)?)?(?:\/s)?$/.exec(text.trim());
  if (!m) {
    const bits = /^\d+(?:\.\d+)?\s*[kmgKMG]?(b|bit|bps)(\/s)?$/.test(text.trim());
    return {
      problem: bits
        ? `${JSON.stringify(text)} looks like bits; the limit is in bytes per second (20M is 20 MiB/s, about 168 Mbit/s)`
        : `${JSON.stringify(text)} is not a rate: give bytes per second as a number with K, M or G (1024-based), e.g. 20M`,
    };
  }
  const bytesPerSecond = Math.round(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  if (bytesPerSecond < MIN_RATE) return { problem: `${JSON.stringify(text)} is below 1K (1024 bytes per second); the limit is in bytes per second, e.g. 20M` };
  return { bytesPerSecond };
}

/** A rate as people read it: `8 MiB/s`, `512 KiB/s`, `1.5 GiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytesPerSecond >= size) {
      const value = bytesPerSecond / size;
      return `${Number.isInteger(value) ? value : value >= 100 ? value.toFixed(0) : Number(value.toFixed(value >= 10 ? 1 : 2))} ${unit}/s`;
    }
  }
  return `${bytesPerSecond} B/s`;
}

/**
 * --bwlimit's schedule: when the bytes handed on so far, plus `bytes` more, are due (seconds from
 * the stream's first byte), given when the bytes before were due and the time now. The schedule
 * may fall `slackSeconds` behind and catch up, no more, so a long stall is not followed by a long
 * burst. Self-contained (no outside names): the stream relay's worker runs its text.
 */
export function dueAfter(due: number, now: number, bytes: number, bytesPerSecond: number, slackSeconds: number): number {
  return Math.max(due, now - slackSeconds) + bytes / bytesPerSecond;
}
