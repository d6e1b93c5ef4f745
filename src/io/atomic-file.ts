// Writes a file so that a reader (or a crash) sees the old content or the new, never a part: temp file in the same directory, fsync, rename.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A temp file this old was left by a writer that died (a crash, SIGKILL): nobody finishes it any more. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * The temp name starts with "." and ends with ".tmp", so node_exporter (which reads *.prom) and
 * status (which reads *.json) never read a half-written file.
 */
function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

function removeStaleTemps(path: string, now: number): void {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > STALE_TEMP_MS) unlinkSync(join(dir, name));
    } catch {
      /* another writer removed or renamed it */
    }
  }
}

/** Replaces `path` with `content` atomically, the file having `mode` whatever the umask. */
export function writeFileAtomic(path: string, content: string, mode: number, now: number): void {
  const dir = dirname(path);
  const temp = join(dir, `${tempPrefix(path)}${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeSync(fd, content);
      // The service's UMask=0077 would leave it 0600: node_exporter runs as user prometheus.
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      /* it was renamed, or never made */
    }
    throw error;
  }
  // The rename itself reaches the disk only with the directory.
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    /* some file systems refuse fsync on a directory; the rename is still atomic */
  }
  removeStaleTemps(path, now);
}
