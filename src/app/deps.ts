// The outside world a use case gets injected: zfs, the clock, the logger, and the push transport.
import type { Logger } from '../io/logger';
import type { LocalZfs } from '../io/zfs';

export interface Deps {
  zfs: LocalZfs;
  log: Logger;
  /** Milliseconds since the epoch; a parameter so that tests can run in any year. */
  now: () => number;
}
