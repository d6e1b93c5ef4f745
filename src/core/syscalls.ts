// System call numbers and programs for the perl helpers (perl-base, Essential in Debian, can call any system call by number, but names none): splice for the zero-copy relay, prctl for a parent-death signal.

/** The system calls the helpers make, by Node's name for the architecture (os.arch()), where the number is known for certain. */
const NUMBERS: Readonly<Record<string, Readonly<Record<'splice' | 'prctl', number>>>> = {
  x64: { splice: 275, prctl: 157 },
  ia32: { splice: 313, prctl: 172 },
  arm64: { splice: 76, prctl: 167 },
  arm: { splice: 340, prctl: 172 },
  ppc64: { splice: 283, prctl: 171 },
  s390x: { splice: 306, prctl: 172 },
  riscv64: { splice: 76, prctl: 167 },
  loong64: { splice: 76, prctl: 167 },
};

/** `name`'s number on `arch`, or undefined where it is not known (the helper is then not used). */
export function syscallNumber(name: 'splice' | 'prctl', arch: string): number | undefined {
  return Object.hasOwn(NUMBERS, arch) ? NUMBERS[arch]?.[name] : undefined;
}

/** prctl(2)'s PR_SET_PDEATHSIG and SIGTERM's number (the same on every Linux architecture listed above). */
const PR_SET_PDEATHSIG = 1;
const SIGTERM = 15;

/**
 * Perl that asks the kernel to send it SIGTERM when its parent dies, even by SIGKILL, and exits
 * 126 if it cannot, or if its parent is no longer `parent` (this run died before it asked); the
 * signal is kept across exec (not for set-user-ID programs). `prctl` and `parent` are numbers or
 * perl expressions. (util-linux's setpriv does the same, but also re-applies capabilities, which a
 * unit without @privileged system calls refuses.)
 */
export function parentDeathPerl(prctl: number | string, parent: number | string): string {
  return `(syscall(${prctl}, ${PR_SET_PDEATHSIG}, ${SIGTERM}) == 0 && getppid() == ${parent}) or do { print STDERR "cannot set the parent-death signal: $!\\n"; exit 126 };`;
}

/**
 * argv that runs `argv` under a parent-death SIGTERM, `parent` being the PID that starts it: perl
 * sets it, then becomes the program (exec: the PID is the program's). Undefined where prctl's
 * number is not known.
 */
export function withParentDeathSignal(argv: readonly string[], arch: string, parent: number, perl = 'perl'): string[] | undefined {
  const prctl = syscallNumber('prctl', arch);
  if (prctl === undefined || argv.length === 0) return undefined;
  return [perl, '-e', `${parentDeathPerl(prctl, parent)} exec { $ARGV[0] } @ARGV; print STDERR "cannot run $ARGV[0]: $!\\n"; exit 127;`, ...argv];
}
