// The push stream's zero-copy relay: a small perl program moves zfs send's output into ssh's pipe with splice(2), pipe to pipe, so the bytes are never copied through this process, and reports its count.
import { execa } from 'execa';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { parseRelayStatus } from '../core/relay-status';
import { parentDeathPerl } from '../core/syscalls';
import { asStdio } from './fifo';
import type { Relay, RelayEnd } from './stream-relay';
import { collect } from './transfer';

/** The most one splice moves: a pipe's worth at a time is what it moves anyway. */
const CHUNK = 1024 * 1024;

/** At most this much of the relay's own error output is kept (one line is shown). */
const STDERR_LIMIT = 4096;

/** The count is reported after this many bytes, or when the second changes: exact at the end, and never far behind for progress and the silent line. */
const REPORT_BYTES = 4 * 1024 * 1024;

/**
 * The relay's whole program (perl-base, Essential in Debian: its `syscall` calls splice by number).
 * Arguments: splice's and prctl's numbers, this process's PID, the chunk, the report step. It ends
 * with this process (a parent-death SIGTERM), even if the run is killed outright. Standard input is zfs send's pipe,
 * standard output ssh's, descriptor 3 the status pipe: `first`, `bytes N`, then `end N [ERRNO]`.
 * SIGPIPE is ignored, so ssh gone is EPIPE from splice, reported like any other failure.
 */
const SPLICE_PROGRAM = [
  'my ($nr, $prctl, $parent, $chunk, $step) = map { 0 + $_ } @ARGV;',
  parentDeathPerl('$prctl', '$parent'),
  '$SIG{PIPE} = "IGNORE";',
  'open(my $status, ">&=", 3) or exit 2;',
  'select((select($status), $| = 1)[0]);',
  'my ($total, $told, $second, $errno) = (0, 0, time, "");',
  'while (1) {',
  '  my $n = syscall($nr, 0, 0, 1, 0, $chunk, 1);',
  '  if ($n < 0) { next if $! == 4; $errno = " " . (0 + $!); last }',
  '  last if $n == 0;',
  '  print $status "first\\n" if $total == 0;',
  '  $total += $n;',
  '  if ($total - $told >= $step || time != $second) { $second = time; $told = $total; print $status "bytes $total\\n" }',
  '}',
  'print $status "end $total$errno\\n";',
].join('\n');

function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

/**
 * Starts the zero-copy relay from `from` (the read end of zfs send's pipe) to `to` (the write end
 * of ssh's), given splice's and prctl's numbers on this machine; ssh's pipe is closed here at once, zfs send's once the relay has ended. No --bwlimit: a
 * limited stream goes by the worker relay, which holds the schedule. `bytes()` is the last count
 * reported (at most 4 MiB or a second behind while it runs; exact once `ended` resolves).
 */
export function startSpliceRelay(settings: { from: number; to: number }, numbers: { splice: number; prctl: number }, perl = 'perl'): Relay {
  let bytes = 0;
  let onFirst: () => void = () => {};
  const firstByte = new Promise<void>((resolve) => {
    onFirst = resolve;
  });
  const spawn = () =>
    execa(perl, ['-e', SPLICE_PROGRAM, String(numbers.splice), String(numbers.prctl), String(process.pid), String(CHUNK), String(REPORT_BYTES)], {
      stdio: [asStdio(settings.from), asStdio(settings.to), 'pipe', 'pipe'],
      buffer: false,
      reject: false,
      env: { LC_ALL: 'C' },
    });
  let child: ReturnType<typeof spawn> | undefined;
  let spawnError: string | undefined;
  try {
    child = spawn();
  } catch (error) {
    spawnError = error instanceof Error ? error.message : String(error);
  }
  // ssh's pipe is the child's alone now: ssh sees the end of the stream when the child closes it.
  // zfs send's stays open here too until the relay has ended: if the relay goes first (ssh gone),
  // zfs send waits on its pipe to be stopped by the run, rather than die of SIGPIPE as if cut.
  closeSync(settings.to);
  const closeFrom = <T>(end: T): T => {
    closeSync(settings.from);
    return end;
  };
  const ended = new Promise<RelayEnd>((resolve) => {
    if (!child) return resolve({ error: `the relay could not start: ${spawnError ?? 'unknown'}` });
    let end: RelayEnd | undefined;
    let pending = '';
    const status = child.stdio[3];
    status.setEncoding('utf8');
    status.on('data', (text: string) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const s = parseRelayStatus(line);
        if (s?.kind === 'first') onFirst();
        else if (s?.kind === 'bytes') bytes = s.bytes;
        else if (s?.kind === 'end') {
          bytes = s.bytes;
          end = { error: s.errno === undefined ? undefined : errnoName(s.errno) };
        }
      }
    });
    const stderr = collect(child.stderr, STDERR_LIMIT);
    void child.then((result) => {
      const said = stderr().trim().split('\n')[0] ?? '';
      resolve(end ?? { error: `the relay ended without its count (${result.signal ?? `exit ${String(result.exitCode)}`}${said ? `: ${said}` : ''})` });
    });
    // A relay blocked on a pipe must not keep the process alive once the run is over.
    child.unref();
    (status as Readable & { unref?: () => void }).unref?.();
  }).then(closeFrom);
  return { firstByte, ended, bytes: () => bytes };
}
