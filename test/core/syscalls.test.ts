// The perl helpers' system call numbers by architecture, and the argv that runs a program under a parent-death signal.
import test from 'ava';
import { syscallNumber, withParentDeathSignal } from '../../src/core/syscalls';

const numbers: Array<[string, 'splice' | 'prctl', number | undefined]> = [
  ['x64', 'splice', 275],
  ['x64', 'prctl', 157],
  ['arm64', 'splice', 76],
  ['arm64', 'prctl', 167],
  ['ia32', 'splice', 313],
  ['arm', 'prctl', 172],
  ['ppc64', 'splice', 283],
  ['s390x', 'prctl', 172],
  ['riscv64', 'splice', 76],
  ['mips', 'splice', undefined],
  ['toString', 'prctl', undefined],
  ['', 'splice', undefined],
];

for (const [arch, name, expected] of numbers) {
  test(`syscallNumber(${name}, ${JSON.stringify(arch)}) is ${String(expected)}`, (t) => {
    t.is(syscallNumber(name, arch), expected);
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
