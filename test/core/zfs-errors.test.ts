// Table tests of how zfs failure messages (as zfs-fuse 0.7 and OpenZFS 2.1 print them) map to exit codes and to expire's keep decisions.
import test from 'ava';
import { ExitCode, type ExitCodeValue } from '../../src/core/exit-codes';
import { classifyZfsError, destroyBlockedReason, firstErrorLine } from '../../src/core/zfs-errors';

const blocked: Array<[string, ReturnType<typeof destroyBlockedReason>]> = [
  ["cannot destroy 'p/h@s1': snapshot is cloned\nno snapshots destroyed\n", 'cloned'], // zfs-fuse 0.7
  ["cannot destroy snapshot p/h@s1: snapshot has dependent clones\nuse '-R' to destroy the following datasets:\np/clone\n", 'cloned'], // OpenZFS
  ["cannot destroy 'p/h@s2': dataset is busy\nno snapshots destroyed\n", 'held or busy'], // zfs-fuse, held
  ['cannot destroy snapshot p/h@s2: dataset is busy\n', 'held or busy'], // OpenZFS, held
  ["cannot destroy 'p/h@s3': dataset does not exist\n", undefined],
  ['cannot destroy snapshot p/h@s4: permission denied\n', undefined],
  ['', undefined],
];
for (const [stderr, expected] of blocked) {
  test(`destroyBlockedReason: ${JSON.stringify(firstErrorLine(stderr))} -> ${expected ?? 'not a keep'}`, (t) => {
    t.is(destroyBlockedReason(stderr), expected);
  });
}

const classified: Array<[string, ExitCodeValue]> = [
  ["cannot receive incremental stream: out of space\n", ExitCode.cannotCreate],
  ["cannot receive new filesystem stream: destination 'o/x/h' does not exist\n", ExitCode.noInput],
  ["cannot open 'p/nope': dataset does not exist\n", ExitCode.noInput],
  ['cannot destroy snapshot p/h@s: permission denied\n', ExitCode.notPermitted],
  ['sudo: a password is required\n', ExitCode.notPermitted],
  ['The ZFS modules are not loaded.\nTry running \'/sbin/modprobe zfs\' as root to load them.\n/dev/zfs and /proc/self/mounts are required.\n', ExitCode.unavailable],
  ['connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\ninternal error: failed to initialize ZFS library\n', ExitCode.unavailable],
  ['bash: zfs: command not found\n', ExitCode.unavailable],
  ['cannot receive: most recent snapshot of o/h does not match incremental source\n', ExitCode.internal],
  ["cannot rollback 'o/h': dataset is busy\n", ExitCode.temporary], // an earlier receive still running there
  ['cyber-zfs-backup serve: an earlier receive into o/h is still running here (for 192.0.2.1 port 5 since 2026-10-01T00:00:00Z, serve PID 9; it has read nothing for 3 s, and serve ends it once that passes 40 s, in about 37 s); run again after that\n', ExitCode.temporary], // serve, before a repair
];
for (const [stderr, code] of classified) {
  test(`classifyZfsError: ${JSON.stringify(firstErrorLine(stderr))} -> ${code}`, (t) => {
    const failure = classifyZfsError(stderr, 'remote');
    t.is(failure.exitCode, code);
    t.true(failure.hint.length > 0);
  });
}

test('"dataset is busy" is a receive left running on the receiving host (75), but on this host it is not classified so', (t) => {
  t.regex(classifyZfsError('cannot receive incremental stream: dataset is busy\n', 'remote').hint, /earlier receive into that dataset .* connection times out/);
  t.is(classifyZfsError("cannot destroy 'p/h@s': dataset is busy\n", 'local').exitCode, ExitCode.internal);
});

test('firstErrorLine picks the line that says what failed, skipping usage text', (t) => {
  t.is(firstErrorLine('usage:\n\tdestroy ...\n\ncannot destroy: dataset is busy\n'), 'cannot destroy: dataset is busy');
  t.is(firstErrorLine('\n\n'), '(no message)');
  t.is(firstErrorLine('something odd\n'), 'something odd');
});
