// The stream pipes' size from /proc/sys/fs/pipe-max-size: 1 MiB, less under a lowered ceiling, nothing asked when no larger pipe can be had.
import test from 'ava';
import { STREAM_PIPE_BYTES, streamPipeSize } from '../../src/core/pipe-size';

const rows: Array<[string, string | undefined, number | undefined]> = [
  ['the kernel default ceiling', '1048576\n', 1048576],
  ['a raised ceiling: still 1 MiB', '16777216\n', 1048576],
  ['a lowered ceiling', '262144\n', 262144],
  ['a ceiling that is not a whole number of pages is asked as is (the kernel rounds up)', '200000\n', 200000],
  ['a ceiling at the default size: nothing asked', '65536\n', undefined],
  ['a ceiling below the default size: nothing asked', '4096\n', undefined],
  ['cannot be read: 1 MiB, the kernel refuses if it must', undefined, 1048576],
  ['not a number: 1 MiB', 'max\n', 1048576],
  ['empty: 1 MiB', '', 1048576],
];

for (const [title, text, expected] of rows) {
  test(`streamPipeSize: ${title}`, (t) => {
    t.is(streamPipeSize(text), expected);
  });
}
