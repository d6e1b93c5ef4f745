// Word wrap for --help: what yargs 17's ES module build lacks (its stand-in cuts words in two), given to its cliui by the bundler.
import { stripVTControlCharacters } from 'node:util';

export const stripAnsi = stripVTControlCharacters;

/** Splits a word longer than a whole line into pieces of `width` characters. */
function pieces(word: string, width: number): string[] {
  const chars = [...word];
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += width) out.push(chars.slice(i, i + width).join(''));
  return out;
}

/**
 * `text` with every line no wider than `width` characters, broken between words; a line's leading
 * indentation is kept, spaces at a break are dropped, and only a word wider than a line is cut.
 */
export function wrap(text: string, width: number): string {
  if (!(width > 0)) return text;
  const lines: string[] = [];
  for (const input of text.split('\n')) {
    if ([...input].length <= width) {
      lines.push(input);
      continue;
    }
    const indent = /^ */.exec(input)?.[0] ?? '';
    let line = indent.length < width ? indent : '';
    let hasWord = false;
    for (const word of input.slice(indent.length).split(' ').filter((w) => w !== '')) {
      const joined = hasWord ? `${line} ${word}` : `${line}${word}`;
      if ([...joined].length <= width) {
        line = joined;
        hasWord = true;
        continue;
      }
      // A word wider than a line is cut: after the indentation if the line holds nothing else yet.
      const room = hasWord ? width : width - [...line].length;
      const lead = hasWord ? '' : line;
      if (hasWord) lines.push(line);
      const chars = [...word];
      const cut = [chars.slice(0, room).join(''), ...pieces(chars.slice(room).join(''), width)].filter((p) => p !== '');
      cut[0] = `${lead}${cut[0] ?? ''}`;
      lines.push(...cut.slice(0, -1));
      line = cut[cut.length - 1] ?? '';
      hasWord = true;
    }
    if (hasWord) lines.push(line);
  }
  return lines.join('\n');
}
