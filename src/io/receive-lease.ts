// serve's lease files: one per received tree, next to its lock under /run/lock (world-writable with the sticky bit, so an unprivileged serve can use it too).
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLease, serializeLease, type LeasedProcess, type ReceiveLease } from '../core/receive-lease';

export interface LeaseFiles {
  read(dataset: string): ReceiveLease | undefined;
  /** Replaces the lease at once (written aside, then renamed): a reader never sees half of it. Best effort. */
  write(dataset: string, lease: ReceiveLease): void;
  /** Removes the lease if it is `owner`'s. */
  remove(dataset: string, owner: LeasedProcess): void;
}

export function leasePath(dir: string, dataset: string): string {
  return join(dir, `cyber-zfs-backup.${dataset.replace(/\//g, '_')}.receive`);
}

export function leaseFiles(dir: string): LeaseFiles {
  const read = (dataset: string): ReceiveLease | undefined => {
    try {
      return parseLease(readFileSync(leasePath(dir, dataset), 'utf8'));
    } catch {
      return undefined;
    }
  };
  return {
    read,
    write(dataset, lease) {
      const path = leasePath(dir, dataset);
      const aside = `${path}.${lease.serve.pid}`;
      try {
        writeFileSync(aside, serializeLease(lease), { mode: 0o644 });
        renameSync(aside, path);
      } catch {
        // Without a lease a later serve cannot end this receive early; it still ends with its connection.
      }
    },
    remove(dataset, owner) {
      const lease = read(dataset);
      if (lease?.serve.pid !== owner.pid || lease.serve.start !== owner.start) return;
      try {
        unlinkSync(leasePath(dir, dataset));
      } catch {
        /* gone already */
      }
    },
  };
}
