// Table tests of --help's word wrap: lines no wider than asked, broken between words, indentation kept.
import test from 'ava';
import { runCli } from '../bed/cli';
import { stripAnsi, wrap } from '../../src/cli/help-wrap';

const rows: Array<[string, number, string]> = [
  ['fits as it is', 20, 'fits as it is'],
  ['snapshot expire push; status and restore run alone', 20, 'snapshot expire\npush; status and\nrestore run alone'],
  ['exactly twenty chars', 20, 'exactly twenty chars'],
  ['exactly twenty chars!', 20, 'exactly twenty\nchars!'],
  ['  restrict,command="/usr/bin/cyber-zfs-backup serve" KEY', 40, '  restrict,command="/usr/bin/cyber-zfs-b\nackup serve" KEY'],
  ['  two  spaces inside are kept when the line fits', 60, '  two  spaces inside are kept when the line fits'],
  ['a  b  c  d', 5, 'a b c\nd'],
  ['first line\nsecond line that is long', 12, 'first line\nsecond line\nthat is long'],
  ['abcdefghij', 4, 'abcd\nefgh\nij'],
  ['go abcdefghij', 4, 'go\nabcd\nefgh\nij'],
  ['× × × ×', 3, '× ×\n× ×'],
  ['', 10, ''],
  ['any text', 0, 'any text'],
];
for (const [text, width, wrapped] of rows) {
  test(`wrap(${JSON.stringify(text)}, ${width})`, (t) => {
    t.is(wrap(text, width), wrapped);
    if (width > 0) for (const line of wrapped.split('\n')) t.true([...line].length <= width, line);
  });
}

test('stripAnsi drops colour codes', (t) => {
  t.is(stripAnsi('\u001b[31mred\u001b[39m plain'), 'red plain');
});

// Phrases that yargs' own ES module wrap cut in two at 100 columns ("snap shot", "defaul t").
const whole: Array<[string[], string[]]> = [
  [['--help'], ['(default: snapshot expire push)', '(default 50h)', 'worst first', 'e.g. 20M', '(90s, 30m, 26h, 2d; default 26h)']],
  [['serve', '--help'], ['ServerAliveInterval × (ServerAliveCountMax + 1)', 'everything below it']],
];
for (const [args, phrases] of whole) {
  test(`the built CLI's ${args.join(' ')} wraps between words, no line over 100 columns`, (t) => {
    const r = runCli(args);
    t.is(r.code, 0, r.stderr);
    for (const line of r.stdout.split('\n')) t.true([...line].length <= 100, line);
    const collapsed = r.stdout.replace(/\s+/g, ' ');
    for (const phrase of phrases) t.true(collapsed.includes(phrase), `${phrase} in:\n${r.stdout}`);
  });
}
