// Test bed: writes data into mounted datasets and fingerprints a tree's files, to prove a receiver is an exact copy.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { zfs, zfsTry } from './pools';

/** Mounts the tree below `dir` (children inherit) so files can be written. */
export function mountTree(root: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  zfs('set', `mountpoint=${dir}`, root);
}

export function writeRandomFile(dir: string, name: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), randomBytes(bytes));
}

function walk(dir: string, base: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, base, out);
    else if (entry.isFile()) out.push(`${relative(base, path)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
  }
}

/** `path sha256` for every file of every dataset of the tree, as mounted under its mountpoint. */
export function fingerprintMounted(dir: string): string[] {
  const out: string[] = [];
  walk(dir, dir, out);
  return out.sort();
}

/**
 * Fingerprints a received (unmounted, read-only) tree by mounting it under `dir` for the moment,
 * then unmounting and putting the mountpoint back.
 */
export function fingerprintReceived(root: string, dir: string): string[] {
  const original = zfs('get', '-H', '-o', 'value', 'mountpoint', root).trim();
  const datasets = zfs('list', '-H', '-o', 'name', '-r', '-t', 'filesystem', root).split('\n').filter(Boolean);
  zfs('set', `mountpoint=${dir}`, root);
  try {
    for (const ds of datasets) zfsTry('mount', ds);
    return fingerprintMounted(dir);
  } finally {
    for (const ds of [...datasets].reverse()) zfsTry('unmount', ds);
    zfs('set', `mountpoint=${original}`, root);
  }
}

/** PIDs of processes whose argv contains every one of `words` (exact arguments): used to kill a zfs the test caused. */
export function pidsWithArgs(words: string[]): number[] {
  const { readdirSync: ls, readFileSync: read } = { readdirSync, readFileSync };
  const pids: number[] = [];
  for (const entry of ls('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = read(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => argv.includes(w))) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}
