// The zero-copy relay's status lines: its first bytes, the bytes handed on so far, its end.

/** One line of the relay's status: its first bytes, the bytes handed on so far, or its end (with errno if a splice failed). */
export type RelayStatus = { kind: 'first' } | { kind: 'bytes'; bytes: number } | { kind: 'end'; bytes: number; errno: number | undefined };

/** Reads one status line (`first`, `bytes N`, `end N [ERRNO]`); undefined for anything else. */
export function parseRelayStatus(line: string): RelayStatus | undefined {
  if (line === 'first') return { kind: 'first' };
  const m = /^(bytes|end) (\d+)(?: (\d+))?$/.exec(line);
  if (!m) return undefined;
  const bytes = Number(m[2]);
  if (m[1] === 'bytes') return m[3] === undefined ? { kind: 'bytes', bytes } : undefined;
  return { kind: 'end', bytes, errno: m[3] === undefined ? undefined : Number(m[3]) };
}
