// Table tests of ages in words: the short form of the status line, luxon's relative words.
import test from 'ava';
import { durationWords, relativeAge, shortAge } from '../../src/core/age';

const short: Array<[number, string]> = [
  [0, '0 s'],
  [119, '119 s'],
  [120, '2 min'],
  [7199, '119 min'],
  [7200, '2 h'],
  [108000, '30 h'],
  [180000, '50 h'],
  [72 * 3600 - 1, '71 h'],
  [72 * 3600, '3 d'],
  [-7200, '-2 h'],
];
for (const [seconds, words] of short) {
  test(`shortAge(${seconds}) is "${words}"`, (t) => t.is(shortAge(seconds), words));
}

const NOW = Date.UTC(2026, 10, 3, 12, 0, 0);
const relative: Array<[number, string]> = [
  [30, '30 seconds ago'],
  [45 * 60, '45 minutes ago'],
  [3 * 3600, '3 hours ago'],
  [30.9 * 3600, '30 hours ago'],
  [50 * 3600, '50 hours ago'],
  [75 * 3600, '3 days ago'],
  [-2 * 3600, 'in 2 hours'],
];
for (const [ago, words] of relative) {
  test(`relativeAge ${ago} s before now is "${words}" (luxon)`, (t) => t.is(relativeAge(NOW - ago * 1000, NOW), words));
}

const durations: Array<[number, string]> = [
  [0, '0 seconds'],
  [86400, '24 hours'],
  [5400, '90 minutes'],
  [4 * 86400 + 7200, '4 days'],
];
for (const [seconds, words] of durations) {
  test(`durationWords(${seconds}) is "${words}" (luxon)`, (t) => t.is(durationWords(seconds), words));
}
