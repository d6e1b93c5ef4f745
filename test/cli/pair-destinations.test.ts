// Table tests of how repeated --ssh-destination and --zfs-receive-dataset pair up into offsite copies (pure: no pool, no sshd).
import test from 'ava';
import { pairDestinations, parseArgs, UsageError } from '../../src/cli/args';

const pairs: Array<[string[], string[], Array<[string, string]>]> = [
  [['offsite'], ['offsite/h'], [['offsite', 'offsite/h']]],
  [['a', 'b'], ['p/x', 'p/y'], [['a', 'p/x'], ['b', 'p/y']]], // the Nth with the Nth
  [['a', 'b', 'c'], ['p/x'], [['a', 'p/x'], ['b', 'p/x'], ['c', 'p/x']]], // one receive dataset for every host
  [['a'], ['p/x', 'p/y'], [['a', 'p/x'], ['a', 'p/y']]], // one host, two receive datasets
  [['a', 'a'], ['p/x', 'p/y'], [['a', 'p/x'], ['a', 'p/y']]],
  [['a', 'b'], ['p/x', 'p/x'], [['a', 'p/x'], ['b', 'p/x']]],
];
for (const [hosts, datasets, expected] of pairs) {
  test(`pairDestinations(${JSON.stringify(hosts)}, ${JSON.stringify(datasets)})`, (t) => {
    t.deepEqual(
      pairDestinations(hosts, datasets),
      expected.map(([sshDestination, receiveDataset]) => ({ sshDestination, receiveDataset })),
    );
  });
}

const refused: Array<[string[], string[], RegExp]> = [
  [['a', 'b'], ['p/x', 'p/y', 'p/z'], /2 --ssh-destination and 3 --zfs-receive-dataset do not pair up/],
  [['a', 'b', 'c'], ['p/x', 'p/y'], /3 --ssh-destination and 2 --zfs-receive-dataset do not pair up/],
  [['a', 'a'], ['p/x'], /--ssh-destination a with --zfs-receive-dataset p\/x is given twice/],
  [['a'], ['p/x', 'p/x'], /is given twice/],
  [['a', 'b', 'a'], ['p/x', 'p/y', 'p/x'], /--ssh-destination a with --zfs-receive-dataset p\/x is given twice/],
];
for (const [hosts, datasets, message] of refused) {
  test(`pairDestinations(${JSON.stringify(hosts)}, ${JSON.stringify(datasets)}) is a usage error`, (t) => {
    t.throws(() => pairDestinations(hosts, datasets), { instanceOf: UsageError, message });
  });
}

// The flags as an administrator writes them: repeated, or several values after one flag.
const argvs: Array<[string[], Array<[string, string]>]> = [
  [[], [['offsite', 'offsite/h']]],
  [['--ssh-destination', 'a', '--ssh-destination', 'b'], [['a', 'offsite/h'], ['b', 'offsite/h']]],
  [['--ssh-destination', 'a', 'b', '--zfs-receive-dataset', 'p/x'], [['a', 'p/x'], ['b', 'p/x']]],
  [['--ssh-destination', 'a', '--zfs-receive-dataset', 'p/x', '--zfs-receive-dataset', 'p/y'], [['a', 'p/x'], ['a', 'p/y']]],
  [['--ssh-destination=a', '--zfs-receive-dataset=p/x', '--ssh-destination=b', '--zfs-receive-dataset=p/y'], [['a', 'p/x'], ['b', 'p/y']]],
  [['--zfs-receive-dataset', 'p/x', '--ssh-destination', 'a', '--zfs-receive-dataset', 'p/y', '--ssh-destination', 'b'], [['a', 'p/x'], ['b', 'p/y']]],
];
for (const [argv, expected] of argvs) {
  test(`parseArgs ${JSON.stringify(argv)} -> ${expected.map((p) => p.join(':')).join(', ')}`, async (t) => {
    const options = await parseArgs(argv, 'h', '1');
    if (options === 'exit') return t.fail();
    t.deepEqual(
      options.destinations,
      expected.map(([sshDestination, receiveDataset]) => ({ sshDestination, receiveDataset })),
    );
  });
}

test('any other flag given twice counts once, the last one, as in 0.5', async (t) => {
  const options = await parseArgs(['--dataset', 'a/b', '--dataset', 'c/d', '--action', 'snapshot', '--action', 'push', '--retention-policy', '1', '2', '3', '--retention-policy', '4', '5', '6', '--bwlimit', '1M', '--bwlimit', '2M'], 'h', '1');
  if (options === 'exit') return t.fail();
  t.is(options.dataset, 'c/d');
  t.deepEqual(options.actions, ['push']);
  t.deepEqual(options.retention, { days: 4, weeks: 5, months: 6 });
  t.is(options.bwlimit, 2 * 1048576);
});
