// Table tests of --bwlimit RATE: what is read as bytes per second, what is refused and why, how a rate is shown, and the limiter's schedule.
import test from 'ava';
import { dueAfter, formatRate, parseRate } from '../../src/core/rate';

const good: Array<[string, number]> = [
  ['20M', 20 * 1048576],
  ['8M', 8 * 1048576],
  ['8m', 8 * 1048576],
  ['8MiB', 8 * 1048576],
  ['8MB', 8 * 1048576],
  ['8M/s', 8 * 1048576],
  ['1.5G', 1.5 * 1073741824],
  ['512K', 512 * 1024],
  ['512k', 512 * 1024],
  ['1K', 1024],
  ['1048576', 1048576],
  [' 2M ', 2 * 1048576],
];
for (const [text, bytes] of good) {
  test(`parseRate(${JSON.stringify(text)}) = ${bytes} bytes per second`, (t) => {
    t.deepEqual(parseRate(text), { bytesPerSecond: bytes });
  });
}

const bad: Array<[string, RegExp]> = [
  ['', /is not a rate/],
  ['fast', /is not a rate/],
  ['-5M', /is not a rate/],
  ['20T', /is not a rate/],
  ['20 M M', /is not a rate/],
  ['1e6', /is not a rate/],
  ['20Mb', /looks like bits/],
  ['100Mbit', /looks like bits/],
  ['100mbps', /looks like bits/],
  ['0', /is below 1K/],
  ['0M', /is below 1K/],
  ['1000', /is below 1K/],
];
for (const [text, problem] of bad) {
  test(`parseRate(${JSON.stringify(text)}) is refused`, (t) => {
    const r = parseRate(text);
    t.true('problem' in r);
    if ('problem' in r) t.regex(r.problem, problem);
  });
}

const shown: Array<[number, string]> = [
  [8 * 1048576, '8 MiB/s'],
  [20 * 1048576, '20 MiB/s'],
  [1.5 * 1073741824, '1.5 GiB/s'],
  [512 * 1024, '512 KiB/s'],
  [1536 * 1024, '1.5 MiB/s'],
  [12.34 * 1048576, '12.3 MiB/s'],
  [500, '500 B/s'],
];
for (const [bytes, text] of shown) {
  test(`formatRate(${bytes}) = ${text}`, (t) => {
    t.is(formatRate(bytes), text);
  });
}

test('a rate shown reads back as the same rate', (t) => {
  for (const bytes of [1024, 8 * 1048576, 3 * 1073741824]) {
    const text = formatRate(bytes).replace(/iB\/s$/, '').replace(' ', '');
    t.deepEqual(parseRate(text), { bytesPerSecond: bytes });
  }
});

// dueAfter(due, now, bytes, rate, slack): when the bytes so far plus `bytes` more are due.
const schedule: Array<[string, [number, number, number, number, number], number]> = [
  ['on time: the chunk is due its own time after the last', [1, 1, 1024, 1024, 2], 2],
  ['early: the schedule, not the clock, sets the time', [3, 1, 512, 1024, 2], 3.5],
  ['late by less than the slack: the schedule is kept, to catch up', [3, 4.5, 1024, 1024, 2], 4],
  ['late by more than the slack: it falls behind by the slack only', [3, 10, 1024, 1024, 2], 9],
  ['no slack: due from now', [3, 10, 2048, 1024, 0], 12],
  ['the first chunk', [0, 0, 1048576, 8 * 1048576, 2], 0.125],
];
for (const [what, [due, now, bytes, rate, slack], expected] of schedule) {
  test(`dueAfter: ${what}`, (t) => {
    t.is(dueAfter(due, now, bytes, rate, slack), expected);
  });
}
