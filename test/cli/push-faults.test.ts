// Fault suite: pushes cut at seeded random byte offsets heal on the next run, leaving an exact mirror and no leaked hold.
import test from 'ava';
import { useBed } from '../bed/fixture';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from '../bed/cli';
import { fingerprintMounted, fingerprintReceived, mountTree, pidsWithArgs, writeRandomFile } from '../bed/content';
import { treeSignature, zfs, zfsTry } from '../bed/pools';
import { seededRandom, startRelay } from '../bed/relay';
import { scratchDir } from '../bed/scratch';

const SEED = Number(process.env.CZB_FAULT_SEED ?? 20261122);
const CHAINS = 4;
const CUTS_PER_CHAIN = 5;

const bed = useBed(test);

/** Our tag must be on `target` and on no other snapshot: release on every other one must say "no such tag". */
function assertHoldOnlyOn(t: import('ava').ExecutionContext, root: string, tag: string, target: string): void {
  const snaps = zfs('list', '-H', '-o', 'name', '-t', 'snapshot', '-r', root).split('\n').filter(Boolean);
  for (const snap of snaps) {
    const r = zfsTry('release', tag, snap);
    if (snap.endsWith(`@${target}`)) {
      t.is(r.status, 0, `${snap} should carry ${tag}`);
      zfs('hold', tag, snap);
    } else t.regex(r.stderr, /no such tag/, `${snap} still carries ${tag}`);
  }
}

for (let chain = 0; chain < CHAINS; chain += 1) {
  test(`chain ${chain + 1}: ${CUTS_PER_CHAIN} pushes cut at random offsets (seed ${SEED + chain}) each heal on the next run`, async (t) => {
    const random = seededRandom(SEED + chain);
    const localPool = bed.pool('czbfl');
    const receiverPool = bed.pool('czbfr', '512M');
    const local = `${localPool.name}/host`;
    const receive = `${receiverPool.name}/offsite/host`;
    zfs('create', local);
    zfs('create', `${receiverPool.name}/offsite`);
    const mnt = mkdtempSync(join(localPool.dir, 'mnt-'));
    mountTree(local, mnt);
    for (const ds of ['a', 'a/b', 'c']) zfs('create', `${local}/${ds}`);
    writeRandomFile(mnt, 'root.bin', 200_000);
    zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
    const config = bed.sshd.config;
    const push = (cfg: string) => runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', cfg]);
    const first = await runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', config, '--force-non-incremental']);
    t.is(first.code, 0, first.stderr);
    const tag = `cyber-zfs-backup:offsite:${receive}`;

    for (let round = 0; round < CUTS_PER_CHAIN; round += 1) {
      // New data in every dataset, a dataset created this round, and three snapshots.
      const day = chain * CUTS_PER_CHAIN + round + 1;
      const stamp = (h: number) => `2026-10-${String(day).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
      for (const [i, ds] of ['', 'a', 'a/b', 'c'].entries()) writeRandomFile(join(mnt, ds), `r${round}-1.bin`, 150_000 + i * 50_000);
      zfs('snapshot', '-r', `${local}@${stamp(6)}`);
      zfs('create', `${local}/new${round}`);
      for (const ds of ['', 'a/b', `new${round}`]) writeRandomFile(join(mnt, ds), `r${round}-2.bin`, 250_000);
      zfs('snapshot', '-r', `${local}@${stamp(12)}`);
      writeRandomFile(join(mnt, 'c'), `r${round}-3.bin`, 300_000);
      zfs('snapshot', '-r', `${local}@${stamp(18)}`);

      const streamEstimate = 1_800_000;
      const cutAfter = 3000 + Math.floor(random() * streamEstimate * 1.05);
      t.log(`chain ${chain + 1} round ${round + 1}: cutting after ${cutAfter} bytes`);
      const relay = await startRelay(bed.sshd.port, { cutAfter });
      const kh = join(bed.sshd.dir, `known_hosts.relay${relay.port}`);
      execFileSync('sh', ['-c', 'printf "%s\\n" "$1" > "$2"', 'sh', bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${relay.port} `), kh]);
      const cutConfig = bed.sshd.writeConfig(`cfg.relay${relay.port}`, [`Port ${relay.port}`, `UserKnownHostsFile ${kh}`]);
      const cut = await push(cutConfig);
      await relay.close();
      t.log(`  cut run: exit ${cut.code} after ${relay.passed()} bytes: ${cut.stderr.trim().split('\n').pop() ?? ''}`);
      // A cut run either finished before the cut or failed cleanly: 69 (connection lost) with one
      // clear line, never a crash (70) or a usage error.
      if (cut.code !== 0) {
        t.is(cut.code, 69, cut.stderr);
        t.regex(cut.stderr, /^cyber-zfs-backup: (push of .* failed after [\d.]+ MiB: the connection closed without an exit status|cannot connect to|listing .* on the receiving host did not finish: the connection was lost)/m);
      }

      const heal = await push(config);
      t.is(heal.code, 0, `round ${round + 1} (cut after ${cutAfter}): ${heal.stderr}`);
      const healing = heal.stderr.split('\n').filter((l) => /bringing|repairing|resuming|aborted/.test(l));
      t.log(`  heal: ${healing.length > 0 ? healing.map((l) => l.replace(/^.*?(bringing|repairing|resuming|aborted)/, '$1').replace(/ \(.*$/, '')).join('; ') : 'nothing to repair'}`);
      t.deepEqual(treeSignature(receive), treeSignature(local), `round ${round + 1}: names and GUIDs per dataset`);
      t.deepEqual(fingerprintReceived(receive, mkdtempSync(join(receiverPool.dir, 'mnt-'))), fingerprintMounted(mnt), `round ${round + 1}: file checksums`);
      assertHoldOnlyOn(t, local, tag, stamp(18));
    }
  });
}

