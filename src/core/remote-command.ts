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
