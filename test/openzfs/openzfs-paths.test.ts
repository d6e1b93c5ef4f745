// OpenZFS-only paths through the built CLI, run in the OpenZFS guest by `npm run test:openzfs`: comma destroys, -p, send -L -e -c / -w, receive -o, resume.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CLI, type CliResult } from '../bed/cli';
import { useBed } from '../bed/fixture';
import { snapshotsByDataset, treeSignature, zfs, zfsTry, type TestPool } from '../bed/pools';

// The CLI runs on Debian's node 18 in the guest (guest-tests.sh sets CZB_CLI_NODE), ava on node 20.
const CLI_NODE = process.env.CZB_CLI_NODE ?? process.execPath;
const HOST = hostname().split('.')[0] ?? 'localhost';
const MIB = 1024 * 1024;

test.before((t) => {
  // Not a skip: this file exists to test OpenZFS, so anything else is a broken setup.
  const version = zfsTry('version');
  if (version.status !== 0) throw new Error(`zfs here is not OpenZFS ("zfs version" failed: ${version.stderr.trim()}); run this file with "sudo npm run test:openzfs"`);
  t.log(`${version.stdout.trim().replace(/\n/g, ', ')}; CLI on node ${spawnSync(CLI_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
});
const bed = useBed(test);

function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.JOURNAL_STREAM;
  return env;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(CLI_NODE, [CLI, ...args], { encoding: 'utf8', env: cliEnv(env), timeout: 600_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Same, without blocking the event loop (the cutting relay runs in this process). */
function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(CLI_NODE, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The argv of every `running zfs` debug line (the CLI logs argv=[...] as JSON). */
function debugArgvs(stderr: string): string[][] {
  return [...stderr.matchAll(/running zfs.*argv=(\[.*\])/g)].map((m) => JSON.parse(m[1] as string) as string[]);
}

/** A `zfs` for CYBER_ZFS_BACKUP_ZFS that appends each argv to a log (in `dir`), then runs the real one. */
function loggingZfs(dir: string): { program: string; lines(): string[] } {
  const log = join(dir, 'zfs.argv');
  const program = join(dir, 'zfs-logging');
  writeFileSync(log, '');
  writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec zfs "$@"\n`);
  chmodSync(program, 0o755);
  return { program, lines: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

function prop(dataset: string, property: string): string {
  return zfs('get', '-H', '-p', '-o', 'value', property, dataset).trim();
}

/** `name value` for one property on every filesystem of a tree. */
function propTree(root: string, property: string): string[] {
  return zfs('get', '-H', '-p', '-o', 'name,value,source', '-t', 'filesystem', '-r', property, root).trim().split('\n');
}

function resumeTokens(root: string): string[] {
  const r = zfsTry('get', '-H', '-o', 'name,value', '-r', 'receive_resume_token', root);
  return r.stdout.split('\n').filter((l) => l && !l.endsWith('\t-'));
}

interface Pair {
  local: string;
  receive: string;
  localPool: TestPool;
  receiverPool: TestPool;
  mnt: string;
  /** Every local zfs argv of the pushes (they run through loggingZfs). */
  zfsArgv(): string[];
  push(extra?: string[], env?: NodeJS.ProcessEnv): CliResult;
}

/**
 * Sender tree (root, a, a/b) mounted in its pool's temp dir, with one snapshot; receiver pool with
 * its parent dataset. `encrypted`: the whole tree ('root') or only child a ('child') is encrypted.
 */
function pair(options: { encrypted?: 'root' | 'child' } = {}): Pair {
  const localPool = bed.pool('czbos', '512M');
  const receiverPool = bed.pool('czbor', '512M');
  const local = `${localPool.name}/host`;
  const mnt = join(localPool.dir, 'mnt');
  mkdirSync(mnt);
  const key = join(localPool.dir, 'passphrase');
  writeFileSync(key, 'correct horse battery staple\n', { mode: 0o600 });
  const crypt = ['-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', `keylocation=file://${key}`];
  zfs('create', ...(options.encrypted === 'root' ? crypt : []), '-o', `mountpoint=${mnt}`, local);
  zfs('create', ...(options.encrypted === 'child' ? crypt : []), `${local}/a`);
  zfs('create', `${local}/a/b`);
  writeFileSync(join(mnt, 'root.txt'), 'root\n');
  writeFileSync(join(mnt, 'a', 'a.txt'), 'a\n');
  zfs('create', `${receiverPool.name}/offsite`);
  const receive = `${receiverPool.name}/offsite/host`;
  zfs('snapshot', '-r', `${local}@2026-11-01T00:00:00Z`);
  const z = loggingZfs(localPool.dir);
  return {
    local,
    receive,
    localPool,
    receiverPool,
    mnt,
    zfsArgv: z.lines,
    push: (extra = [], env = {}) => cli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', bed.sshd.config, ...extra], { CYBER_ZFS_BACKUP_ZFS: z.program, ...env }),
  };
}

function writeRandom(path: string, bytes: number): void {
  // Incompressible, so the stream is as large as the data (a pattern would shrink under -c).
  const r = spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${Math.ceil(bytes / MIB)}`, 'status=none'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
}

/** A loopback TCP relay to the test sshd that resets both sides once `cutAfter` bytes have passed (both directions). */
async function cuttingRelay(cutAfter: number): Promise<{ config: string; passed(): number; close(): Promise<void> }> {
  let total = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(bed.sshd.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (total + chunk.length >= cutAfter) {
          total = cutAfter;
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          return;
        }
        total += chunk.length;
        to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // a failed test must not keep its test process alive
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const knownHosts = join(bed.sshd.dir, `known_hosts.relay${port}`);
  writeFileSync(knownHosts, bed.sshd.hostKeyLine.replace(`]:${bed.sshd.port} `, `]:${port} `) + '\n');
  return {
    config: bed.sshd.writeConfig(`cfg.relay${port}`, [`Port ${port}`, `UserKnownHostsFile ${knownHosts}`]),
    passed: () => total,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function logRun(t: ExecutionContext, what: string, r: CliResult): void {
  t.log(`${what}: exit ${r.code}\n${r.stderr.trim()}`);
}

/** The local `zfs send` argv lines a pair's pushes ran (dry-run size estimates with -n left out). */
function sends(p: Pair): string[] {
  return p.zfsArgv().filter((l) => l.startsWith('send ') && !/ -n( |$)/.test(l));
}

/** The remote commands `--debug` showed (`remote="..."`). */
function remoteCommands(stderr: string): string[] {
  return [...stderr.matchAll(/remote=("(?:[^"\\]|\\.)*"|\S+)/g)].map((m) => (m[1]?.startsWith('"') ? (JSON.parse(m[1]) as string) : (m[1] as string)));
}

test.serial('expire destroys all planned snapshots with ONE comma-list destroy command (--debug shows it)', (t) => {
  const pool = bed.pool('czbod');
  const root = `${pool.name}/host`;
  for (const ds of [root, `${root}/a`, `${root}/a/b`]) zfs('create', ds);
  const names = Array.from({ length: 8 }, (_, h) => `2026-11-20T0${h}:00:00Z`);
  for (const n of names) zfs('snapshot', '-r', `${root}@${n}`);
  const r = cli(['--action', 'expire', '--dataset', root, '--force-destroy-lots', '--debug']);
  t.is(r.code, 0, r.stderr);
  const destroys = debugArgvs(r.stderr).filter((a) => a[1] === 'destroy');
  t.log(`destroy commands: ${JSON.stringify(destroys)}`);
  t.is(destroys.length, 1, 'one destroy command for the whole plan');
  const [argv] = destroys as [string[]];
  t.deepEqual(argv.slice(0, 3), ['zfs', 'destroy', '-r']);
  const [ds, list] = (argv[3] as string).split('@') as [string, string];
  t.is(ds, root);
  t.deepEqual(list.split(',').sort(), names.slice(0, 7).sort(), 'the comma list carries the 7 expired snapshots');
  for (const [rel, snaps] of snapshotsByDataset(root)) t.deepEqual(snaps, [names[7]], `dataset ${rel || '(root)'}`);
});

test.serial('-p parsing: the CLI reads exact 64-bit GUIDs (zfs get -p) and they match zfs list -p', (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  // Replace the sender's history (same names, new GUIDs) so the refusal prints both sides' GUIDs.
  zfs('release', '-r', `cyber-zfs-backup:offsite:${p.receive}`, `${p.local}@2026-11-01T00:00:00Z`);
  zfs('destroy', '-r', p.local);
  zfs('create', '-o', 'mountpoint=none', p.local);
  for (const n of ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z']) zfs('snapshot', '-r', `${p.local}@${n}`);
  const r = p.push(['--debug']);
  t.is(r.code, 65, r.stderr);
  t.regex(r.stderr, /"listParsable":true/, 'the capability parser saw list -p');
  const listed = new Set<string>();
  for (const root of [p.local, p.receive]) {
    for (const line of zfs('list', '-H', '-p', '-o', 'name,guid', '-t', 'snapshot', '-r', '-d', '1', root).trim().split('\n')) {
      const [name, guid] = line.split('\t') as [string, string];
      listed.add(`${name.split('@')[1]} ${guid}`);
    }
  }
  const printed = [...r.stderr.matchAll(/@(\S+)  guid (\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
  t.log(`GUIDs in the refusal: ${printed.join(', ')}`);
  t.true(printed.length >= 2, r.stderr);
  for (const g of printed) t.true(listed.has(g), `printed "${g}" is what zfs list -p says`);
  t.true(printed.some((g) => BigInt(g.split(' ')[1] as string) > BigInt(Number.MAX_SAFE_INTEGER)), 'at least one GUID above 2^53 came through exactly');
});

test.serial('push uses send -L -e -c on OpenZFS (argv seen by a zfs wrapper), and the dry run shows them', (t) => {
  const p = pair();
  const dry = p.push(['--force-non-incremental', '--dry-run']);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /dry run: would send .*, about [\d.]+ MiB: zfs send -R -L -e -c \S+@2026-11-01T00:00:00Z/);
  const r = p.push(['--force-non-incremental']);
  t.is(r.code, 0, r.stderr);
  t.log(`send argv: ${JSON.stringify(sends(p))}`);
  t.deepEqual(sends(p), [`send -R -L -e -c ${p.local}@2026-11-01T00:00:00Z`]);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test.serial('--debug shows the remote zfs receive command and the argv of the real zfs send', (t) => {
  const p = pair();
  const r = p.push(['--force-non-incremental', '--debug']);
  t.is(r.code, 0, r.stderr);
  logRun(t, 'push --debug', r);
  const receive = remoteCommands(r.stderr).find((c) => / zfs receive /.test(c));
  t.regex(receive ?? '', new RegExp(`^env PATH=\\S+ zfs receive -F -u -s -o canmount=noauto -o readonly=on -o mountpoint=/srv/backup/${HOST} ${p.receive}(; s=\\$\\?; if .*)?$`), 'a debug line with the remote receive command');
  const send = debugArgvs(r.stderr).find((a) => a[1] === 'send' && !a.includes('-n'));
  t.deepEqual(send?.slice(1), ['send', '-R', '-L', '-e', '-c', `${p.local}@2026-11-01T00:00:00Z`], 'a debug line with the argv of zfs send');
});

test.serial('receive -o: the received tree gets canmount=noauto, readonly=on and the mountpoint (a child mounted elsewhere, writable, on the sender too), and nothing mounts', (t) => {
  const p = pair();
  zfs('set', `mountpoint=${join(p.localPool.dir, 'mnt-a-elsewhere')}`, `${p.local}/a`);
  zfs('set', 'readonly=off', `${p.local}/a`);
  const r = p.push(['--force-non-incremental', '--debug']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /"receiveSetsProperties":true/, 'the capability parser saw receive -o');
  const sets = remoteCommands(r.stderr).filter((c) => / zfs set /.test(c));
  t.log(`zfs set after the receive: ${JSON.stringify(sets)}`);
  t.false(sets.some((c) => c.endsWith(` ${p.receive}`)), 'the receive dataset itself needs no zfs set: receive -o did it');
  zfs('create', `${p.local}/new-child`);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const inc = p.push(['--debug']);
  t.is(inc.code, 0, inc.stderr);
  const mp = `/srv/backup/${HOST}`;
  const canmount = propTree(p.receive, 'canmount');
  const readonly = propTree(p.receive, 'readonly');
  const mountpoint = propTree(p.receive, 'mountpoint');
  t.log(['canmount', ...canmount, 'readonly', ...readonly, 'mountpoint', ...mountpoint].join('\n'));
  t.is(canmount[0], `${p.receive}\tnoauto\tlocal`);
  t.is(readonly[0], `${p.receive}\ton\tlocal`);
  t.is(mountpoint[0], `${p.receive}\t${mp}\tlocal`);
  for (const rel of ['a', 'a/b', 'new-child']) {
    const ds = `${p.receive}/${rel}`;
    t.true(canmount.some((l) => l.startsWith(`${ds}\tnoauto\t`)), `canmount of ${rel}`);
    t.true(readonly.some((l) => l.startsWith(`${ds}\ton\t`)), `readonly on ${rel}`);
    t.true(mountpoint.some((l) => l.startsWith(`${ds}\t${mp}/${rel}\t`)), `mountpoint of ${rel}`);
  }
  t.deepEqual(propTree(p.receive, 'mounted').map((l) => l.split('\t')[1]), ['no', 'no', 'no', 'no']);
});

for (const where of ['root', 'child'] as const) {
  test.serial(`-w: a tree with ${where === 'root' ? 'an encrypted root' : 'only one encrypted child'} is sent raw and arrives encrypted, key not loaded; incrementals follow`, (t) => {
    const p = pair({ encrypted: where });
    const encrypted = where === 'root' ? p.receive : `${p.receive}/a`;
    const r = p.push(['--force-non-incremental', '-v']);
    logRun(t, 'full push', r);
    t.log(`send argv: ${JSON.stringify(sends(p))}`);
    t.is(r.code, 0, 'the full push succeeds');
    t.regex(sends(p)[0] ?? '', /^send -R .*-w/, 'zfs send ran with -w');
    t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
    t.not(prop(encrypted, 'encryption'), 'off');
    t.is(prop(encrypted, 'keystatus'), 'unavailable', 'the receiver never had the key');
    t.is(prop(encrypted, 'encryptionroot'), encrypted);
    writeFileSync(join(p.mnt, 'a', 'more.txt'), 'more\n');
    zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
    const inc = p.push(['-v']);
    t.is(inc.code, 0, inc.stderr);
    t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  });
}

test.serial('a push cut mid-stream leaves a resumable receive (receive -s); the next run resumes it with send -t', async (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  writeRandom(join(p.mnt, 'big.bin'), 12 * MIB);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const relay = await cuttingRelay(5 * MIB);
  const cut = await cliAsync(['--action', 'push', '--dataset', p.local, '--zfs-receive-dataset', p.receive, '--ssh-config', relay.config]);
  await relay.close();
  logRun(t, `push cut after ${relay.passed()} bytes`, cut);
  const tokens = resumeTokens(p.receive);
  t.log(`resume tokens on the receiver after the cut: ${JSON.stringify(tokens.map((l) => l.slice(0, 60)))}`);
  const before = sends(p).length;
  const heal = p.push(['-v']);
  logRun(t, 'the next push', heal);
  t.log(`send argv of the next push: ${JSON.stringify(sends(p).slice(before))}`);
  t.not(cut.code, 0, 'the cut push fails');
  t.is(tokens.length, 1, 'the cut receive left a resume token (zfs receive -s)');
  t.is(heal.code, 0, heal.stderr);
  t.regex(sends(p)[before] ?? '', /^send -t \S+$/, 'the next push first resumed with zfs send -t TOKEN');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
});

/** A partial receive of @2026-11-02 into the receiver's root, left by an interrupted `zfs receive -s`. */
function partialReceive(p: Pair): void {
  writeRandom(join(p.mnt, 'big.bin'), 8 * MIB);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  spawnSync('sh', ['-c', 'zfs send -I @2026-11-01T00:00:00Z "$1" | head -c 3000000 | zfs receive -s -u "$2"', 'sh', `${p.local}@2026-11-02T00:00:00Z`, p.receive], { stdio: 'ignore' });
}

test.serial('a partial receive (receive -s) whose snapshot still exists is resumed with send -t, then the push completes', (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  partialReceive(p);
  t.is(resumeTokens(p.receive).length, 1, 'setup: the receiver holds a partial receive');
  const before = sends(p).length;
  const r = p.push(['-v']);
  logRun(t, 'push onto a partial receive', r);
  t.log(`send argv: ${JSON.stringify(sends(p).slice(before))}`);
  t.is(r.code, 0);
  t.regex(sends(p)[before] ?? '', /^send -t \S+$/, 'resumed with zfs send -t TOKEN');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
});

// What a resume brought in is kept: the datasets still behind are brought forward on their own
// (per-dataset catch-up), so nothing is rolled back and sent again. A plain `send -R -I @base` over a
// root that is already ahead is not safe on OpenZFS 2.1 (it can skip a snapshot and exit 0).
test.serial('what a resume brought in is kept: no rollback of the resumed dataset, only the rest of the tree is sent', (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  partialReceive(p);
  const r = p.push(['-v']);
  logRun(t, 'push onto a partial receive', r);
  t.is(r.code, 0);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.notRegex(r.stderr, /rolling \S+ back to/, 'the resumed snapshot is not rolled back to be sent again');
  t.regex(r.stderr, /bringing \S+ forward from @2026-11-01T00:00:00Z to @2026-11-02T00:00:00Z/, 'the children catch up on their own');
  // The root's 8 MiB crossed once (most of it before the cut, the rest resumed); the children's
  // increments are a few KiB.
  const pushed = [...r.stderr.matchAll(/pushed .*: (\d+) bytes in/g)].map((m) => Number(m[1]));
  const total = pushed.reduce((a, b) => a + b, 0);
  t.true(pushed.length > 0 && total < 1 * MIB, `after the resume only the rest is sent (${pushed.join(' + ')} bytes)`);
});

test.serial('a partial receive that cannot be resumed (its snapshot was expired) is aborted with receive -A, says why, then the push completes', (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  partialReceive(p);
  t.is(resumeTokens(p.receive).length, 1, 'setup: the receiver holds a partial receive');
  zfs('destroy', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  zfs('snapshot', '-r', `${p.local}@2026-11-03T00:00:00Z`);
  const r = p.push(['-v', '--debug']);
  logRun(t, 'push onto a partial receive whose snapshot is gone', r);
  t.is(r.code, 0);
  t.true(remoteCommands(r.stderr).some((c) => c.endsWith(`zfs receive -A ${p.receive}`)), 'the partial receive was aborted with zfs receive -A');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
  // zfs send -t says why ("... used in the initial send no longer exists"); the receiver only sees an empty stream.
  t.regex(r.stderr, /no longer exists/, 'the warning gives the sender\'s reason the resume was impossible');
});
