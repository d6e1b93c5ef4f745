// The state directory ($STATE_DIRECTORY, else /var/lib/cyber-zfs-backup): one JSON file per tree, and the metrics file node_exporter reads.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTreeState, renderTreeState, stateFileName, type TreeState } from '../core/run-state';
import { writeFileAtomic } from './atomic-file';

export const DEFAULT_STATE_DIR = '/var/lib/cyber-zfs-backup';

/** Where Debian's prometheus-node-exporter reads *.prom files (its textfile collector). */
export const NODE_EXPORTER_DIR = '/var/lib/prometheus/node-exporter';
export const DEFAULT_METRICS_NAME = 'cyber-zfs-backup.prom';

/** State and metrics hold no secret; status and node_exporter (user prometheus) read them. */
const READABLE = 0o644;

/** The state directory: systemd's $STATE_DIRECTORY (the first, when it lists several), else the Debian default. */
export function stateDirectory(fromEnv: string | undefined): string {
  const first = fromEnv?.split(':')[0];
  return first ? first : DEFAULT_STATE_DIR;
}

/** The metrics file when none is given: node_exporter's textfile directory where it exists, else none. */
export function defaultMetricsFile(): string | undefined {
  return existsSync(NODE_EXPORTER_DIR) ? join(NODE_EXPORTER_DIR, DEFAULT_METRICS_NAME) : undefined;
}

export interface StateFiles {
  readonly dir: string;
  /** The tree's state, undefined when there is none; throws when it cannot be read. */
  read(dataset: string): TreeState | undefined;
  /** Every tree's state in the directory (files that are not ours are passed over). */
  readAll(): TreeState[];
  write(state: TreeState): void;
  writeMetrics(path: string, text: string): void;
}

export function makeStateFiles(dir: string, now: () => number): StateFiles {
  const readState = (file: string): TreeState | undefined => {
    let text: string;
    try {
      text = readFileSync(join(dir, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseTreeState(text);
  };
  return {
    dir,
    read: (dataset) => {
      const state = readState(stateFileName(dataset));
      return state?.dataset === dataset ? state : undefined;
    },
    readAll() {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).flatMap((n) => readState(n) ?? []);
    },
    write(state) {
      try {
        // Not recursive: the parent (/var/lib, or systemd's StateDirectory) exists.
        mkdirSync(dir, { mode: 0o755 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      writeFileAtomic(join(dir, stateFileName(state.dataset)), renderTreeState(state), READABLE, now());
    },
    writeMetrics: (path, text) => writeFileAtomic(path, text, READABLE, now()),
  };
}
