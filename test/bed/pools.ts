// Test bed: file-backed pools with unique names in a temp dir, and helpers to read a tree's state.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TestPool {
  name: string;
  dir: string;
  destroy(): void;
}

/** Blocks this thread for `ms` (a test bed step that must finish before it returns). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function zfs(...args: string[]): string {
  return execFileSync('zfs', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function zfsTry(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('zfs', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Creates a pool on a sparse file; the name is unique (prefix + random) so no pool of anyone else is touched.
 * `cachefile=none`: a run killed before its clean-up leaves no pool that zfs-fuse imports again at its next start.
 */
export function createPool(prefix: string, size = '256M'): TestPool {
  const dir = mkdtempSync(join(tmpdir(), 'czb-pool-'));
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  const file = join(dir, 'disk.img');
  writeFileSync(file, '');
  truncateSync(file, parseSize(size));
  execFileSync('zpool', ['create', '-o', 'cachefile=none', '-m', 'none', name, file], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    name,
    dir,
    destroy() {
      // A pool stays busy while a process of a run that just ended still uses it: a few tries, each
      // bounded. A pool that cannot go keeps its file (cachefile=none: it is gone when zfs-fuse stops).
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const r = spawnSync('zpool', ['destroy', '-f', name], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' });
        if (r.status === 0) {
          rmSync(dir, { recursive: true, force: true });
          return;
        }
        if (attempt === 5 || r.error) process.stderr.write(`test bed: could not destroy pool ${name} (${r.error?.message ?? r.stderr.trim()}); left ${dir}\n`);
        if (r.error) return;
        sleepSync(2000);
      }
    },
  };
}

function parseSize(size: string): number {
  const m = /^(\d+)([MG])$/.exec(size);
  if (!m) throw new Error(`bad size ${size}`);
  return Number(m[1]) * (m[2] === 'G' ? 1024 ** 3 : 1024 ** 2);
}

/** Snapshot names per dataset (relative to root), oldest first. */
export function snapshotsByDataset(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const r = zfsTry('list', '-H', '-o', 'name', '-t', 'filesystem,snapshot', '-r', '-s', 'createtxg', root);
  if (r.status !== 0) return out;
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [ds, snap] = line.split('@') as [string, string | undefined];
    const rel = ds === root ? '' : ds.slice(root.length + 1);
    if (!out.has(rel)) out.set(rel, []);
    if (snap !== undefined) out.get(rel)?.push(snap);
  }
  return out;
}

/** `relative@name guid` lines for the whole tree, sorted: equal on both sides means an exact mirror. */
export function treeSignature(root: string): string[] {
  const r = zfsTry('get', '-H', '-p', '-o', 'name,value', '-r', 'guid', root);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('@'))
    .map((l) => {
      const [name, guid] = l.split('\t') as [string, string];
      return `${name.slice(root.length)} ${guid}`;
    })
    .sort();
}

/** Everything zfs says about a pool's datasets and snapshots: compared before and after a refused run. */
export function poolState(pool: string): string {
  return zfsTry('get', '-H', '-p', '-o', 'name,property,value', '-r', 'guid,userrefs', pool).stdout;
}

export function userrefs(snapshot: string): number {
  return Number(zfs('get', '-H', '-p', '-o', 'value', 'userrefs', snapshot).trim());
}
