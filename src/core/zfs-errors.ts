// Maps what zfs prints on failure to an exit code and a hint an administrator can act on.
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { EARLIER_RECEIVE_MARK } from './link';

/** zfs succeeded but printed something this tool cannot read (another zfs version, or a wrapper in between). */
export class ZfsOutputError extends Error {}

export interface ZfsFailure {
  exitCode: ExitCodeValue;
  hint: string;
}

/** Classifies zfs's stderr; `side` says whose zfs it was, for the hint. */
export function classifyZfsError(stderr: string, side: 'local' | 'remote'): ZfsFailure {
  const text = stderr.toLowerCase();
  const where = side === 'local' ? 'on this host' : 'on the receiving host';
  if (text.includes('cyber-zfs-backup serve: refused')) {
    return { exitCode: ExitCode.notPermitted, hint: "the offsite host's serve does not allow this for this key (its authorized_keys line sets --root and --append-only)" };
  }
  if (/another cyber-zfs-backup run \(pid \d+\) is working on/.test(text)) {
    return { exitCode: ExitCode.temporary, hint: 'the offsite host is expiring or receiving that tree right now; run again later, and the push goes on from where it stopped' };
  }
  if (text.includes(`serve: ${EARLIER_RECEIVE_MARK}`)) {
    return { exitCode: ExitCode.temporary, hint: 'serve there ends that receive by itself once it has read nothing for a while (its client is then gone): run again after that' };
  }
  if (side === 'remote' && /dataset is busy/.test(text)) {
    return { exitCode: ExitCode.temporary, hint: 'an earlier receive into that dataset is probably still running there, left by a run whose connection died; it ends when that connection times out there: run again after that' };
  }
  if (/permission denied|must be root|operation not permitted|insufficient privileges|sudo: .*password is required|not in the sudoers/.test(text)) {
    return {
      exitCode: ExitCode.notPermitted,
      hint: side === 'local'
        ? 'run as root, or delegate the needed permissions with "zfs allow"'
        : 'give the SSH user delegated permissions on the receiver ("zfs allow") or use --use-sudo with a NOPASSWD sudoers rule for zfs',
    };
  }
  if (/out of space|no space left|quota exceeded/.test(text)) {
    return { exitCode: ExitCode.cannotCreate, hint: `free space ${where} (or raise its quota), then run again` };
  }
  if (/destination '[^']*' does not exist|destination does not exist/.test(text)) {
    return { exitCode: ExitCode.noInput, hint: `the parent of the receive dataset is missing ${where}: create it (zfs create -p PARENT) or fix --zfs-receive-dataset` };
  }
  if (/dataset does not exist/.test(text)) {
    return { exitCode: ExitCode.noInput, hint: `check the dataset name ${where} with "zfs list"` };
  }
  if (/failed to initialize zfs library|daemon is running|\/dev\/zfs|command not found|zfs: not found/.test(text)) {
    return { exitCode: ExitCode.unavailable, hint: `ZFS is not usable ${where}: load the zfs module (or start zfs-fuse) and check that zfs is installed` };
  }
  return { exitCode: ExitCode.internal, hint: 'see the zfs message above; nothing more was changed after it' };
}

/** The last meaningful line of zfs's stderr, for a one-line message. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^usage:/i.test(l));
  return lines.find((l) => /cannot|error|denied|does not exist|failed|invalid/i.test(l)) ?? lines[0] ?? '(no message)';
}

/**
 * Why zfs would not destroy a snapshot that is otherwise fine to keep for now (a hold placed since the
 * listing, a temporary hold of a running or killed send, a clone made from it), or undefined when the
 * failure is something else. OpenZFS destroys a comma list all or nothing, so one such snapshot
 * fails its whole batch.
 */
export function destroyBlockedReason(stderr: string): 'held or busy' | 'cloned' | undefined {
  if (/dependent clones|snapshot is cloned/i.test(stderr)) return 'cloned';
  if (/dataset is busy|snapshot is held|it has user holds/i.test(stderr)) return 'held or busy';
  return undefined;
}
