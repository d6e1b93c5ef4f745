// Word wrap for --help: what yargs 17's ES module build lacks (its stand-in cuts words in two), given to its cliui by the bundler.
import { stripVTControlCharacters } from 'node:util';

export const stripAnsi = stripVTControlCharacters;

/** Width in characters (code points), as cliui counts it. */
const width = (s: string) => [...s].length;

/**
 * `text` with every line no wider than `columns` characters, broken between words; a line's leading
 * indentation is kept, spaces at a break are dropped, and only a word wider than a line is cut.
 */
export function wrap(text: string, columns: number): string {
  if (!(columns > 0)) return text;
  const lines: string[] = [];
  for (const input of text.split('\n')) {
    if (width(input) <= columns) {
      lines.push(input);
      continue;
    }
    const indent = /^ */.exec(input)?.[0] ?? '';
    let line = indent.length < columns ? indent : '';
    let hasWord = false;
    for (const word of input.slice(indent.length).split(' ').filter((w) => w !== '')) {
      const joined = hasWord ? `${line} ${word}` : `${line}${word}`;
      if (width(joined) <= columns) {
        line = joined;
        hasWord = true;
        continue;
      }
      if (hasWord) {
        lines.push(line);
        line = '';
      }
      // A word wider than what is left of the line fills it, then whole lines.
      let rest = [...word];
      while (width(line) + rest.length > columns) {
        const room = columns - width(line);
        lines.push(line + rest.slice(0, room).join(''));
        line = '';
        rest = rest.slice(room);
      }
      line += rest.join('');
      hasWord = true;
    }
    if (hasWord) lines.push(line);
  }
  return lines.join('\n');
}
