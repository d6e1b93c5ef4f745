// Exit codes (sysexits.h) and the one error type that carries an exit code to the CLI.

export const ExitCode = {
  ok: 0,
  usage: 64,
  dataRefused: 65,
  noInput: 66,
  unavailable: 69,
  internal: 70,
  cannotCreate: 73,
  temporary: 75,
  notPermitted: 77,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the administrator can act on: one line of what/where/what to do, and its exit code. */
export class BackupError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Further lines (evidence, recovery commands) printed after the one-line message. */
  readonly details: readonly string[];

  constructor(exitCode: ExitCodeValue, message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'BackupError';
    this.exitCode = exitCode;
    this.details = details;
  }
}
