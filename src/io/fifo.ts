// Named pipes (FIFOs) in a private directory, opened as a plain pipe's two blocking ends: what a child's stdin or stdout can be without passing through Node's stream machinery.
import { execa } from 'execa';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { streamPipeSize } from '../core/pipe-size';

/** The two ends of one pipe, as file descriptors of this process; both block. */
export interface PipeEnds {
  read: number;
  write: number;
}

/**
 * Makes a FIFO for each name in `dir` (which must be private: mode 0700) and opens each as a pipe:
 * a read end and a write end that both block, opened without waiting for anyone (a reader that
 * holds the FIFO for a moment lets the write end open at once, and then the read end). Once both
 * ends are handed on and closed here, the reader sees the end of the stream when the writer
 * closes, and the writer gets EPIPE when the reader is gone, as with pipe(2). Each pipe is
 * enlarged (STREAM_PIPE_BYTES, 256 KiB) where the kernel allows it (see `enlarge`).
 */
export async function makePipes<Name extends string>(dir: string, names: readonly Name[], perl = 'perl'): Promise<Record<Name, PipeEnds>> {
  const paths = names.map((name) => join(dir, `${name}.fifo`));
  const made = await execa('mkfifo', ['-m', '600', '--', ...paths], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  if (made.exitCode !== 0) throw new Error(`cannot make the stream's pipes in ${dir}: ${String(made.stderr || made.message).trim()}`);
  const pipes = {} as Record<Name, PipeEnds>;
  try {
    names.forEach((name, i) => {
      pipes[name] = openPipe(paths[i] as string);
    });
  } catch (error) {
    // What was opened before the failure is closed here: nobody else will ever hold it.
    for (const ends of Object.values<PipeEnds>(pipes)) closeEnds(ends);
    throw error;
  }
  const size = streamPipeSize(readPipeMaxSize());
  if (size !== undefined) await enlarge(perl, Object.values<PipeEnds>(pipes).map((ends) => ends.read), size);
  return pipes;
}

function readPipeMaxSize(): string | undefined {
  try {
    return readFileSync('/proc/sys/fs/pipe-max-size', 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Each descriptor's pipe is asked to hold `size` bytes (fcntl F_SETPIPE_SZ, 1031 on Linux); perl
 * is handed them as 3, 4, .... The size is made a number (`0 +`): perl passes a string argument
 * to fcntl as a pointer.
 */
const ENLARGE_PROGRAM = 'my $size = 0 + shift; my $ok = 1; for my $fd (@ARGV) { my $pipe; (open($pipe, "<&=", $fd) && fcntl($pipe, 1031, $size)) or $ok = 0 } exit($ok ? 0 : 1)';

/** How long enlarging may take; it takes a few milliseconds. */
const ENLARGE_TIMEOUT_MS = 5000;

/**
 * Asks the kernel to let each pipe (given by a descriptor of it) hold `size` bytes. A pipe holds
 * 64 KiB unless asked, and the relay pays two system calls and a wake-up for every pipeful: larger
 * pipes cut its CPU per byte and the ssh child's. Node cannot call fcntl(2), so perl does it on descriptors it inherits
 * (perl-base is Essential in Debian: always installed). The size stays with the pipe. Best effort:
 * a pipe the kernel refuses to enlarge (a lowered pipe-user-pages-soft, no perl) carries the same
 * bytes, only at more system calls, so a failure here changes nothing else.
 */
async function enlarge(perl: string, readEnds: number[], size: number): Promise<void> {
  const children = readEnds.map((_, i) => String(3 + i));
  await execa(perl, ['-e', ENLARGE_PROGRAM, String(size), ...children], {
    stdio: ['ignore', 'ignore', 'ignore', ...readEnds.map(asStdio)],
    reject: false,
    timeout: ENLARGE_TIMEOUT_MS,
    env: { LC_ALL: 'C' },
  });
}

function openPipe(path: string): PipeEnds {
  const holder = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let write: number | undefined;
  try {
    write = openSync(path, constants.O_WRONLY);
    return { read: openSync(path, constants.O_RDONLY), write };
  } catch (error) {
    if (write !== undefined) closeSync(write);
    throw error;
  } finally {
    closeSync(holder);
  }
}

/** Closes both ends of a pipe that was never handed on. */
function closeEnds(ends: PipeEnds): void {
  closeSync(ends.read);
  closeSync(ends.write);
}

/** A descriptor as a child's stdin or stdout: execa hands any descriptor on to spawn(), though its types name only 0-9. */
export function asStdio(fd: number): 3 {
  return fd as 3;
}