/** A pushed pair whose next push carries `mib` MiB of fresh random data. */
async function loadedPair(mib: number, receiverSize = '512M') {
  const localPool = bed.pool('czbfk');
  const receiverPool = bed.pool('czbfkr', receiverSize);
  const local = `${localPool.name}/host`;
  const receive = `${receiverPool.name}/offsite/host`;
  zfs('create', local);
  zfs('create', `${receiverPool.name}/offsite`);
  const mnt = mkdtempSync(join(localPool.dir, 'mnt-'));
  mountTree(local, mnt);
  zfs('create', `${local}/a`);
  writeRandomFile(mnt, 'small.bin', 100_000);
  zfs('snapshot', '-r', `${local}@2026-10-01T00:00:00Z`);
  const push = (...extra: string[]) => runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra]);
  const first = await push('--force-non-incremental');
  if (first.code !== 0) throw new Error(first.stderr);
  for (let i = 0; i < mib; i += 8) writeRandomFile(join(mnt, 'a'), `big${i}.bin`, 8 * 1048576);
  zfs('snapshot', '-r', `${local}@2026-10-02T00:00:00Z`);
  return { local, receive, receiverPool, mnt, push };
}

/** Kills (by PID) the process with these arguments once it appears; fails with the run's output if the run ends first. */
async function killWhenRunning(words: string[], run: Promise<{ code: number; stderr: string }>): Promise<number> {
  let ended: { code: number; stderr: string } | undefined;
  void run.then((r) => (ended = r));
  for (let i = 0; i < 2400; i += 1) {
    if (ended) throw new Error(`the run ended (exit ${ended.code}) before ${words.join(' ')} could be killed: ${ended.stderr}`);
    const [pid] = pidsWithArgs(words);
    if (pid) {
      process.kill(pid, 'SIGKILL');
      return pid;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no process with ${words.join(' ')} appeared`);
}

test('killing the remote zfs receive mid-stream: exit 75 with one line; the next run makes an exact mirror', async (t) => {
  const p = await loadedPair(64);
  const run = p.push();
  await killWhenRunning(['receive', p.receive], run);
  const r = await run;
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /zfs receive on the receiving host was killed \((SIG)?KILL\)/);
  const heal = await p.push();
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(fingerprintReceived(p.receive, mkdtempSync(join(p.receiverPool.dir, 'mnt-'))), fingerprintMounted(p.mnt));
});

test('killing the local zfs send mid-stream: exit 75 naming both sides; the next run makes an exact mirror', async (t) => {
  const p = await loadedPair(64);
  // A zfs wrapper that records the PID of `zfs send` (exec keeps it) and waits for the test to kill it.
  const dir = scratchDir(t, 'czb-sendpid-');
  const wrapper = join(dir, 'zfs');
  writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = send ]; then echo $$ > ${dir}/send.pid; sleep 1; fi\nexec zfs "$@"\n`, { mode: 0o755 });
  const run = runCliAsync(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', bed.sshd.config], { env: { CYBER_ZFS_BACKUP_ZFS: wrapper } });
  const pidFile = join(dir, 'send.pid');
  for (let i = 0; i < 2400 && !existsSync(pidFile); i += 1) await new Promise((r) => setTimeout(r, 25));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((r) => setTimeout(r, 1200));
  process.kill(pid, 'SIGKILL');
  const r = await run;
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /zfs send was stopped \(SIGKILL\), so the receiver got a cut stream \(zfs receive exited \d+/);
  const heal = await p.push();
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test('filling the receive pool: exit 73 saying to free space, sender unchanged; after freeing space the next push succeeds', async (t) => {
  const p = await loadedPair(96, '256M');
  // A reservation takes the pool's free space at once, with no data written.
  zfs('create', '-o', 'reservation=180M', `${p.receiverPool.name}/filler`);
  const before = treeSignature(p.local);
  const r = await p.push();
  t.is(r.code, 73, r.stderr);
  t.regex(r.stderr, /zfs receive exited \d+: .*(space|quota).*free space on the receiving host/i);
  t.deepEqual(treeSignature(p.local), before);
  zfs('set', 'reservation=none', `${p.receiverPool.name}/filler`);
  const ok = await p.push();
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});
