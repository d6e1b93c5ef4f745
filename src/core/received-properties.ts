// Keeps the received tree inert on the offsite host: nothing of it mounts by itself, writes, or mounts outside the backup mount point.
import { joinDataset, relativeDataset } from './names';
import { ZfsOutputError } from './zfs-errors';

/** One received filesystem as `zfs list -H -o name,canmount,readonly,mountpoint -t filesystem -r` shows it. */
export interface ReceivedFilesystem {
  /** Path below the receive dataset; '' for the receive dataset itself. */
  relative: string;
  canmount: string;
  readonly: string;
  mountpoint: string;
}

export const RECEIVED_LIST_PROPERTIES = ['canmount', 'readonly', 'mountpoint'] as const;

/** The listing that `receivedPropertyFixes` reads (filesystems only: volumes have no mountpoint). */
export function listReceivedArgs(receiveDataset: string): string[] {
  return ['list', '-H', '-o', `name,${RECEIVED_LIST_PROPERTIES.join(',')}`, '-t', 'filesystem', '-r', receiveDataset];
}

export class ReceivedListError extends ZfsOutputError {}

export function parseReceivedFilesystems(receiveDataset: string, stdout: string): ReceivedFilesystem[] {
  const out: ReceivedFilesystem[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields.length !== 4) throw new ReceivedListError(`unexpected zfs list line: ${JSON.stringify(line)}`);
    const [name, canmount, readonly, mountpoint] = fields as [string, string, string, string];
    const relative = relativeDataset(receiveDataset, name);
    if (relative === undefined) continue;
    out.push({ relative, canmount, readonly, mountpoint });
  }
  return out;
}

function below(path: string, root: string): boolean {
  return path.startsWith(root.endsWith('/') ? root : root + '/');
}

/**
 * The `zfs set` commands (one property each: zfs-fuse takes no more) that make the received tree
 * safe, or none when it already is. The receive dataset itself gets exactly canmount=noauto,
 * readonly=on and `mountpoint`. Below it, a `send -R` stream carries each dataset's own properties:
 * a child the sender mounts at /home would mount over the offsite host's /home at its next boot,
 * writable. So every descendant must be canmount=noauto (or off), readonly=on, and mounted inside
 * `mountpoint` (or not at all: none, legacy); otherwise it gets canmount=noauto, readonly=on and
 * the mount point under `mountpoint` it would inherit. Local values win over received ones on every
 * later receive, so each dataset is set at most once.
 */
export function receivedPropertyFixes(receiveDataset: string, mountpoint: string, filesystems: readonly ReceivedFilesystem[]): string[][] {
  const fixes: string[][] = [];
  for (const fs of filesystems) {
    const name = joinDataset(receiveDataset, fs.relative);
    const wantedMountpoint = fs.relative === '' ? mountpoint : `${mountpoint}/${fs.relative}`;
    const canmountOk = fs.relative === '' ? fs.canmount === 'noauto' : fs.canmount === 'noauto' || fs.canmount === 'off';
    const mountpointOk = fs.relative === '' ? fs.mountpoint === mountpoint : fs.mountpoint === 'none' || fs.mountpoint === 'legacy' || below(fs.mountpoint, mountpoint);
    if (!canmountOk) fixes.push(['set', 'canmount=noauto', name]);
    if (fs.readonly !== 'on') fixes.push(['set', 'readonly=on', name]);
    if (!mountpointOk) fixes.push(['set', `mountpoint=${wantedMountpoint}`, name]);
  }
  return fixes;
}
