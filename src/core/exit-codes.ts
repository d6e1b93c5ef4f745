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

/**
 * Of several failures (one per destination), the one a person must look at first: a refusal to
 * protect data or an internal error before a full receiver, a missing permission, a missing
 * dataset or a usage error, and those before a link that was down or a busy lock, which the next
 * run usually clears by itself.
 */
const SEVERITY: readonly ExitCodeValue[] = [ExitCode.internal, ExitCode.dataRefused, ExitCode.cannotCreate, ExitCode.notPermitted, ExitCode.noInput, ExitCode.usage, ExitCode.unavailable, ExitCode.temporary];

export function worstExitCode(codes: readonly ExitCodeValue[]): ExitCodeValue {
  let worst: ExitCodeValue = ExitCode.ok;
  for (const code of codes) {
    if (code === ExitCode.ok) continue;
    if (worst === ExitCode.ok || SEVERITY.indexOf(code) < SEVERITY.indexOf(worst)) worst = code;
  }
  return worst;
}

/** Failures already printed one line each (several destinations); the CLI only takes the exit code. */
export class ReportedFailures extends BackupError {
  constructor(exitCode: ExitCodeValue, count: number) {
    super(exitCode, `${count} push(es) failed (each said why above)`);
    this.name = 'ReportedFailures';
  }
}
