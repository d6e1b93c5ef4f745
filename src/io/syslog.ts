// The offsite host's record of what serve did: one syslog line per event (through logger(1)), and optionally a file.
import { appendFileSync } from 'node:fs';
import { execa } from 'execa';

export type SyslogPriority = 'info' | 'notice' | 'warning' | 'err';

export type Syslog = (priority: SyslogPriority, message: string) => Promise<void>;

/** The tag journalctl -t and syslog filters select on. */
export const SERVE_SYSLOG_TAG = 'cyber-zfs-backup-serve';

/**
 * Writes each line to syslog (the journal on systemd hosts) with logger(1), best effort and bounded
 * to a few seconds, and appends it to `file` when given (the tests read it; an administrator
 * without syslog can use it).
 */
export function makeSyslog(pid: number, file: string | undefined, now: () => number): Syslog {
  return async (priority, message) => {
    if (file !== undefined) {
      try {
        appendFileSync(file, `${new Date(now()).toISOString()} ${SERVE_SYSLOG_TAG}[${pid}] ${priority}: ${message}\n`);
      } catch {
        /* the syslog line below still goes out */
      }
    }
    await execa('logger', ['-t', SERVE_SYSLOG_TAG, `--id=${pid}`, '-p', `daemon.${priority}`, '--', message], { reject: false, timeout: 5000, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' }).catch(() => undefined);
  };
}
