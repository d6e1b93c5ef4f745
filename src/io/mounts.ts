// The mount points in use on this host right now (/proc/self/mounts), so a restore never mounts over one.
import { readFileSync } from 'node:fs';

/** Decodes the octal escapes the kernel writes for space, tab, newline and backslash. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Every mount point (second field of /proc/self/mounts); empty when it cannot be read. */
export function mountedPaths(file = '/proc/self/mounts'): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[1];
    if (field !== undefined && field !== '') paths.add(unescape(field));
  }
  return paths;
}
