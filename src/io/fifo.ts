// Named pipes (FIFOs) in a private directory, opened as a plain pipe's two blocking ends: what a child's stdin or stdout can be without passing through Node's stream machinery.
import { execa } from 'execa';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';

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
 * closes, and the writer gets EPIPE when the reader is gone, as with pipe(2).
 */
export async function makePipes<Name extends string>(dir: string, names: readonly Name[]): Promise<Record<Name, PipeEnds>> {
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
  return pipes;
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
