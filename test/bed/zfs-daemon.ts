// Test bed: makes a usable zfs available, starting zfs-fuse (as root) when none answers, and stops only what it started.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { sleepSync } from './pools';

export const ZFS_FUSE_PIDFILE = '/run/cyber-zfs-backup-test-zfs-fuse.pid';

export function zfsUsable(): boolean {
  const r = spawnSync('zfs', ['list', '-H', '-o', 'name'], { encoding: 'utf8' });
  return r.status === 0;
}


function readPid(): number {
  return Number(readFileSync(ZFS_FUSE_PIDFILE, 'utf8').trim());
}

function isZfsFuse(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'zfs-fuse';
  } catch {
    return false;
  }
}

/** Starts zfs-fuse unless some zfs already answers; returns whether this call started it. */
export function ensureZfs(): boolean {
  if (zfsUsable()) return false;
  if (process.getuid?.() !== 0) throw new Error('no usable zfs, and only root can start zfs-fuse');
  if (!existsSync('/dev/fuse')) throw new Error('no usable zfs and no /dev/fuse for zfs-fuse');
  // zfs-fuse will not start while its pidfile exists: one left by a run that was killed is removed,
  // but only when no zfs-fuse runs under that PID.
  if (existsSync(ZFS_FUSE_PIDFILE) && !isZfsFuse(readPid())) rmSync(ZFS_FUSE_PIDFILE, { force: true });
  execFileSync('zfs-fuse', ['--pidfile', ZFS_FUSE_PIDFILE, '--no-kstat-mount'], { stdio: 'inherit' });
  for (let i = 0; i < 100; i += 1) {
    if (zfsUsable()) return true;
    sleepSync(100);
  }
  throw new Error('zfs-fuse started but zfs does not answer after 10 s');
}

/** Stops the zfs-fuse this bed started (by the PID it recorded), never any other. */
export function stopZfs(): void {
  if (!existsSync(ZFS_FUSE_PIDFILE)) return;
  const pid = readPid();
  if (isZfsFuse(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100; i += 1) {
        process.kill(pid, 0);
        sleepSync(100);
      }
    } catch {
      /* exited */
    }
  }
  rmSync(ZFS_FUSE_PIDFILE, { force: true });
}

// `node --import tsx test/bed/zfs-daemon.ts start|stop` for the test runner script.
const command = process.argv[1]?.endsWith('zfs-daemon.ts') ? process.argv[2] : undefined;
if (command === 'start') console.log(ensureZfs() ? 'started zfs-fuse' : 'zfs already usable');
else if (command === 'stop') stopZfs();
