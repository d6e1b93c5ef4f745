// The zero-copy relay's status lines, read into what the stream needs.
import test from 'ava';
import { parseRelayStatus, type RelayStatus } from '../../src/core/relay-status';

const lines: Array<[string, RelayStatus | undefined]> = [
  ['first', { kind: 'first' }],
  ['bytes 4194304', { kind: 'bytes', bytes: 4194304 }],
  ['end 1073741824', { kind: 'end', bytes: 1073741824, errno: undefined }],
  ['end 1048576 32', { kind: 'end', bytes: 1048576, errno: 32 }],
  ['end 0', { kind: 'end', bytes: 0, errno: undefined }],
  ['bytes 12 32', undefined],
  ['bytes -1', undefined],
  ['bytes', undefined],
  ['first ', undefined],
  ["Can't locate Foo.pm in @INC", undefined],
  ['', undefined],
];

for (const [line, expected] of lines) {
  test(`parseRelayStatus(${JSON.stringify(line)})`, (t) => {
    t.deepEqual(parseRelayStatus(line), expected);
  });
}
