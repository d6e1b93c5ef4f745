// The stream's shared connection: an OpenSSH master, logged in while the SSH library connects and probes, on which the stream's ssh opens its session without a handshake and login of its own.
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masterSshArgv, type StreamSshTarget } from '../core/stream-ssh';
import { withParentDeathSignal } from '../core/syscalls';
import { logLength, readLogSince } from './log-file';

/** The shared connection as the stream uses it. */
export interface StreamMaster {
  /**
   * The control socket once the master has logged in, or undefined if it failed, ended, or did not
   * log in within its ConnectTimeout (the stream's ssh then connects by itself, as without it).
   */
  ready(): Promise<string | undefined>;
  /** Marks where the master's log stands now; the function returned reads what it logged since (a stream's session end). */
  mark(): () => string;
  /** Ends the master (SIGTERM, by its PID) and removes its directory; once. */
  stop(): void;
}

/** What a master that could not even be started (no temporary directory) is: never ready. */
const NO_MASTER: StreamMaster = { ready: async () => undefined, mark: () => () => '', stop: () => {} };

/** How often `ready` looks for the control socket while the master is still logging in. */
const POLL_MS = 5;

/**
 * The master's argv, or undefined where none can start: a path OpenSSH cannot carry (the stream
 * would refuse it with its own error), or no parent-death signal on this architecture (a master
 * could outlive a killed run).
 */
function masterArgv(target: StreamSshTarget, program: string, socket: string, log: string): string[] | undefined {
  let ssh: string[];
  try {
    ssh = [program, ...masterSshArgv(target, socket, log)];
  } catch {
    return undefined;
  }
  return withParentDeathSignal(ssh, process.arch, process.pid);
}

/**
 * Starts `ssh -N` as the master of a private control socket (a directory of mode 0700 from
 * mkdtemp), with the destination exactly as the stream would connect to it (same host key
 * checking, keys, keepalives, ConnectTimeout). It runs with a parent-death SIGTERM (set by perl,
 * then exec: see withParentDeathSignal): if this process dies without stopping it, even by
 * SIGKILL, the kernel ends it, so no logged-in connection outlives the run. Where that signal
 * cannot be had (an unknown architecture) no master is started. Nothing here throws: a master
 * that cannot start is a master that is never ready.
 */
export function startMaster(target: StreamSshTarget, program = 'ssh'): StreamMaster {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'cyber-zfs-backup-link-'));
  } catch {
    return NO_MASTER;
  }
  const socket = join(dir, 'master');
  const log = join(dir, 'master.log');
  const argv = masterArgv(target, program, socket, log);
  if (!argv) {
    rmSync(dir, { recursive: true, force: true });
    return NO_MASTER;
  }
  const [perl = 'perl', ...args] = argv;
  let ended = false;
  let stopped = false;
  let child: ReturnType<typeof execa> | undefined;
  try {
    child = execa(perl, args, {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'ignore',
      reject: false,
      env: { LC_ALL: 'C' },
    });
    void child.then(() => {
      ended = true;
    });
    // A master waiting for sessions must not keep the process alive once the run is over.
    child.unref();
  } catch {
    ended = true;
  }
  const deadline = Date.now() + target.connectTimeoutSeconds * 1000;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (!ended && child?.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let loggedIn: Promise<string | undefined> | undefined;
  const waitForLogin = () =>
    (loggedIn ??= new Promise<string | undefined>((resolve) => {
      const look = () => {
        if (stopped || ended) return resolve(undefined);
        if (existsSync(socket)) return resolve(socket);
        // Not logged in within its ConnectTimeout: ended here, and the stream connects by itself.
        if (Date.now() >= deadline) {
          stop();
          return resolve(undefined);
        }
        setTimeout(look, POLL_MS);
      };
      look();
    }));
  // Asked again for each stream: a master that has ended since is not offered.
  const ready = () => waitForLogin().then((found) => (ended || stopped ? undefined : found));
  return {
    ready,
    mark: () => {
      const offset = logLength(log);
      return () => readLogSince(log, offset);
    },
    stop,
  };
}
