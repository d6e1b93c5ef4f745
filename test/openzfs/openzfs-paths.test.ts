// OpenZFS-only paths through the built CLI, run in the OpenZFS guest by `npm run test:openzfs`: comma destroys, -p, send -L -e -c / -w, receive -o, resume.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, type CliResult } from '../bed/cli';
import { createPool, snapshotsByDataset, treeSignature, zfs, zfsTry, type TestPool } from '../bed/pools';
import { startSshd, type TestSshd } from '../bed/sshd';

// The CLI runs on Debian's node 18 in the guest (guest-tests.sh sets CZB_CLI_NODE), ava on node 20.
const CLI_NODE = process.env.CZB_CLI_NODE ?? process.execPath;
const HOST = hostname().split('.')[0] ?? 'localhost';
const MIB = 1024 * 1024;

let sshd: TestSshd;
const pools: TestPool[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'czb-ozfs-'));

test.before(async (t) => {
  // Not a skip: this file exists to test OpenZFS, so anything else is a broken setup.
  const version = zfsTry('version');
  if (version.status !== 0) throw new Error(`zfs here is not OpenZFS ("zfs version" failed: ${version.stderr.trim()}); run this file with "sudo npm run test:openzfs"`);
  t.log(`${version.stdout.trim().replace(/\n/g, ', ')}; CLI on node ${spawnSync(CLI_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  sshd = await startSshd();
});
test.after.always(async () => {
  pools.forEach((p) => p.destroy());
  await sshd?.stop();
});

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

/** A `zfs` for CYBER_ZFS_BACKUP_ZFS that appends each argv to a log, then runs the real one. */
function loggingZfs(name: string): { program: string; lines(): string[] } {
  const log = join(scratch, `${name}.argv`);
  const program = join(scratch, `${name}.zfs`);
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
  push(extra?: string[], env?: NodeJS.ProcessEnv): CliResult;
}

/** Sender tree (root, a, a/b) mounted under a temp dir with one snapshot; receiver pool with its parent dataset. */
function pair(options: { encrypted?: boolean; receiverSize?: string } = {}): Pair {
  const localPool = createPool('czbos', '512M');
  const receiverPool = createPool('czbor', options.receiverSize ?? '512M');
  pools.push(localPool, receiverPool);
  const local = `${localPool.name}/host`;
  const mnt = mkdtempSync(join(scratch, 'mnt-'));
  if (options.encrypted) {
    const key = join(scratch, `${localPool.name}.key`);
    writeFileSync(key, 'correct horse battery staple\n', { mode: 0o600 });
    zfs('create', '-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', `keylocation=file://${key}`, '-o', `mountpoint=${mnt}`, local);
  } else {
    zfs('create', '-o', `mountpoint=${mnt}`, local);
  }
  for (const ds of ['a', 'a/b']) zfs('create', `${local}/${ds}`);
  writeFileSync(join(mnt, 'root.txt'), 'root\n');
  writeFileSync(join(mnt, 'a', 'a.txt'), 'a\n');
  zfs('create', `${receiverPool.name}/offsite`);
  const receive = `${receiverPool.name}/offsite/host`;
  zfs('snapshot', '-r', `${local}@2026-11-01T00:00:00Z`);
  return {
    local,
    receive,
    localPool,
    receiverPool,
    mnt,
    push: (extra = [], env = {}) => cli(['--action', 'push', '--dataset', local, '--zfs-receive-dataset', receive, '--ssh-config', sshd.config, ...extra], env),
  };
}

function writeRandom(path: string, bytes: number): void {
  // Incompressible, so the stream is as large as the data (a pattern would shrink under -c).
  const fd = spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${Math.ceil(bytes / MIB)}`, 'status=none']);
  if (fd.status !== 0) throw new Error(`dd failed: ${fd.stderr}`);
}

/** A loopback TCP relay to the test sshd that resets both sides once `cutAfter` bytes have passed (both directions). */
async function cuttingRelay(cutAfter: number): Promise<{ config: string; passed(): number; close(): Promise<void> }> {
  let total = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(sshd.port, '127.0.0.1');
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
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const knownHosts = join(sshd.dir, `known_hosts.relay${port}`);
  writeFileSync(knownHosts, sshd.hostKeyLine.replace(`]:${sshd.port} `, `]:${port} `) + '\n');
  return {
    config: sshd.writeConfig(`cfg.relay${port}`, [`Port ${port}`, `UserKnownHostsFile ${knownHosts}`]),
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

test.serial('expire destroys all planned snapshots with ONE comma-list destroy command (--debug shows it)', (t) => {
  const pool = createPool('czbod');
  pools.push(pool);
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
  const printed = new Map([...r.stderr.matchAll(/@(\S+)  guid (\d+)/g)].map((m) => [m[1] as string, m[2] as string]));
  const listed = new Map<string, string>();
  for (const root of [p.local, p.receive]) {
    for (const line of zfs('list', '-H', '-p', '-o', 'name,guid', '-t', 'snapshot', '-r', '-d', '1', root).trim().split('\n')) {
      const [name, guid] = line.split('\t') as [string, string];
      listed.set(`${name.split('@')[1]}|${guid}`, guid);
    }
  }
  t.true(printed.size >= 2, r.stderr);
  const guids = [...r.stderr.matchAll(/@(\S+)  guid (\d+)/g)].map((m) => `${m[1]}|${m[2]}`);
  for (const g of guids) t.true(listed.has(g), `printed ${g} is what zfs list -p says`);
  t.true(guids.some((g) => BigInt(g.split('|')[1] as string) > BigInt(Number.MAX_SAFE_INTEGER)), 'at least one GUID above 2^53 came through exactly');
});

test.serial('push uses send -L -e -c on OpenZFS (argv seen by a zfs wrapper), and the dry run shows them', (t) => {
  const p = pair();
  const z = loggingZfs('lec');
  const dry = p.push(['--force-non-incremental', '--dry-run'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /dry run: would send .*: zfs send -R -L -e -c \S+@2026-11-01T00:00:00Z/);
  const r = p.push(['--force-non-incremental'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  t.is(r.code, 0, r.stderr);
  const sends = z.lines().filter((l) => l.startsWith('send ') && !l.includes(' -n '));
  t.log(`send argv: ${JSON.stringify(sends)}`);
  t.deepEqual(sends, [`send -R -L -e -c ${p.local}@2026-11-01T00:00:00Z`]);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

test.serial('--debug shows the argv of the real zfs send and the remote zfs receive command', (t) => {
  const p = pair();
  const r = p.push(['--force-non-incremental', '--debug']);
  t.is(r.code, 0, r.stderr);
  logRun(t, 'push --debug', r);
  const send = debugArgvs(r.stderr).find((a) => a[1] === 'send' && !a.includes('-n'));
  t.truthy(send, 'a debug line with the send argv');
  t.deepEqual(send, ['zfs', 'send', '-R', '-L', '-e', '-c', `${p.local}@2026-11-01T00:00:00Z`]);
  t.regex(r.stderr, /debug: .*zfs receive -F -u -o canmount=noauto -o readonly=on -o mountpoint=\/srv\/backup\/\S+ \S+/, 'a debug line with the remote receive command');
});

test.serial('receive -o: the received tree gets canmount=noauto, readonly=on and the mountpoint, and nothing mounts', (t) => {
  const p = pair();
  const r = p.push(['--force-non-incremental', '--debug']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /"receiveSetsProperties":true/, 'the capability parser saw receive -o');
  zfs('create', `${p.local}/new-child`);
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const inc = p.push();
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
    t.true(readonly.includes(`${p.receive}/${rel}\ton\tinherited from ${p.receive}`), `readonly on ${rel}`);
    t.true(mountpoint.includes(`${p.receive}/${rel}\t${mp}/${rel}\tinherited from ${p.receive}`), `mountpoint of ${rel}`);
  }
  t.deepEqual(propTree(p.receive, 'mounted').map((l) => l.split('\t')[1]), ['no', 'no', 'no', 'no']);
});

test.serial('-w: an encrypted tree is sent raw and arrives still encrypted, key not loaded; incrementals follow', (t) => {
  const p = pair({ encrypted: true });
  const z = loggingZfs('raw');
  const r = p.push(['--force-non-incremental', '-v'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  logRun(t, 'full push of an encrypted tree', r);
  t.log(`send argv: ${JSON.stringify(z.lines().filter((l) => l.startsWith('send ')))}`);
  t.is(r.code, 0, 'the full push of an encrypted tree succeeds');
  t.true(z.lines().some((l) => /^send -R .*-w/.test(l)), 'zfs send ran with -w');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  for (const line of propTree(p.receive, 'encryption')) t.not(line.split('\t')[1], 'off', line);
  t.is(prop(p.receive, 'keystatus'), 'unavailable', 'the receiver never had the key');
  t.is(prop(p.receive, 'encryptionroot'), p.receive);
  writeFileSync(join(p.mnt, 'a', 'more.txt'), 'more\n');
  zfs('snapshot', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  const inc = p.push(['-v'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  t.is(inc.code, 0, inc.stderr);
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
});

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
  t.log(`resume tokens on the receiver after the cut: ${JSON.stringify(tokens)}`);
  const z = loggingZfs('resume');
  const heal = p.push(['-v', '--debug'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  logRun(t, 'the next push', heal);
  t.log(`local zfs argv of the next push: ${JSON.stringify(z.lines().filter((l) => l.startsWith('send')))}`);
  t.not(cut.code, 0, 'the cut push fails');
  t.is(tokens.length, 1, 'the cut receive left a resume token (zfs receive -s)');
  t.is(heal.code, 0, heal.stderr);
  t.true(z.lines().some((l) => /^send (.* )?-t \S+/.test(l)), 'the next push resumed with zfs send -t TOKEN');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
});

/** A partial receive of @2026-11-02 into the receiver's root left by an interrupted `zfs receive -s`. */
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
  const z = loggingZfs('resume2');
  const r = p.push(['-v', '--debug'], { CYBER_ZFS_BACKUP_ZFS: z.program });
  logRun(t, 'push onto a partial receive', r);
  t.log(`local send argv: ${JSON.stringify(z.lines().filter((l) => l.startsWith('send')))}`);
  t.is(r.code, 0);
  t.true(z.lines().some((l) => /^send (.* )?-t \S+/.test(l)), 'resumed with zfs send -t TOKEN');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
});

test.serial('a partial receive that cannot be resumed (its snapshot was expired) is aborted with receive -A, then the push completes', (t) => {
  const p = pair();
  t.is(p.push(['--force-non-incremental']).code, 0);
  partialReceive(p);
  t.is(resumeTokens(p.receive).length, 1, 'setup: the receiver holds a partial receive');
  zfs('destroy', '-r', `${p.local}@2026-11-02T00:00:00Z`);
  zfs('snapshot', '-r', `${p.local}@2026-11-03T00:00:00Z`);
  const r = p.push(['-v', '--debug']);
  logRun(t, 'push onto a partial receive whose snapshot is gone', r);
  t.is(r.code, 0);
  t.regex(r.stderr, /receive -A/, 'the log says the partial receive was aborted');
  t.deepEqual(treeSignature(p.receive), treeSignature(p.local));
  t.deepEqual(resumeTokens(p.receive), []);
});
