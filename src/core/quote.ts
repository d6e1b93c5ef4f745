// The one function that quotes words for the remote shell (POSIX sh single quotes).

/** Quotes one word so that a POSIX shell passes it through unchanged. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argv into one command line for the remote shell; every word is quoted. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
