// prctl's number by architecture, and the argv that runs a program under a parent-death signal.
import test from 'ava';
import { prctlSyscall, withParentDeathSignal } from '../../src/core/syscalls';

const numbers: Array<[string, number | undefined]> = [
  ['x64', 157],
  ['arm64', 167],
  ['ia32', 172],
  ['arm', 172],
  ['ppc64', 171],
  ['s390x', 172],
  ['riscv64', 167],
  ['mips', undefined],
  ['toString', undefined],
  ['', undefined],
];

for (const [arch, expected] of numbers) {
  test(`prctlSyscall(${JSON.stringify(arch)}) is ${String(expected)}`, (t) => {
    t.is(prctlSyscall(arch), expected);
  });
}

test('withParentDeathSignal: perl sets the signal (prctl 1, 15) for the given parent, then becomes the program, its arguments untouched', (t) => {
  const argv = withParentDeathSignal(['ssh', '-N', '-o', 'ControlPath=/tmp/x y/master', '--', 'host'], 'x64', 4242);
  t.is(argv?.[0], 'perl');
  t.is(argv?.[1], '-e');
  t.regex(argv?.[2] ?? '', /^\(syscall\(157, 1, 15\) == 0 && getppid\(\) == 4242\) or do \{ print STDERR "cannot set the parent-death signal: \$!\\n"; exit 126 \}; exec \{ \$ARGV\[0\] \} @ARGV;/);
  t.deepEqual(argv?.slice(3), ['ssh', '-N', '-o', 'ControlPath=/tmp/x y/master', '--', 'host']);
});

test('withParentDeathSignal: nothing where prctl is unknown, or with no program', (t) => {
  t.is(withParentDeathSignal(['ssh'], 'mips', 1), undefined);
  t.is(withParentDeathSignal([], 'x64', 1), undefined);
});
