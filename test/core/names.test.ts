// Table tests for dataset name validation and our timestamp snapshot names.
import test from 'ava';
import { datasetNameProblem, parseSnapshotTime, relativeDataset, snapshotNameFor, splitSnapshot } from '../../src/core/names';

const valid = ['zippy/zippy', 'tank', 'tank/a-b_c.d:e', 'offsite/zippy/home', 'a1/2/3'];
const invalid: Array<[string, RegExp]> = [
  ['', /empty/],
  ['tank/a;rm -rf /', /white space|";"/],
  ['tank/a b', /white space/],
  ['-tank/a', /starts with "-"/],
  ['tank/a@snap', /"@"/],
  ['tank/a#bm', /"#"/],
  ['tank/$(reboot)', /"\$"/],
  ['tank/`id`', /"`"/],
  ["tank/it's", /"'"/],
  ['tank/a|b', /"\|"/],
  ['tank/a\nb', /white space/],
  ['tank//a', /empty component/],
  ['tank/', /empty component/],
  ['/tank', /empty component/],
  ['tank/..', /".." component/],
  ['1tank/a', /start with a letter/],
  ['mirror/a', /reserved/],
  ['c0t0d0/a', /reserved/],
  ['tank/' + 'x'.repeat(260), /longer than 255/],
  ['tank/é', /only letters, digits/],
];

for (const name of valid) test(`valid dataset name ${name}`, (t) => t.is(datasetNameProblem(name), undefined));
for (const [name, why] of invalid) test(`invalid dataset name ${JSON.stringify(name).slice(0, 40)}`, (t) => t.regex(datasetNameProblem(name) ?? '', why));

const times: Array<[string, number | undefined]> = [
  ['2026-11-22T22:45:00Z', Date.UTC(2026, 10, 22, 22, 45, 0)],
  ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ['2026-02-29T00:00:00Z', undefined],
  ['2026-13-01T00:00:00Z', undefined],
  ['2026-11-22T24:00:00Z', undefined],
  ['2026-11-22T22:45:00+00:00', undefined],
  ['2026-11-22T22:45:00.000Z', undefined],
  ['2026-11-22 22:45:00Z', undefined],
  ['manual', undefined],
  [' 2026-11-22T22:45:00Z', undefined],
];
for (const [name, expected] of times) test(`snapshot time of ${JSON.stringify(name)}`, (t) => t.is(parseSnapshotTime(name), expected));

test('snapshotNameFor formats UTC to the second, with Z', (t) => {
  t.is(snapshotNameFor(Date.UTC(2026, 10, 22, 22, 45, 0, 999)), '2026-11-22T22:45:00Z');
  t.is(snapshotNameFor(Date.UTC(1999, 11, 31, 23, 59, 59)), '1999-12-31T23:59:59Z');
});

test('splitSnapshot and relativeDataset', (t) => {
  t.deepEqual(splitSnapshot('tank/a@2026-11-22T22:45:00Z'), { dataset: 'tank/a', snapshot: '2026-11-22T22:45:00Z' });
  t.is(splitSnapshot('tank/a'), undefined);
  t.is(splitSnapshot('tank/a@'), undefined);
  t.is(relativeDataset('tank/h', 'tank/h'), '');
  t.is(relativeDataset('tank/h', 'tank/h/a/b'), 'a/b');
  t.is(relativeDataset('tank/h', 'tank/home'), undefined);
});
