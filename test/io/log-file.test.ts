// Reading an ssh log another process writes: from an offset, its end at most, and nothing from a log that is not there.
import test from 'ava';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_LIMIT, logLength, readLogSince } from '../../src/io/log-file';
import { scratchDir } from '../bed/scratch';

test('what was logged since a length taken earlier, and the whole log from 0', (t) => {
  const log = join(scratchDir(t, 'czb-log-'), 'ssh.log');
  writeFileSync(log, 'debug1: first session\n');
  const offset = logLength(log);
  t.is(offset, 22);
  appendFileSync(log, 'debug1: client_input_channel_req: channel 1 rtype exit-status reply 0\n');
  t.is(readLogSince(log, offset), 'debug1: client_input_channel_req: channel 1 rtype exit-status reply 0\n');
  t.true(readLogSince(log).startsWith('debug1: first session\n'));
  t.is(readLogSince(log, logLength(log)), '');
});

test('a log longer than the limit gives its last LOG_LIMIT bytes, where the exit status is', (t) => {
  const log = join(scratchDir(t, 'czb-log-'), 'ssh.log');
  writeFileSync(log, `${'x'.repeat(LOG_LIMIT)}the end\n`);
  const read = readLogSince(log, 0);
  t.is(read.length, LOG_LIMIT);
  t.true(read.endsWith('the end\n'));
});

test('a log that is not there is empty and of length 0', (t) => {
  const log = join(scratchDir(t, 'czb-log-'), 'never-written.log');
  t.is(logLength(log), 0);
  t.is(readLogSince(log, 0), '');
});
