// Table tests of the --warning/--critical thresholds: the values parsed and refused, and the defaults.
import test from 'ava';
import { DEFAULT_CRITICAL_SECONDS, DEFAULT_WARNING_SECONDS, parseAge } from '../../src/core/age-threshold';

const parsed: Array<[string, number]> = [
  ['90s', 90],
  ['30m', 1800],
  ['26h', 93600],
  ['2d', 172800],
  ['1s', 1],
  [' 50h ', 180000],
  ['3650d', 3650 * 86400],
];
for (const [text, seconds] of parsed) {
  test(`parseAge(${JSON.stringify(text)}) is ${seconds} s`, (t) => t.deepEqual(parseAge(text), { seconds }));
}

const refused: Array<[string, RegExp]> = [
  ['26', /not an age/],
  ['h', /not an age/],
  ['1.5h', /not an age/],
  ['-2d', /not an age/],
  ['2w', /not an age/],
  ['2 d', /not an age/],
  ['', /not an age/],
  ['0h', /zero/],
  ['3651d', /more than ten years/],
];
for (const [text, reason] of refused) {
  test(`parseAge(${JSON.stringify(text)}) is refused`, (t) => {
    const result = parseAge(text);
    t.true('problem' in result);
    if ('problem' in result) t.regex(result.problem, reason);
  });
}

test('the defaults: WARNING after one missed daily run (26 h), CRITICAL after two (50 h)', (t) => {
  t.is(DEFAULT_WARNING_SECONDS, 26 * 3600);
  t.is(DEFAULT_CRITICAL_SECONDS, 50 * 3600);
});
