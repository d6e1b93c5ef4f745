// Test bed: watches /proc for a process the test caused (a remote probe, a zfs receive) to time a fault to the moment it runs or ends.
import { readFileSync } from 'node:fs';

/** argv of a process, or undefined once it is gone. */
function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

/** Whether `pid` has ended (gone, or a zombie waiting to be reaped). */
export function hasEnded(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PIDs below `root` (its children, theirs, …), read from /proc/PID/task/PID/children: a few reads instead of all of /proc. */
export function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      /* gone */
    }
    out.push(...children);
    queue.push(...children);
  }
  return out;
}

/** Polls the processes below `root` (the bed's sshd) until one whose argv satisfies `match` runs; its PID, or undefined after `timeoutMs` or once `stop()`. */
export async function waitForProcess(root: number, match: (argv: string[]) => boolean, timeoutMs: number, stop: () => boolean = () => false): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !stop()) {
    for (const pid of descendants(root)) {
      const argv = argvOf(pid);
      if (argv && match(argv) && !hasEnded(pid)) return pid;
    }
    await pause(1);
  }
  return undefined;
}

/** Polls one PID (cheap) until it has ended; false after `timeoutMs`. */
export async function waitForEnd(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (hasEnded(pid)) return true;
    await pause(1);
  }
  return false;
}

/** A shell running a command line that holds `word` (sshd runs every remote command as SHELL -c LINE). */
export function remoteShellWith(word: string): (argv: string[]) => boolean {
  return (argv) => /(^|\/)-?(ba|da)?sh$/.test(argv[0] ?? '') && argv.slice(1).some((a) => a.includes(word));
}

/** A process with every one of `words` as an argument of its own. */
export function withArgs(...words: string[]): (argv: string[]) => boolean {
  return (argv) => words.every((w) => argv.includes(w));
}
