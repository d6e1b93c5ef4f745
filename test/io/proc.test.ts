// What /proc tells serve about a process: the read counter that moves as it reads, and a signal sent only to the process named by PID and start time.
import test from 'ava';
import { spawn } from 'node:child_process';
import { isAlive, leased, readChars, signalProcess } from '../../src/io/proc';

test('the read counter of a process moves as it reads its stdin, and stands still when nothing comes', async (t) => {
  const child = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const me = leased(child.pid ?? 0);
  if (!me) return t.fail('no start time for the child');
  await new Promise((r) => setTimeout(r, 100));
  const before = readChars(me) ?? -1;
  child.stdin.write(Buffer.alloc(100_000));
  await new Promise((r) => setTimeout(r, 200));
  const after = readChars(me) ?? -1;
  t.true(after >= before + 100_000, `${before} -> ${after}`);
  await new Promise((r) => setTimeout(r, 200));
  t.is(readChars(me), after, 'nothing read, nothing counted');
});

test('a signal goes only to the process with that PID and start time', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const me = leased(child.pid ?? 0);
  if (!me) return t.fail('no start time for the child');
  t.true(isAlive(me));
  t.false(signalProcess({ pid: me.pid, start: `${me.start}1` }, 'SIGTERM'), 'another start time: not that process');
  t.true(isAlive(me));
  t.true(signalProcess(me, 'SIGTERM'));
  await exited;
  t.false(isAlive(me));
  t.is(readChars(me), undefined);
  t.false(signalProcess(me, 'SIGTERM'), 'gone: nothing is sent');
});
