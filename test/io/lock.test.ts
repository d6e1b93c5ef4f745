// Tests of the per-dataset lock file: exclusive, names its holder, survives a dead holder, refuses a live one.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackupError } from '../../src/core/exit-codes';
import { acquireLock, lockPath } from '../../src/io/lock';
import { startTime } from '../../src/io/proc';
import { scratchDir } from '../bed/scratch';


test('one lock per dataset; the second attempt is exit 75 naming the holder PID; release frees it', (t) => {
  const d = scratchDir(t, 'czb-lock-');
  const lock = acquireLock(d, 'tank/h');
  t.regex(readFileSync(lock.path, 'utf8'), new RegExp(`^${process.pid} \\d+`));
  const error = t.throws(() => acquireLock(d, 'tank/h'), { instanceOf: BackupError });
  t.is(error?.exitCode, 75);
  t.regex(error?.message ?? '', new RegExp(`\\(PID ${process.pid}\\) is working on tank/h`));
  const other = acquireLock(d, 'tank/other');
  other.release();
  lock.release();
  t.false(existsSync(lock.path));
  acquireLock(d, 'tank/h').release();
});

/** The PID of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid as number;
}

test('a lock left by a dead process is taken over', async (t) => {
  const d = scratchDir(t, 'czb-lock-');
  const pid = await deadPid();
  writeFileSync(lockPath(d, 'tank/h'), `${pid} 12345\n`);
  const lock = acquireLock(d, 'tank/h');
  t.regex(readFileSync(lock.path, 'utf8'), new RegExp(`^${process.pid} `));
  lock.release();
});

test('a lock naming a live PID with another start time (PID reused) is taken over', (t) => {
  const d = scratchDir(t, 'czb-lock-');
  writeFileSync(lockPath(d, 'tank/h'), `${process.pid} 1\n`);
  const lock = acquireLock(d, 'tank/h');
  t.pass();
  lock.release();
});

test('a garbage lock file is taken over', (t) => {
  const d = scratchDir(t, 'czb-lock-');
  writeFileSync(lockPath(d, 'tank/h'), 'not a pid\n');
  acquireLock(d, 'tank/h').release();
  t.false(existsSync(lockPath(d, 'tank/h')));
});

test('an unwritable lock directory is a clear error, not a crash', (t) => {
  const error = t.throws(() => acquireLock('/proc/czb-no-such-dir/lock', 'tank/h'), { instanceOf: BackupError });
  t.regex(error?.message ?? '', /cannot create the lock file/);
});

/** The first line a child prints (trimmed), or what it printed when it exits first ('exited' for nothing). */
function firstLine(child: ChildProcessByStdio<null | Writable, Readable, null>): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => resolve(out.trim() || 'exited'));
  });
}

/** Eight runs try the lock at the same instant, five times over; what each said (took, or refused with its exit code). */
async function contend(t: ExecutionContext, prepare: (dir: string) => void): Promise<string[][]> {
  const lockModule = new URL('../../src/io/lock.ts', import.meta.url).href;
  const rounds: string[][] = [];
  for (let round = 0; round < 5; round += 1) {
    const d = scratchDir(t, 'czb-lock-race-');
    prepare(d);
    const at = Date.now() + 1500;
    // Each contender waits for the same instant, tries once, says how it went, and holds what it got until told to go.
    const script = `const { acquireLock } = await import(${JSON.stringify(lockModule)});
      while (Date.now() < ${at}) {}
      try { acquireLock(${JSON.stringify(d)}, 'tank/h'); console.log('took'); } catch (e) { console.log('refused ' + e.exitCode); }
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const contenders = Array.from({ length: 8 }, () => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const said = await Promise.all(contenders.map(firstLine));
    for (const c of contenders) c.stdin.end();
    await Promise.all(contenders.map((c) => new Promise((r) => (c.exitCode === null ? c.on('exit', r) : r(null)))));
    rounds.push(said);
  }
  return rounds;
}

test('runs that start at the same instant: exactly one takes the lock (none reads it empty and takes it for a dead one)', async (t) => {
  t.timeout(120_000);
  for (const [round, said] of (await contend(t, () => {})).entries()) {
    t.deepEqual(said.filter((s) => s === 'took').length, 1, `round ${round}: ${said.join(', ')}`);
    t.true(said.every((s) => s === 'took' || s === 'refused 75'), said.join(', '));
  }
});

test('runs that start at the same instant over the lock of a dead run: exactly one takes it (none removes the lock another has just taken)', async (t) => {
  t.timeout(120_000);
  const dead = await deadPid();
  for (const [round, said] of (await contend(t, (d) => writeFileSync(lockPath(d, 'tank/h'), `${dead} 12345\n`))).entries()) {
    t.deepEqual(said.filter((s) => s === 'took').length, 1, `round ${round}: ${said.join(', ')}`);
    t.true(said.every((s) => s === 'took' || s === 'refused 75'), said.join(', '));
  }
});

test('a run killed with SIGKILL leaves no lock behind: the next run takes it at once', async (t) => {
  const d = scratchDir(t, 'czb-lock-');
  const lockModule = new URL('../../src/io/lock.ts', import.meta.url).href;
  const script = `const { acquireLock } = await import(${JSON.stringify(lockModule)});
    acquireLock(${JSON.stringify(d)}, 'tank/h'); console.log('took'); setInterval(() => {}, 1000);`;
  const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.is(await firstLine(holder), 'took');
  const refused = t.throws(() => acquireLock(d, 'tank/h'), { instanceOf: BackupError });
  t.is(refused?.exitCode, 75);
  t.regex(refused?.message ?? '', new RegExp(`\\(PID ${holder.pid}\\) is working on tank/h`));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.on('exit', r));
  t.true(existsSync(lockPath(d, 'tank/h')), 'the killed run left its file');
  const lock = acquireLock(d, 'tank/h');
  t.regex(readFileSync(lock.path, 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`));
  lock.release();
});

