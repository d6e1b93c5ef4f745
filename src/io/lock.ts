// One run per dataset: a lock file under /run/lock, held with flock(2) so that the kernel frees it when its run ends, however it ends; it names the holder's PID.
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { BackupError, ExitCode } from '../core/exit-codes';
import { asStdio } from './fifo';
import { startTime } from './proc';

export const DEFAULT_LOCK_DIR = '/run/lock';

/**
 * util-linux's flock(1), by its path: the lock comes before anything else a run does, whatever
 * PATH it was given (a run without zfs on its PATH must still say so, not fail here).
 */
const FLOCK = '/usr/bin/flock';

/** What flock(1) exits with when another open file holds the lock (-E); any other failure is its own. */
const LOCK_BUSY = 75;

export interface Lock {
  path: string;
  release(): void;
}

export function lockPath(dir: string, dataset: string): string {
  return join(dir, `cyber-zfs-backup.${dataset.replace(/\//g, '_')}.lock`);
}

/** The PID a lock file names (its holder writes its PID and start time once it holds the lock), while that process still runs. */
function livingHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const now = startTime(pid);
  return now !== undefined && (started === undefined || started === '' || started === now) ? pid : undefined;
}

function busy(dataset: string, path: string, pid: number | undefined): BackupError {
  return new BackupError(ExitCode.temporary, `another cyber-zfs-backup run${pid === undefined ? '' : ` (PID ${pid})`} is working on ${dataset} (lock ${path}); try again when it has finished`);
}

function cannotCreate(path: string, dir: string, error: unknown): BackupError {
  const code = (error as NodeJS.ErrnoException).code;
  return new BackupError(code === 'EACCES' || code === 'EPERM' ? ExitCode.notPermitted : ExitCode.cannotCreate, `cannot create the lock file ${path}: ${(error as Error).message}; run as root or make ${dir} writable`);
}

/**
 * flock(LOCK_EX | LOCK_NB) on the open file `fd`, through util-linux's flock(1) (Node cannot call
 * flock): the lock belongs to the open file, which the child shares, so it stays held here once
 * the child has exited, until `fd` is closed or this process ends. True when taken, false when
 * another open file holds it.
 */
function flockNow(fd: number, path: string): boolean {
  const r = execaSync(FLOCK, ['--nonblock', '--conflict-exit-code', String(LOCK_BUSY), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', asStdio(fd)],
    reject: false,
    timeout: 10_000,
    killSignal: 'SIGKILL',
    env: { LC_ALL: 'C' },
  });
  if (r.exitCode === 0) return true;
  if (r.exitCode === LOCK_BUSY) return false;
  const why = r.exitCode === undefined ? r.originalMessage || r.shortMessage : String(r.stderr).trim().split('\n')[0] || `exit ${r.exitCode}`;
  throw new BackupError(ExitCode.unavailable, `cannot lock ${path} with flock: ${why}; install util-linux (it provides flock)`);
}

/** Whether `fd` is still the file at `path`: a holder that released it in the meantime removed the name. */
function stillNamed(fd: number, path: string): boolean {
  const open = fstatSync(fd);
  try {
    const named = statSync(path);
    return named.ino === open.ino && named.dev === open.dev;
  } catch {
    return false;
  }
}

/**
 * Opens the lock file, creating it only where there is none: opening an existing file with O_CREAT
 * in a sticky directory such as /run/lock is refused when another user owns it (the kernel's
 * protected_regular), and flock needs only a descriptor, so another user's file is opened to read.
 * Undefined when the file came or went in between: try again.
 */
function openLockFile(path: string, dir: string): { fd: number; writable: boolean } | undefined {
  const existing = (flags: number) => openSync(path, flags | constants.O_NOFOLLOW);
  try {
    return { fd: existing(constants.O_RDWR), writable: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      try {
        return { fd: existing(constants.O_RDONLY), writable: false };
      } catch (again) {
        throw cannotCreate(path, dir, again);
      }
    }
    if (code !== 'ENOENT') throw cannotCreate(path, dir, error);
  }
  try {
    return { fd: openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644), writable: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw cannotCreate(path, dir, error);
  }
}

/**
 * Locks the opened file, or throws exit 75 naming the holder while it lives. 'gone' when the file
 * was released and removed in the meantime (its name may be someone else's now): try again.
 */
function lockOpened(opened: { fd: number; writable: boolean }, path: string, dataset: string, text: string): 'held' | 'gone' {
  const { fd, writable } = opened;
  // The file names its holder once it has written; a holder that cannot (another user's file)
  // leaves the run before named, which has ended.
  if (!flockNow(fd, path)) throw busy(dataset, path, livingHolder(path));
  if (!stillNamed(fd, path)) return 'gone';
  // A live run named in a file nobody flocks took it before this version, which only created the
  // file (a run still going through an upgrade): it is still that run's.
  const before = livingHolder(path);
  if (before !== undefined && before !== process.pid) throw busy(dataset, path, before);
  // Over the last holder's PID in place; the file is empty only before its first holder writes.
  // Another user's file (serve's, taken by the offsite host's own expire, or the other way round)
  // is locked as it is: it then names the run before.
  if (writable) {
    writeSync(fd, text, 0);
    ftruncateSync(fd, Buffer.byteLength(text));
  }
  return 'held';
}

/**
 * Takes the lock for `dataset` or throws exit 75 naming the holder. No lock outlives its run: a
 * run that died, even by SIGKILL, left only a file, which the next run takes as it is.
 */
export function acquireLock(dir: string, dataset: string): Lock {
  const path = lockPath(dir, dataset);
  const text = `${process.pid} ${startTime(process.pid) ?? ''}\n`;
  try {
    // Not recursive: /run/lock exists on every systemd host, and Node's recursive mkdir can spin
    // forever on pseudo file systems such as /proc.
    mkdirSync(dir, { mode: 0o755 });
  } catch {
    /* it exists, or creating the file below reports the real problem */
  }
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const opened = openLockFile(path, dir);
    if (opened === undefined) continue;
    let outcome: 'held' | 'gone';
    try {
      outcome = lockOpened(opened, path, dataset, text);
    } catch (error) {
      closeSync(opened.fd);
      throw error;
    }
    if (outcome === 'gone') {
      closeSync(opened.fd);
      continue;
    }
    const held = opened.fd;
    return {
      path,
      release() {
        // The name goes while the lock is still held, so nobody takes a file that is being let go
        // (another user's file in a sticky directory stays, and is taken as it is).
        try {
          unlinkSync(path);
        } catch {
          /* already gone, or not ours to remove */
        }
        closeSync(held);
      },
    };
  }
  throw new BackupError(ExitCode.temporary, `could not take the lock ${path}; another run is starting at the same moment, try again`);
}
