// A parent-death signal for a child we start: perl (perl-base, Essential in Debian) calls prctl(2) by its number, which it cannot name, then becomes the program.

/** prctl(2)'s number by Node's name for the architecture (os.arch()), where it is known for certain. */
const PRCTL: Readonly<Record<string, number>> = {
  x64: 157,
  ia32: 172,
  arm64: 167,
  arm: 172,
  ppc64: 171,
  s390x: 172,
  riscv64: 167,
  loong64: 167,
};

/** prctl(2)'s number on `arch`, or undefined where it is not known (no parent-death signal is had there). */
export function prctlSyscall(arch: string): number | undefined {
  return Object.hasOwn(PRCTL, arch) ? PRCTL[arch] : undefined;
}

/** prctl(2)'s PR_SET_PDEATHSIG, and SIGTERM's number (the same on every architecture above). */
const PR_SET_PDEATHSIG = 1;
const SIGTERM = 15;

/**
 * argv that runs `argv` under a parent-death SIGTERM, `parent` being the PID that starts it: perl
 * asks the kernel to send it SIGTERM when its parent dies, even by SIGKILL, and exits 126 if it
 * cannot or its parent is no longer `parent` (this run died before it asked); then it becomes the
 * program (exec: the PID is the program's; the signal is kept, not for set-user-ID programs).
 * Undefined where prctl's number is not known. (util-linux's setpriv does the same, but also
 * re-applies capabilities, which a unit without @privileged system calls refuses.)
 */
export function withParentDeathSignal(argv: readonly string[], arch: string, parent: number, perl = 'perl'): string[] | undefined {
  const prctl = prctlSyscall(arch);
  if (prctl === undefined || argv.length === 0) return undefined;
  const setSignal = `(syscall(${prctl}, ${PR_SET_PDEATHSIG}, ${SIGTERM}) == 0 && getppid() == ${parent}) or do { print STDERR "cannot set the parent-death signal: $!\\n"; exit 126 };`;
  return [perl, '-e', `${setSignal} exec { $ARGV[0] } @ARGV; print STDERR "cannot run $ARGV[0]: $!\\n"; exit 127;`, ...argv];
}