test('a live run named in a lock file nobody holds (one taken before flock, through an upgrade) is refused, not taken over', async (t) => {
  const d = scratchDir(t, 'czb-lock-');
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const pid = sleeper.pid as number;
  writeFileSync(lockPath(d, 'tank/h'), `${pid} ${startTime(pid)}\n`);
  const refused = t.throws(() => acquireLock(d, 'tank/h'), { instanceOf: BackupError });
  t.is(refused?.exitCode, 75);
  t.regex(refused?.message ?? '', new RegExp(`\\(PID ${pid}\\) is working on tank/h`));
  t.is(readFileSync(lockPath(d, 'tank/h'), 'utf8'), `${pid} ${startTime(pid)}\n`, 'the file is left as it was');
});

test("another user's lock file is taken as it is once its run has ended, both ways (serve's user and root share /run/lock)", async (t) => {
  t.timeout(60_000);
  // A sticky directory anyone may write, as /run/lock; the built lock module, where nobody can read it.
  const d = scratchDir(t, 'czb-lock-users-');
  chmodSync(d, 0o1777);
  const lib = scratchDir(t, 'czb-lock-lib-');
  chmodSync(lib, 0o755);
  cpSync(fileURLToPath(new URL('../../dist/lib', import.meta.url)), join(lib, 'lib'), { recursive: true });
  const chunk = readdirSync(join(lib, 'lib')).find((f) => /^lock-.*\.mjs$/.test(f)) as string;
  const script = `const { acquireLock } = await import(${JSON.stringify(pathToFileURL(join(lib, 'lib', chunk)).href)});
    try { acquireLock(${JSON.stringify(d)}, 'tank/h'); console.log('took'); } catch (e) { console.log('refused ' + e.exitCode + ': ' + e.message); }
    setInterval(() => {}, 1000);`;
  const asNobody = async () => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => child.kill('SIGKILL'));
    return { child, said: await firstLine(child) };
  };
  const path = lockPath(d, 'tank/h');

  // serve's user takes the lock first (its file), and its run is killed: root's run takes it.
  const serve = await asNobody();
  t.is(serve.said, 'took');
  t.is(statSync(path).uid, 65534);
  const refused = t.throws(() => acquireLock(d, 'tank/h'), { instanceOf: BackupError });
  t.is(refused?.exitCode, 75);
  t.regex(refused?.message ?? '', new RegExp(`\\(PID ${serve.child.pid}\\) is working on tank/h`));
  serve.child.kill('SIGKILL');
  await new Promise((r) => (serve.child.exitCode === null && serve.child.signalCode === null ? serve.child.on('exit', r) : r(null)));
  const root = acquireLock(d, 'tank/h');
  t.regex(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
  root.release();
  t.false(existsSync(path));

  // root's run died and left its file: serve's user takes it as it is (it cannot write root's file).
  const dead = await deadPid();
  writeFileSync(path, `${dead} 12345\n`, { mode: 0o644 });
  const later = await asNobody();
  t.is(later.said, 'took');
  t.is(readFileSync(path, 'utf8'), `${dead} 12345\n`);
  const busy = t.throws(() => acquireLock(d, 'tank/h'), { instanceOf: BackupError });
  t.is(busy?.exitCode, 75);
  t.regex(busy?.message ?? '', /^another cyber-zfs-backup run is working on tank\/h \(lock /, 'no PID: the file names a run that has ended');
});
