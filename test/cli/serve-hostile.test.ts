// A compromised sender against serve: its push key used by plain ssh (not through the tool); every attempt is refused with its line, logged, and no tree on the offsite host changes.
import test from 'ava';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { runCli } from '../bed/cli';
import { useBed } from '../bed/fixture';
import { poolState, snapshotsByDataset, treeSignature, zfs, type TestPool } from '../bed/pools';
import type { ServeKey } from '../bed/sshd';

const bed = useBed(test);
const P1 = 'cyber-zfs-backup-serve/1';
const DAY1 = '2026-11-01T00:00:00Z';
const DAY2 = '2026-11-02T00:00:00Z';

interface World {
  offsite: TestPool;
  /** This key's root (zippy), another host's tree (zappy, pushed by the plain root key), their parent. */
  own: string;
  other: string;
  parent: string;
  key: ServeKey;
  /** An append-only key on its own root, and the sender that pushes there. */
  appendRoot: string;
  appendKey: ServeKey;
  appendSender: string;
}

let world: World | undefined;

/** The offsite host with three received trees, set up once for the file (the bed's sshd must be up first). */
function setUp(): World {
  const offsite = bed.pool('czbsho', '512M');
  const senders = bed.pool('czbshs');
  const parent = `${offsite.name}/backup`;
  zfs('create', parent);
  const own = `${parent}/zippy`;
  const other = `${parent}/zappy`;
  const appendRoot = `${parent}/zoppy`;
  const key = bed.sshd.addServeKey('hostile', ['--root', own]);
  const appendKey = bed.sshd.addServeKey('hostile-append', ['--root', appendRoot, '--append-only']);
  for (const name of ['zippy', 'zappy', 'zoppy']) {
    const local = `${senders.name}/${name}`;
    zfs('create', local);
    zfs('create', `${local}/a`);
    zfs('create', `${local}/c`);
    zfs('snapshot', '-r', `${local}@${DAY1}`);
    zfs('snapshot', '-r', `${local}@${DAY2}`);
  }
  const push = (name: string, receive: string, config: string) => {
    const r = runCli(['--action', 'push', '--dataset', `${senders.name}/${name}`, '--zfs-receive-dataset', receive, '--ssh-config', config, '--force-non-incremental']);
    if (r.code !== 0) throw new Error(r.stderr);
  };
  push('zippy', own, key.config);
  push('zappy', other, bed.sshd.config);
  push('zoppy', appendRoot, appendKey.config);
  return { offsite, own, other, parent, key, appendRoot, appendKey, appendSender: `${senders.name}/zoppy` };
}

const w = (): World => (world ??= setUp());

function ssh(config: string, args: string[], input?: Buffer): SpawnSyncReturns<string> {
  return spawnSync('ssh', ['-F', config, ...args], { input: input ?? Buffer.alloc(0), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1048576 });
}

/** One request with this key, exactly as typed after `ssh offsite`. */
const as = (command: string, input?: Buffer) => () => ssh(w().key.config, ['offsite', command], input);

/** NUL cannot travel in an argv: a raw SSH client sends it. */
function execRaw(command: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    client.on('error', (e) => resolve({ status: null, stderr: e.message }));
    client.on('ready', () =>
      client.exec(command, (error, channel) => {
        if (error) {
          client.end();
          return resolve({ status: null, stderr: error.message });
        }
        let stderr = '';
        let status: number | null = null;
        channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        channel.on('exit', (code: number) => (status = code));
        channel.on('close', () => {
          client.end();
          resolve({ status, stderr });
        });
        channel.end();
      }),
    );
    client.connect({ host: '127.0.0.1', port: bed.sshd.port, username: 'root', privateKey: readFileSync(w().key.key), hostVerifier: () => true });
  });
}

interface HostileCase {
  title: string;
  run: () => SpawnSyncReturns<string> | Promise<{ status: number | null; stderr: string }>;
  /** serve refuses (77, its line on stderr and in its log), or sshd stops it before serve sees anything. */
  by: 'serve' | 'sshd';
  expect: RegExp;
}

const stream = (snapshot: string) => execFileSync('zfs', ['send', '-R', snapshot], { maxBuffer: 64 * 1048576 });

