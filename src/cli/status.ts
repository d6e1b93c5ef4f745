// `--action status`: wires the real adapters, prints the Nagios line and table (or JSON), and returns the plugin's exit code 0-3.
import { hostname } from 'node:os';
import { receivedStatus, treeStatus } from '../app/status';
import { Level } from '../core/status';
import { nagiosLine, receivedReport, treeReport } from '../core/status-output';
import { runCommand } from '../io/command';
import { createLogger } from '../io/logger';
import { openSession } from '../io/ssh-session';
import { makeStateFiles, stateDirectory } from '../io/state-files';
import { makeLocalZfs } from '../io/zfs';
import type { CliOptions, StatusCliOptions } from './args';

/**
 * The clock status judges by. CYBER_ZFS_BACKUP_TEST_NOW (an ISO time) exists for the tests, which
 * need snapshots of a known age; it changes nothing but what status prints and returns.
 */
function statusNow(): number | string {
  const fixed = process.env.CYBER_ZFS_BACKUP_TEST_NOW;
  if (fixed === undefined || fixed === '') return Date.now();
  const ms = Date.parse(fixed);
  return Number.isFinite(ms) ? ms : `CYBER_ZFS_BACKUP_TEST_NOW=${JSON.stringify(fixed)} is not a time`;
}

/** A status that cannot even start (a usage error, a broken clock) is UNKNOWN, said the plugin way. */
export function unknownStatus(reason: string, json: boolean): number {
  process.stdout.write(json ? `${JSON.stringify({ status: 'UNKNOWN', exitCode: Level.unknown, summary: reason })}\n` : `${nagiosLine(Level.unknown, reason, [])}\n`);
  return Level.unknown;
}

export async function statusMain(options: CliOptions & { status: StatusCliOptions }, journal: boolean): Promise<number> {
  const now = statusNow();
  if (typeof now === 'string') return unknownStatus(now, options.status.json);
  // Warnings go to stderr; stdout carries only the plugin's output.
  const log = createLogger({ level: options.debug ? 'debug' : options.verbose ? 'info' : 'warn', journal, out: process.stderr });
  const zfsProgram = process.env.CYBER_ZFS_BACKUP_ZFS ?? 'zfs';
  const deps = { zfs: makeLocalZfs(runCommand, log, zfsProgram), log, now: () => now };
  try {
    const report = options.status.received
      ? receivedReport(await receivedStatus(deps, options.dataset, options.status.thresholds))
      : treeReport(
          await treeStatus(
            { ...deps, runner: runCommand, connect: openSession, zfsProgram, files: makeStateFiles(stateDirectory(process.env.STATE_DIRECTORY), () => now) },
            { dataset: options.dataset, destinations: options.destinations, sshConfig: options.sshConfig, useSudo: options.useSudo, thresholds: options.status.thresholds },
          ),
        );
    process.stdout.write(options.status.json ? `${JSON.stringify(report.json, null, 2)}\n` : `${[report.firstLine, ...report.table].join('\n')}\n`);
    return report.exitCode;
  } catch (error) {
    return unknownStatus(`status could not decide: internal error on ${hostname()}: ${(error as Error)?.message ?? String(error)}; please report this`, options.status.json);
  }
}
