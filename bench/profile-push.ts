// Profiles one CLI push of the benchmark's tree (node --cpu-prof) and prints where our process spends its CPU, by function and by package.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TestPool } from '../test/bed/pools';
import { startSshd } from '../test/bed/sshd';
import { ensureZfs, stopZfs } from '../test/bed/zfs-daemon';
import { round, timedAsync, timedSync } from './lib';
import { prepareSourceTree } from './throughput';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/**
 * Self time per function and per part of the bundle: the entry's lines by the `// node_modules/x/...`
 * markers tsup leaves in an unminified build, and each dist/lib/ module by its name (ssh-session, logger…).
 */
export function summarizeProfile(file: string, bundle: string, top: number): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const bundleLines = readFileSync(bundle, 'utf8').split('\n');
  const owner: string[] = [];
  let current = 'cyber-zfs-backup';
  bundleLines.forEach((line, i) => {
    const m = /^\/\/ (?:node_modules\/(@[^/]+\/[^/]+|[^/]+)|src\/(\w+))\//.exec(line);
    if (m) current = m[1] ?? `src/${m[2]}`;
    owner[i] = current;
  });
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const f = nodes.get(id)?.callFrame;
    if (!f) continue;
    total += us;
    const lib = /\/dist\/lib\/([\w-]+?)-[A-Z0-9]{8}\.mjs$/.exec(f.url);
    const where = f.url.endsWith('cyber-zfs-backup.mjs') ? (owner[f.lineNumber] ?? '?') : lib ? `dist/lib/${lib[1]}` : f.url === '' ? '(vm)' : f.url.replace(/^node:/, 'node:');
    const key = `${f.functionName || '(anonymous)'} [${where}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byOwner.set(where, (byOwner.get(where) ?? 0) + us);
  }
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${String(round(us / 1000, 0)).padStart(6)} ms  ${String(round((100 * us) / total, 1)).padStart(5)} %  ${k}`);
  return [`sampled ${round(total / 1000, 0)} ms on the main thread`, 'by function (self time):', ...fmt(byFunction), 'by package (self time):', ...fmt(byOwner)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, top: { type: 'string', default: '25' } } });
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const cli = join(benchDir, '..', 'dist', 'cyber-zfs-backup.mjs');
  const scratch = mkdtempSync(join(tmpdir(), 'czbbench-prof-'));
  const pools: TestPool[] = [];
  const startedZfs = ensureZfs();
  const sshd = await startSshd();
  const say = (l: string) => process.stderr.write(l + '\n');
  try {
    const src = prepareSourceTree(Number(values['size-mib']), pools, scratch, say);
    const profDir = join(scratch, 'prof');
    const r = await timedAsync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', profDir, cli, '--action', 'push', '--force-non-incremental', '--dataset', src.tree, '--zfs-receive-dataset', `${src.receivePool}/recv`, '--ssh-config', sshd.config, '--verbose'],
      { ...process.env, CYBER_ZFS_BACKUP_LOCK_DIR: scratch },
    );
    say(`push exit ${r.status} in ${round(r.seconds, 2)} s: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) process.stdout.write(summarizeProfile(join(profDir, file), cli, Number(values.top)).join('\n') + '\n');
    timedSync('zfs', ['destroy', '-r', `${src.receivePool}/recv`]);
  } finally {
    await sshd.stop();
    for (const p of pools) p.destroy();
    rmSync(scratch, { recursive: true, force: true });
    if (startedZfs) stopZfs();
  }
}

if (process.argv[1]?.endsWith('profile-push.ts')) await main();
