// The stream pipes' size from /proc/sys/fs/pipe-max-size: 256 KiB, less under a lowered ceiling, nothing asked when no larger pipe can be had.
import test from 'ava';
import { STREAM_PIPE_BYTES, streamPipeSize } from '../../src/core/pipe-size';

const rows: Array<[string, string | undefined, number | undefined]> = [
  ['the kernel default ceiling (1 MiB): 256 KiB', '1048576\n', 262144],
  ['a raised ceiling: still 256 KiB', '16777216\n', 262144],
  ['a ceiling of exactly 256 KiB', '262144\n', 262144],
  ['a lowered ceiling', '131072\n', 131072],
  ['a ceiling that is not a whole number of pages is asked as is (the kernel rounds up)', '200000\n', 200000],
  ['a ceiling at the default size: nothing asked', '65536\n', undefined],
  ['a ceiling below the default size: nothing asked', '4096\n', undefined],
  ['cannot be read: 256 KiB, the kernel refuses if it must', undefined, 262144],
  ['not a number: 256 KiB', 'max\n', 262144],
  ['empty: 256 KiB', '', 262144],
];

for (const [title, text, expected] of rows) {
  test(`streamPipeSize: ${title}`, (t) => {
    t.is(streamPipeSize(text), expected);
  });
}
