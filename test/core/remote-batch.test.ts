// Tests of the remote command batch: run by a real POSIX shell, each command's output and exit status come back apart.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { batchScript, BATCH_MARK, killedBySignal, receiveThenBatch, remoteZfsBatch, splitBatch } from '../../src/core/remote-command';

function runSh(script: string): { stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr };
}

const rows: Array<{ name: string; lines: string[]; expected: Array<{ code: number | null; stdout: string; stderr: string }> }> = [
  {
    name: 'usage on stderr with exit 2, then tab-separated lines with exit 0',
    lines: ["printf 'usage: zfs command args ...\\n' >&2; (exit 2)", "printf 'p/r\\tguid\\t1\\np/r@a\\tguid\\t2\\n'"],
    expected: [
      { code: 2, stdout: '', stderr: 'usage: zfs command args ...\n' },
      { code: 0, stdout: 'p/r\tguid\t1\np/r@a\tguid\t2\n', stderr: '' },
    ],
  },
  {
    name: 'a failure does not stop the next command; output without a final newline is kept exactly',
    lines: ["printf \"cannot open 'p/x': dataset does not exist\\n\" >&2; (exit 1)", "printf 'no newline'", 'true'],
    expected: [
      { code: 1, stdout: '', stderr: "cannot open 'p/x': dataset does not exist\n" },
      { code: 0, stdout: 'no newline', stderr: '' },
      { code: 0, stdout: '', stderr: '' },
    ],
  },
  {
    name: 'blank lines and lines that look almost like the mark stay in the output',
    lines: [`printf '\\n\\n# czb-batch\\n${BATCH_MARK}x 1\\n'`],
    expected: [{ code: 0, stdout: `\n\n# czb-batch\n${BATCH_MARK}x 1\n`, stderr: '' }],
  },
  {
    name: 'a batch cut off after the first command: the rest have no exit status',
    lines: ["printf 'one\\n'", "printf 'half'; kill -9 $$"],
    expected: [
      { code: 0, stdout: 'one\n', stderr: '' },
      { code: null, stdout: 'half', stderr: '' },
    ],
  },
];

for (const row of rows) {
  test(`batch through /bin/sh: ${row.name}`, (t) => {
    const { stdout, stderr } = runSh(batchScript(row.lines));
    t.deepEqual(splitBatch(row.lines.length, stdout, stderr), row.expected);
  });
}

test('remoteZfsBatch quotes every zfs command like remoteZfsCommand and marks each', (t) => {
  const script = remoteZfsBatch([[], ['get', '-H', 'guid', "o/x'y"]], true);
  t.true(script.startsWith("sudo -n zfs; s=$?; printf '\\n# czb-batch end %s\\n' \"$s\"; "));
  t.true(script.includes("sudo -n zfs get -H guid 'o/x'\\''y'; s=$?;"));
  t.is(script.split(BATCH_MARK).length - 1, 4);
});

/** A stand-in for `zfs receive`: reads its stdin to the end, prints `err` on stderr and ends as `end` says. */
const fakeReceive = (end: string, err = '') => `cat >/dev/null; ${err ? `printf '${err}\\n' >&2; ` : ''}${end}`;
const listings = ["printf 'p/r\\tnoauto\\ton\\t/srv/backup/h\\n'", "printf 'p/r@a\\tguid\\t7\\n'"];

const receiveRows: Array<{ name: string; end: string; err?: string; code: number | null; signal: NodeJS.Signals | null; parts: Array<number | null> }> = [
  { name: 'a receive that succeeded is followed by both listings, and the command exits 0', end: 'true', code: 0, signal: null, parts: [0, 0] },
  { name: 'a receive that failed keeps its exit status and stderr, and nothing is listed', end: '(exit 1)', err: 'cannot receive: most recent snapshot does not match', code: 1, signal: null, parts: [null, null] },
  { name: 'a receive killed by SIGKILL ends the command by SIGKILL too', end: 'kill -9 $$', code: null, signal: 'SIGKILL', parts: [null, null] },
  { name: 'a receive killed by SIGTERM ends the command by SIGTERM too', end: 'kill -15 $$', code: null, signal: 'SIGTERM', parts: [null, null] },
];

for (const shell of ['/bin/sh', '/bin/bash']) {
  for (const row of receiveRows) {
    test(`receive then listings through ${shell}: ${row.name}`, (t) => {
      // The receive runs in its own shell, as zfs receive is its own process under the login shell.
      const receive = `${shell} -c '${fakeReceive(row.end, row.err).replace(/'/g, "'\\''")}'`;
      const r = spawnSync(shell, ['-c', receiveThenBatch(receive, listings)], { encoding: 'utf8', input: 'stream bytes' });
      t.is(r.status, row.code);
      t.is(r.signal, row.signal);
      const parts = splitBatch(2, r.stdout, r.stderr);
      t.deepEqual(parts.map((p) => p.code), row.parts);
      if (row.parts[0] === 0) {
        t.is(parts[0]?.stdout, 'p/r\tnoauto\ton\t/srv/backup/h\n');
        t.is(parts[1]?.stdout, 'p/r@a\tguid\t7\n');
      } else {
        t.is(r.stdout, '', 'nothing on stdout after a failed receive');
      }
      if (row.err) t.true(r.stderr.includes(row.err), r.stderr);
      t.is(killedBySignal(r.stderr), row.signal ?? undefined, 'the line that names the signal, for OpenSSH\'s client');
    });
  }
}
