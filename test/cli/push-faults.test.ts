// Fault suite: pushes cut at seeded random byte offsets heal on the next run, leaving an exact mirror and no leaked hold.
import test from 'ava';
import { useBed } from '../bed/fixture';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from '../bed/cli';
import { fingerprintMounted, fingerprintReceived, mountTree, pidsWithArgs, writeRandomFile } from '../bed/content';
import { treeSignature, zfs, zfsTry } from '../bed/pools';
import { seededRandom, startRelay } from '../bed/relay';

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

/** Who receives in each chain: a plain root login, serve, or serve --append-only (which heals only forward). */
const RECEIVERS = ['plain', 'serve', 'plain', 'serve --append-only'] as const;

for (let chain = 0; chain < CHAINS; chain += 1) {
  const receiver = RECEIVERS[chain % RECEIVERS.length] as (typeof RECEIVERS)[number];
  test(`chain ${chain + 1} (${receiver} receiver): ${CUTS_PER_CHAIN} pushes cut at random offsets (seed ${SEED + chain}) each heal on the next run`, async (t) => {
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
    const identity = receiver === 'plain' ? undefined : bed.sshd.addServeKey(`chain${chain}`, ['--root', receive, ...(receiver === 'serve' ? [] : ['--append-only'])]).key;
    const config = identity === undefined ? bed.sshd.config : bed.sshd.writeConfig(`cfg.chain${chain}`, [], 'offsite', identity);
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
      const cut = await push(relayConfig(relay.port, identity));
      await relay.close();
      t.log(`  cut run: exit ${cut.code} after ${relay.passed()} bytes: ${cut.stderr.trim().split('\n').pop() ?? ''}`);
      // A cut run either finished before the cut or failed cleanly: 69 (connection lost) with one
      // clear line, never a crash (70) or a usage error. (The stream's connection logs in beside the
      // first, and the relay counts both: a cut may fall while a remote command is being started.) (On a very busy machine the relay may pass
      // nothing for the whole ConnectTimeout: then the link went silent while connecting.)
      if (cut.code !== 0) {
        t.is(cut.code, 69, cut.stderr);
        t.regex(cut.stderr, /^cyber-zfs-backup: (push of .* failed after [\d.]+ MiB: the connection closed without an exit status|cannot connect to|the link to offsite .* went silent while connecting|listing .* on the receiving host did not finish: the connection was lost|the connection to offsite .* was lost before (a remote command|the remote receive) could start \(.*\); check the link to the offsite host)/m);
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

/** An ssh_config for `Host offsite` through the relay on this port, its host key recorded for that port. */
function relayConfig(port: number, identity?: string): string {
  const kh = join(bed.sshd.dir, `known_hosts.relay${port}`);
  writeFileSync(kh, `${bed.sshd.hostKeyLine.replace(`:${bed.sshd.port} `, `:${port} `)}\n`);
  // These runs are cut or held on purpose; on a busy machine a hold (or this process, stalled by
  // other tests' zfs calls) can outlast the default keepalives (40 s), which would then rightly call
  // the link silent (links-silent.test.ts tests that): here keepalives are set long, explicitly.
  return bed.sshd.writeConfig(`cfg.relay${port}`, [`Port ${port}`, `UserKnownHostsFile ${kh}`, 'ServerAliveInterval 300'], 'offsite', identity);
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
  const pushVia = (config: string, ...extra: string[]) =>
    runCliAsync(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', config, ...extra]);
  const push = () => pushVia(bed.sshd.config);
  const first = await pushVia(bed.sshd.config, '--force-non-incremental');
  if (first.code !== 0) throw new Error(first.stderr);
  for (let i = 0; i < mib; i += 8) writeRandomFile(join(mnt, 'a'), `big${i}.bin`, 8 * 1048576);
  zfs('snapshot', '-r', `${local}@2026-10-02T00:00:00Z`);
  return { local, receive, receiverPool, mnt, push, pushVia };
}

const HOLD_AFTER = 4 * 1048576;

/**
 * Runs the pair's next push through a relay that holds the stream after HOLD_AFTER bytes, so zfs send
 * and zfs receive are both alive mid-stream; kills (by PID) the process with these arguments, then lets
 * the stream go on. Fails with the run's output if the run ends before the hold.
 */
async function pushAndKill(p: Awaited<ReturnType<typeof loadedPair>>, words: string[]): Promise<{ code: number; stderr: string }> {
  const relay = await startRelay(bed.sshd.port, { holdAfter: HOLD_AFTER });
  try {
    const run = p.pushVia(relayConfig(relay.port));
    const first = await Promise.race([relay.held().then(() => undefined), run]);
    if (first) throw new Error(`the run ended (exit ${first.code}) before the stream was held: ${first.stderr}`);
    const pids = pidsWithArgs(words);
    const pid = pids[0];
    if (pid === undefined || pids.length > 1) throw new Error(`expected one process with ${words.join(' ')} while the stream is held, found ${pids.length}`);
    process.kill(pid, 'SIGKILL');
    relay.release();
    return await run;
  } finally {
    await relay.close();
  }
}

// These three run one at a time (before the chains, which run together): each holds a stream, and
// with it two of zfs-fuse's 8 daemon threads for sends and receives (see links-silent.test.ts).
test.serial('killing the remote zfs receive mid-stream: exit 75 with one line; the next run makes an exact mirror', async (t) => {
  const p = await loadedPair(64);
  const r = await pushAndKill(p, ['receive', p.receive]);
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /zfs receive on the receiving host was killed \((SIG)?KILL\)/);
  const heal = await p.push();
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(fingerprintReceived(p.receive, mkdtempSync(join(p.receiverPool.dir, 'mnt-'))), fingerprintMounted(p.mnt));
});

test.serial('killing the local zfs send mid-stream: exit 75 naming both sides; the next run makes an exact mirror', async (t) => {
  const p = await loadedPair(64);
  // zfs-fuse's zfs rewrites its own argv (the @ of a snapshot becomes a NUL), so the dataset stands alone there.
  const r = await pushAndKill(p, ['send', '-R', p.local]);
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /zfs send was stopped \(SIGKILL\), so the receiver got a cut stream \(zfs receive exited \d+/);
  const heal = await p.push();
  t.is(heal.code, 0, heal.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(fingerprintReceived(p.receive, mkdtempSync(join(p.receiverPool.dir, 'mnt-'))), fingerprintMounted(p.mnt));
});

test.serial('filling the receive pool: exit 73 saying to free space, sender unchanged; after freeing space the next push succeeds', async (t) => {
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
