// Integration: two runs at once on one dataset; the second exits 75 at once and runs no zfs command.
import test from 'ava';
import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliAsync } from '../bed/cli';
import { createPool, zfs, type TestPool } from '../bed/pools';
import { startRelay } from '../bed/relay';
import { scratchDir } from '../bed/scratch';
import { startSshd, type TestSshd } from '../bed/sshd';

let sshd: TestSshd;
let pool: TestPool;
test.before(async () => {
  sshd = await startSshd();
  pool = createPool('czblk');
});
test.after.always(async () => {
  pool?.destroy();
  await sshd?.stop();
});

/** A zfs that logs every invocation to `log`, then runs the real one. */
function countingZfs(dir: string): { program: string; log: string } {
  const log = join(dir, 'zfs.log');
  const program = join(dir, 'zfs');
  writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec zfs "$@"\n`);
  chmodSync(program, 0o755);
  return { program, log };
}

test('a second run on the same dataset exits 75 at once, names the holder PID, and runs no zfs command', async (t) => {
  const root = `${pool.name}/h`;
  zfs('create', root);
  zfs('snapshot', '-r', `${root}@2026-10-01T00:00:00Z`);
  // The first run hangs connecting to a host that accepts and never answers.
  const stall = await startRelay(sshd.port, { stall: true });
  t.teardown(() => stall.close());
  const hang = sshd.writeConfig('cfg.stall', [`Port ${stall.port}`, 'ConnectTimeout 30']);
  const dir = scratchDir(t, 'czb-lockcli-');
  const lockDir = join(dir, 'lock');
  const first = countingZfs(scratchDir(t, 'czb-zfs1-'));
  const running = runCliAsync(['--action', 'push', '--dataset', root, '--zfs-receive-dataset', `${pool.name}/recv`, '--ssh-config', hang], { env: { CYBER_ZFS_BACKUP_LOCK_DIR: lockDir, CYBER_ZFS_BACKUP_ZFS: first.program } });
  const lockFile = join(lockDir, `cyber-zfs-backup.${root.replace(/\//g, '_')}.lock`);
  // The holder writes its PID once it holds the file (it is empty before that).
  const named = () => (existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : '');
  for (let i = 0; i < 400 && !named().endsWith('\n'); i += 1) await new Promise((r) => setTimeout(r, 25));
  const holder = Number(named().split(' ')[0]);

  const second = countingZfs(dir);
  const started = Date.now();
  const r = runCli(['--dataset', root, '--zfs-receive-dataset', `${pool.name}/recv`, '--ssh-config', sshd.config], { env: { CYBER_ZFS_BACKUP_LOCK_DIR: lockDir, CYBER_ZFS_BACKUP_ZFS: second.program } });
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, new RegExp(`^cyber-zfs-backup: another cyber-zfs-backup run \\(PID ${holder}\\) is working on ${root} .*try again when it has finished\\n$`));
  t.true(Date.now() - started < 10_000, 'exits at once');
  t.false(existsSync(second.log), 'the second run ran no zfs command');
  t.true(existsSync(first.log), 'the first run did run zfs');

  process.kill(holder, 'SIGKILL');
  await running;
  await stall.close();
  // The dead holder's lock is taken over by the next run.
  const after = runCli(['--action', 'snapshot', '--dataset', root], { env: { CYBER_ZFS_BACKUP_LOCK_DIR: lockDir } });
  t.is(after.code, 0, after.stderr);
});
