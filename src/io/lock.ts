// One run per dataset: an exclusive lock file under /run/lock holding the owner's PID and start time.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BackupError, ExitCode } from '../core/exit-codes';
import { startTime } from './proc';

export const DEFAULT_LOCK_DIR = '/run/lock';

export interface Lock {
  path: string;
  release(): void;
}

function holder(path: string): { pid: number; alive: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false };
  const now = startTime(pid);
  return { pid, alive: now !== undefined && (started === undefined || started === now) };
}

/**
 * Creates `path` already holding `text`, or throws EEXIST: written to a file of its own first and
 * then linked into place, so no other run ever reads the lock empty (and takes it for a dead one).
 */
function createWithContent(path: string, text: string): void {
  const draft = `${path}.${process.pid}.new`;
  const fd = openSync(draft, 'w', 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(draft, path);
  } finally {
    unlinkSync(draft);
  }
}

export function lockPath(dir: string, dataset: string): string {
  return join(dir, `cyber-zfs-backup.${dataset.replace(/\//g, '_')}.lock`);
}

/** Takes the lock for `dataset` or throws exit 75 naming the holder; a dead holder's lock is taken over. */
export function acquireLock(dir: string, dataset: string): Lock {
  const path = lockPath(dir, dataset);
  try {
    // Not recursive: /run/lock exists on every systemd host, and Node's recursive mkdir can spin
    // forever on pseudo file systems such as /proc.
    mkdirSync(dir, { mode: 0o755 });
  } catch {
    /* it exists, or the open below reports the real problem */
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      createWithContent(path, `${process.pid} ${startTime(process.pid) ?? ''}\n`);
      return {
        path,
        release() {
          const h = holder(path);
          if (h?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new BackupError(code === 'EACCES' || code === 'EPERM' ? ExitCode.notPermitted : ExitCode.cannotCreate, `cannot create the lock file ${path}: ${(error as Error).message}; run as root or make ${dir} writable`);
      }
      const h = holder(path);
      if (h === undefined) continue;
      if (h.alive) {
        throw new BackupError(ExitCode.temporary, `another cyber-zfs-backup run (PID ${h.pid}) is working on ${dataset} (lock ${path}); try again when it has finished`);
      }
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first; try again */
      }
    }
  }
  throw new BackupError(ExitCode.temporary, `could not take the lock ${path}; another run is starting at the same moment, try again`);
}
