// Reading an ssh log file that another process writes: what it holds from an offset on, and how far it goes now.
import { readFileSync, statSync } from 'node:fs';

/** At most this much of a log is read: its end, where the exit status and the last errors are. */
export const LOG_LIMIT = 1024 * 1024;

/** How many bytes the log holds now (0 if it is not there yet). */
export function logLength(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What the log holds from byte `offset` on, its last LOG_LIMIT bytes at most; '' if it cannot be read. */
export function readLogSince(file: string, offset = 0): string {
  try {
    const bytes = readFileSync(file);
    return bytes.subarray(Math.max(offset, bytes.length - LOG_LIMIT)).toString('utf8');
  } catch {
    return '';
  }
}
