// Test bed for the restore tests: a host's tree with children and files, several snapshots pushed to an offsite copy, and the drill's checks.
import type { ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync, type CliResult } from './cli';
import { fingerprintMounted, writeRandomFile } from './content';
import type { Bed } from './fixture';
import { treeSignature, userrefs, zfs, zfsTry, type TestPool } from './pools';

export const [S1, S2, S3, S4, S5] = ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z', '2026-11-05T00:00:00Z'] as const;
export const BIG = 6 * 1048576;

export interface Scenario {
  localPool: TestPool;
  receiverPool: TestPool;
  local: string;
  receive: string;
  mnt: string;
  other: string;
  tag: string;
  cli(args: string[], config?: string): Promise<CliResult>;
  restore(dataset: string, ...extra: string[]): Promise<CliResult>;
  push(dataset: string, ...extra: string[]): Promise<CliResult>;
  /** File checksums of the live tree: root (and a) below mnt, c at its own mount point. */
  files(): string[];
}

/** `relative canmount readonly mountpoint` of every filesystem of a tree. */
export function mountProps(root: string): string[] {
  return zfs('list', '-H', '-o', 'name,canmount,readonly,mountpoint', '-t', 'filesystem', '-r', root)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(root, 'ROOT'));
}

export function exists(dataset: string): boolean {
  return zfsTry('list', '-H', '-o', 'name', dataset).status === 0;
}

/** The bytes of every "pulled …" (restore) or "pushed …" (push) line of a run. */
export function bytesOf(stderr: string, word: 'pulled' | 'pushed'): number {
  return [...stderr.matchAll(new RegExp(`${word} .*?: (\\d+) bytes in`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
}

/**
 * A tree as a host has it: the root mounted at mnt, child a inheriting below it (a big file from
 * @S2 on), a/b canmount=noauto, c at its own mount point (read-only from @S3 on); @S1 pushed
 * whole, @S2 and @S3 in one incremental push. `sshConfig` gives the ssh_config every run uses
 * (it may depend on the receiver pool, e.g. a serve key confined to it).
 */
export async function pushedScenario(t: ExecutionContext, bed: Bed, sshConfig: (receiverPool: TestPool) => string): Promise<Scenario> {
  const localPool = bed.pool('czbrl');
  const receiverPool = bed.pool('czbrr', '512M');
  const local = `${localPool.name}/host`;
  const receive = `${receiverPool.name}/offsite/host`;
  const mnt = join(localPool.dir, 'mnt');
  const other = join(localPool.dir, 'other');
  mkdirSync(mnt);
  mkdirSync(other);
  zfs('create', '-o', `mountpoint=${mnt}`, local);
  zfs('create', `${local}/a`);
  zfs('create', '-o', 'canmount=noauto', `${local}/a/b`);
  zfs('create', '-o', `mountpoint=${other}`, `${local}/c`);
  zfs('create', `${receiverPool.name}/offsite`);
  const config = sshConfig(receiverPool);
  const cli = (args: string[], c = config) => runCliAsync([...args, '--ssh-config', c]);
  const s: Scenario = {
    localPool,
    receiverPool,
    local,
    receive,
    mnt,
    other,
    tag: `cyber-zfs-backup:offsite:${receive}`,
    cli,
    restore: (dataset, ...extra) => cli(['--action', 'restore', '--dataset', dataset, '--zfs-receive-dataset', receive, ...extra]),
    push: (dataset, ...extra) => cli(['--action', 'push', '--dataset', dataset, '--zfs-receive-dataset', receive, ...extra]),
    files: () => [...fingerprintMounted(mnt).map((l) => `mnt/${l}`), ...fingerprintMounted(other).map((l) => `other/${l}`)],
  };
  writeFileSync(join(mnt, 'root.txt'), 'the root\n');
  writeRandomFile(join(mnt, 'a'), 'a1.bin', 100_000);
  writeRandomFile(other, 'c1.bin', 50_000);
  zfs('snapshot', '-r', `${local}@${S1}`);
  const first = await s.push(local, '--force-non-incremental');
  if (first.code !== 0) throw new Error(`the first push failed: ${first.stderr}`);
  writeRandomFile(join(mnt, 'a'), 'big.bin', BIG);
  zfs('snapshot', '-r', `${local}@${S2}`);
  writeRandomFile(mnt, 'root2.bin', 30_000);
  zfs('set', 'readonly=on', `${local}/c`);
  zfs('snapshot', '-r', `${local}@${S3}`);
  const second = await s.push(local);
  if (second.code !== 0) throw new Error(`the second push failed: ${second.stderr}`);
  t.log(`scenario: ${local} with @${S1} @${S2} @${S3} pushed to ${receive}`);
  return s;
}

/**
 * Destroys a tree as a lost pool would have it (releasing the base hold first). zfs-fuse's
 * `destroy -r` of mounted filesystems answers "dataset is busy" now and then (for tens of seconds on
 * a loaded machine), while unmounting them first, children first, works at once; a busy destroy is
 * still tried again for a while.
 */
export async function lose(s: Scenario, snapshot: string, dataset = s.local): Promise<void> {
  zfs('release', '-r', s.tag, `${dataset}@${snapshot}`);
  const filesystems = zfs('list', '-H', '-o', 'name,mounted', '-t', 'filesystem', '-r', dataset).split('\n').filter((l) => l.endsWith('\tyes'));
  for (const line of filesystems.reverse()) zfs('unmount', '-f', line.split('\t')[0] as string);
  for (let attempt = 1; ; attempt += 1) {
    const r = zfsTry('destroy', '-r', dataset);
    if (r.status === 0) return;
    if (attempt === 20 || !/busy/.test(r.stderr)) throw new Error(`zfs destroy -r ${dataset}: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The drill's checks on a tree restored under the live tree's own name. */
export function assertLikeBefore(t: ExecutionContext, s: Scenario, before: { files: string[]; props: string[] }, snapshot: string): void {
  t.deepEqual(mountProps(s.local), before.props, 'mountpoint, canmount and readonly of every filesystem as before');
  t.deepEqual(s.files(), before.files, "every file's SHA-256 as before");
  t.deepEqual(treeSignature(s.local), treeSignature(s.receive), "every snapshot's GUID is the offsite copy's");
  t.is(userrefs(`${s.local}@${snapshot}`), 1, 'the base is held');
  t.is(userrefs(`${s.local}/a/b@${snapshot}`), 1, 'held recursively');
  t.false(exists(`${s.local}.czb-restoring`), 'no temporary tree is left');
}

/** After a restore: a new snapshot and a push that is incremental from the restored one, by the log and by the bytes. */
export async function assertNextPushIncremental(t: ExecutionContext, s: Scenario, restoredBytes: number, base: string, next: string): Promise<void> {
  writeRandomFile(s.mnt, `after-${next}.bin`, 20_000);
  zfs('snapshot', '-r', `${s.local}@${next}`);
  const push = await s.push(s.local, '-v');
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, new RegExp(`pushed \\S+@${next} \\(incremental from @${base}\\)`));
  const sent = bytesOf(push.stderr, 'pushed');
  t.true(sent > 0 && sent < restoredBytes / 10, `the push sent ${sent} bytes; the restore pulled ${restoredBytes}`);
  t.deepEqual(treeSignature(s.local), treeSignature(s.receive));
}