const cases: HostileCase[] = [
  { title: 'zfs destroy of its own tree', run: () => as(`zfs destroy -r ${w().own}`)(), by: 'serve', expect: /not a cyber-zfs-backup request/ },
  { title: "zfs destroy of another host's tree", run: () => as(`zfs destroy -r ${w().other}`)(), by: 'serve', expect: /not a cyber-zfs-backup request/ },
  { title: "serve's repair destroy of another host's dataset", run: () => as(`${P1} repair destroy=${w().other}/a`)(), by: 'serve', expect: /outside this key's root/ },
  { title: "receive -F of a stream into another host's root", run: () => as(`${P1} receive ${w().other} mode=tree mountpoint=/srv/backup/zappy`, stream(`${w().appendSender}@${DAY2}`))(), by: 'serve', expect: /outside this key's root/ },
  { title: 'receive with -F smuggled in as a word', run: () => as(`${P1} receive ${w().own} -F mode=tree mountpoint=/srv/backup/zippy`)(), by: 'serve', expect: /unexpected word "-F"/ },
  { title: 'rollback outside the root', run: () => as(`${P1} repair rollback=${w().other}@${DAY1}`)(), by: 'serve', expect: /outside this key's root/ },
  { title: 'listing the parent of its root', run: () => as(`${P1} list ${w().parent}`)(), by: 'serve', expect: /outside this key's root/ },
  { title: '.. in a dataset name', run: () => as(`${P1} probe ${w().own}/../zappy`)(), by: 'serve', expect: /has a "\.\." component/ },
  { title: '@ in a dataset name', run: () => as(`${P1} list ${w().own}@${DAY1}`)(), by: 'serve', expect: /contains "@"/ },
  { title: '% in a dataset name (a hidden receive clone)', run: () => as(`${P1} list ${w().own}/%recv`)(), by: 'serve', expect: /"\S*%recv" is not a plain word/ },
  { title: '# in a dataset name (a bookmark)', run: () => as(`${P1} list ${w().own}#mark`)(), by: 'serve', expect: /"\S*#mark" is not a plain word/ },
  { title: 'an option-like dataset', run: () => as(`${P1} probe -rf`)(), by: 'serve', expect: /starts with "-"/ },
  { title: 'a semicolon and a second command', run: () => as(`${P1} probe ${w().own}; zfs destroy -r ${w().other}`)(), by: 'serve', expect: /not a plain word/ },
  { title: 'command substitution', run: () => as(`${P1} probe $(zfs destroy -r ${w().other})`)(), by: 'serve', expect: /not a plain word/ },
  { title: 'backquotes', run: () => as(`${P1} probe \`zfs destroy -r ${w().other}\``)(), by: 'serve', expect: /not a plain word/ },
  { title: 'a pipe into a shell', run: () => as(`${P1} probe ${w().own} | sh`)(), by: 'serve', expect: /not a plain word/ },
  { title: '&& and a second command', run: () => as(`${P1} probe ${w().own} && zfs destroy -r ${w().other}`)(), by: 'serve', expect: /not a plain word/ },
  { title: 'a redirection', run: () => as(`${P1} probe ${w().own} >/tmp/czb-hostile`)(), by: 'serve', expect: /not a plain word/ },
  { title: 'a newline in SSH_ORIGINAL_COMMAND', run: () => as(`${P1} probe ${w().own}\nzfs destroy -r ${w().other}`)(), by: 'serve', expect: /control characters/ },
  { title: 'a NUL in the request (a raw SSH client)', run: () => execRaw(`${P1} probe ${w().own}\0; zfs destroy -r ${w().other}`), by: 'sshd', expect: /Unable to exec/ },
  { title: 'a 1 MB command', run: () => ssh(w().key.config, ['offsite', ...Array<string>(10_000).fill('x'.repeat(99))]), by: 'sshd', expect: /Broken pipe|packet|disconnect|too long/i },
  { title: 'a 20 kB command', run: () => as(`${P1} probe ${'x'.repeat(20_000)}`)(), by: 'serve', expect: /20\d\d\d bytes long \(at most 16384\)/ },
  { title: 'binary junk', run: () => as('\u00ff\u00fe\u0080\u001b[2J junk')(), by: 'serve', expect: /control characters .* or non-ASCII/ },
  { title: 'an empty command (an interactive login without a pty)', run: () => ssh(w().key.config, ['-T', 'offsite']), by: 'serve', expect: /no request: .*an interactive login is not allowed/ },
  { title: 'a pty', run: () => ssh(w().key.config, ['-tt', 'offsite']), by: 'sshd', expect: /PTY allocation request failed/ },
  { title: 'port forwarding (stdio forward to the sshd itself)', run: () => ssh(w().key.config, ['-W', `127.0.0.1:${bed.sshd.port}`, 'offsite']), by: 'sshd', expect: /administratively prohibited/ },
  { title: 'the sftp subsystem', run: () => ssh(w().key.config, ['-s', 'offsite', 'sftp']), by: 'serve', expect: /^$|not a cyber-zfs-backup request/ },
  { title: 'scp into the offsite host', run: () => as('scp -t /tmp')(), by: 'serve', expect: /not a cyber-zfs-backup request/ },
  { title: "send (restore) of another host's snapshot", run: () => as(`${P1} send ${w().other}@${DAY1}`)(), by: 'serve', expect: /outside this key's root/ },
  { title: 'send with a flag no restore uses (-p)', run: () => as(`${P1} send ${w().own}@${DAY1} flags=p`)(), by: 'serve', expect: /-p is not one a restore uses/ },
  { title: 'a receive that would mount at /etc', run: () => as(`${P1} receive ${w().own} mode=tree mountpoint=/etc`)(), by: 'serve', expect: /not below \/srv\/backup/ },
  { title: "aborting another host's receive", run: () => as(`${P1} abort ${w().other}/a`)(), by: 'serve', expect: /outside this key's root/ },
  { title: 'resume-send of something that is not a token', run: () => as(`${P1} resume-send ${w().other}@${DAY1}`)(), by: 'serve', expect: /receive_resume_token/ },
  { title: 'an unknown verb', run: () => as(`${P1} destroy ${w().own}`)(), by: 'serve', expect: /"destroy" is not something serve does/ },
  { title: 'append-only: destroy of its own child', run: () => ssh(w().appendKey.config, ['offsite', `${P1} repair destroy=${w().appendRoot}/a`]), by: 'serve', expect: /append-only/ },
  { title: 'append-only: rollback of its own tree', run: () => ssh(w().appendKey.config, ['offsite', `${P1} repair rollback=${w().appendRoot}@${DAY1}`]), by: 'serve', expect: /append-only/ },
];

test('the hostile matrix has at least 25 cases', (t) => {
  t.true(cases.length >= 25, String(cases.length));
});

for (const c of cases) {
  test.serial(`refused and nothing changed: ${c.title}`, async (t) => {
    const before = poolState(w().offsite.name);
    const logs = [w().key.log, w().appendKey.log];
    const logBefore = logs.map((f) => readFileSync(f, 'utf8').length);
    const r = await c.run();
    const stderr = r.stderr ?? '';
    if (c.by === 'serve') {
      t.is(r.status, 77, stderr);
      const refusals = stderr.split('\n').filter((l) => l.startsWith('cyber-zfs-backup serve: refused'));
      t.true(refusals.length <= 1, stderr);
      if (refusals.length === 1) t.regex(refusals[0] as string, c.expect);
      else t.regex(stderr.trim(), c.expect, 'no refusal line reached the client (a subsystem)');
      const logged = logs.map((f, i) => readFileSync(f, 'utf8').slice(logBefore[i])).join('');
      t.regex(logged, /warning: refused .* for 127\.0\.0\.1 port \d+ \(root \S+\): /, 'every refusal is logged with the client and the root');
      t.regex(logged, c.expect.source === '^$|not a cyber-zfs-backup request' ? /not a cyber-zfs-backup request/ : c.expect);
    } else {
      t.not(r.status, 0, stderr);
      t.regex(stderr, c.expect);
    }
    t.is(poolState(w().offsite.name), before, 'every tree on the offsite host unchanged (names, GUIDs, holds)');
  });
}

test.serial('a crafted stream under --append-only that would destroy snapshots and a dataset destroys nothing', (t) => {
  const { appendRoot, appendSender, appendKey } = w();
  const kept = treeSignature(appendRoot);
  // The sender loses a child and its oldest snapshot, takes a new one, and sends a replication stream that omits both.
  zfs('release', '-r', `cyber-zfs-backup:offsite:${appendRoot}`, `${appendSender}@${DAY2}`);
  zfs('destroy', '-r', `${appendSender}/c`);
  zfs('destroy', '-r', `${appendSender}@${DAY1}`);
  zfs('snapshot', '-r', `${appendSender}@2026-11-03T00:00:00Z`);
  const crafted = execFileSync('zfs', ['send', '-R', '-I', `@${DAY2}`, `${appendSender}@2026-11-03T00:00:00Z`], { maxBuffer: 64 * 1048576 });
  const r = ssh(appendKey.config, ['offsite', `${P1} receive ${appendRoot} mode=tree mountpoint=/srv/backup/zoppy`], crafted);
  t.is(r.status, 0, r.stderr);
  for (const line of kept) t.true(treeSignature(appendRoot).includes(line), `${line} is still there`);
  t.deepEqual(snapshotsByDataset(appendRoot).get('c'), [DAY1, DAY2], 'the child the sender destroyed is kept');
  t.deepEqual(snapshotsByDataset(appendRoot).get(''), [DAY1, DAY2, '2026-11-03T00:00:00Z'], 'the new snapshot arrived; the old ones stay');
  t.regex(readFileSync(appendKey.log, 'utf8'), new RegExp(`notice: zfs receive -u ${appendRoot} for 127\\.0\\.0\\.1`), 'received without -F');
});
