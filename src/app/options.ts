// What one run is asked to do: the validated options every use case reads.
import type { RetentionPolicy } from '../core/retention';

export const ACTIONS = ['snapshot', 'expire', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

export interface RunOptions {
  actions: Action[];
  dataset: string;
  dryRun: boolean;
  retention: RetentionPolicy;
  forceDestroyLots: boolean;
  sshDestination: string;
  sshConfig: string | undefined;
  receiveDataset: string;
  useSudo: boolean;
  forceNonIncremental: boolean;
  /** Short host name: names the received tree's mountpoint, as 0.5 did. */
  hostname: string;
}
