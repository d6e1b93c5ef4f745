// Builds the remote command lines: zfs argv, optional `sudo -n`, a PATH that finds zfs, one quoting function.
import { shellCommand } from './quote';

/** Non-interactive SSH sessions often lack the sbin directories where zfs lives. */
export const REMOTE_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function remoteZfsCommand(zfsArgs: readonly string[], useSudo: boolean): string {
  // sudo resolves zfs through its own secure_path, and sudoers rules usually name zfs itself.
  const prefix = useSudo ? ['sudo', '-n', 'zfs'] : ['env', REMOTE_PATH, 'zfs'];
  return shellCommand([...prefix, ...zfsArgs]);
}

/** Several zfs commands run in order, stopping at the first failure. */
export function remoteZfsSequence(commands: readonly (readonly string[])[], useSudo: boolean): string {
  return commands.map((c) => remoteZfsCommand(c, useSudo)).join(' && ');
}

/** Ends each command's output in a batch; zfs never prints a line that starts with "#" and holds a space. */
export const BATCH_MARK = '# czb-batch end';

/** One command's share of a batch's output; `code` null when the batch stopped before it ended. */
export interface BatchPart {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Several zfs commands in one remote exec (each SSH exec costs a round trip and a login shell):
 * each runs whatever the previous one did, and is followed on stdout by a mark carrying its exit
 * status and on stderr by a bare mark, so `splitBatch` can give each its own output back.
 */
export function remoteZfsBatch(commands: readonly (readonly string[])[], useSudo: boolean): string {
  return batchScript(commands.map((c) => remoteZfsCommand(c, useSudo)));
}

/** The batch around command lines already built and quoted. */
export function batchScript(commandLines: readonly string[]): string {
  return commandLines.map((line) => `${line}; s=$?; printf '\\n${BATCH_MARK} %s\\n' "$s"; printf '\\n${BATCH_MARK}\\n' >&2`).join('; ');
}

/** The line a plain receiver's shell prints on stderr before it dies by the signal that killed its receive: OpenSSH's client reports no signal's name, this line does. */
export const KILLED_MARK = 'czb: the receive was killed by signal';

/** The signal name (`SIGKILL`) in a killed receive's line, if `stderr` holds one. */
export function killedBySignal(stderr: string): string | undefined {
  return new RegExp(`^${KILLED_MARK} (SIG[A-Z0-9]+)$`, 'm').exec(stderr)?.[1];
}

/**
 * A receive and, only when it succeeded, a batch of listings after it on its stdout (zfs receive
 * prints nothing there): the check after a push then needs no remote command, and no login, of
 * its own. The command's exit status stays the receive's, and a receive killed by a signal kills
 * the shell with the same signal, so the channel still reports a signal, not a number (and a line
 * names it on stderr, for a client that does not pass the signal's name on).
 */
export function receiveThenBatch(receiveLine: string, commandLines: readonly string[]): string {
  return `${receiveLine}; s=$?; if [ "$s" -eq 0 ]; then ${batchScript(commandLines)}; elif [ "$s" -gt 128 ]; then printf '${KILLED_MARK} SIG%s\\n' "$(kill -l "$((s - 128))")" >&2; kill -"$((s - 128))" $$; fi; exit "$s"`;
}

export function splitBatch(count: number, stdout: string, stderr: string): BatchPart[] {
  const outs = stdout.split(new RegExp(`\\n${BATCH_MARK} (\\d+)\\n`));
  const errs = stderr.split(`\n${BATCH_MARK}\n`);
  const parts: BatchPart[] = [];
  for (let i = 0; i < count; i += 1) {
    const ended = 2 * i + 1 < outs.length;
    parts.push({
      code: ended ? Number(outs[2 * i + 1]) : null,
      stdout: ended || 2 * i === outs.length - 1 ? (outs[2 * i] ?? '') : '',
      stderr: errs[i] ?? '',
    });
  }
  return parts;
}
