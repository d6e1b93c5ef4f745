// How large the push stream's pipes are made: a pipe holds 64 KiB unless asked for more, and the relay between zfs send and ssh costs a wake-up and two system calls for every pipeful.

/** What the stream's pipes are asked to hold: Linux's own ceiling for unprivileged processes, and enough that the relay moves 1 MiB at a time. */
export const STREAM_PIPE_BYTES = 1024 * 1024;

/** What every Linux pipe holds without being asked: the size below which enlarging is pointless. */
const DEFAULT_PIPE_BYTES = 64 * 1024;

/**
 * The size to ask for, given the text of /proc/sys/fs/pipe-max-size (undefined when it cannot be
 * read): 1 MiB, or less when the administrator has lowered the ceiling; never more, even for root,
 * who may pass it. Undefined when a larger pipe cannot be had, so nothing is asked.
 */
export function streamPipeSize(maxSizeText: string | undefined): number | undefined {
  if (maxSizeText === undefined) return STREAM_PIPE_BYTES;
  const text = maxSizeText.trim();
  if (!/^\d+$/.test(text)) return STREAM_PIPE_BYTES;
  const ceiling = Math.min(Number(text), STREAM_PIPE_BYTES);
  return ceiling > DEFAULT_PIPE_BYTES ? ceiling : undefined;
}
