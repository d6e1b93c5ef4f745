// What one run is asked to do: the validated options every use case reads.
import type { RetentionPolicy } from '../core/retention';

export const ACTIONS = ['snapshot', 'expire', 'push'] as const;
/** Actions that run alone (never by default, never with another). */
export const SOLO_ACTIONS = ['restore'] as const;
export type Action = (typeof ACTIONS)[number] | (typeof SOLO_ACTIONS)[number];

/** One offsite copy: where to connect, and the dataset there that receives the tree. */
export interface Destination {
  sshDestination: string;
  receiveDataset: string;
}

export interface RunOptions {
  actions: Action[];
  dataset: string;
  dryRun: boolean;
  retention: RetentionPolicy;
  forceDestroyLots: boolean;
  /** Every offsite copy, pushed in turn; each has its own base hold. */
  destinations: Destination[];
  sshConfig: string | undefined;
  useSudo: boolean;
  forceNonIncremental: boolean;
  /** Short host name: names the received tree's mountpoint, as 0.5 did. */
  hostname: string;
  /** --bwlimit: bytes per second every stream stays under; unset, no limit. */
  bwlimit?: number | undefined;
  /** restore: the offsite copy's snapshot to restore (default: its newest). */
  snapshot?: string | undefined;
}

/** What one push needs: the run's options with one of its destinations. */
export type PushOptions = Omit<RunOptions, 'destinations'> & Destination;
