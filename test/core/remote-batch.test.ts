// Tests of the remote command batch: run by a real POSIX shell, each command's output and exit status come back apart.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { batchScript, BATCH_MARK, remoteZfsBatch, splitBatch } from '../../src/core/remote-command';

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
