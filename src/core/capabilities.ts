// What a zfs command line supports, read from the usage text it prints; never assumed.

export interface ZfsCapabilities {
  /** 'openzfs' when the CLI has `zfs version`; 'legacy' for zfs-fuse and other old ports. */
  flavour: 'openzfs' | 'legacy';
  /** Single-letter flags `zfs send` lists, e.g. R I L e c w. */
  sendFlags: ReadonlySet<string>;
  /** Single-letter flags `zfs receive` lists. */
  receiveFlags: ReadonlySet<string>;
  /** `zfs receive -o property=value`. */
  receiveSetsProperties: boolean;
  /** `zfs destroy pool/ds@a,b,c`. */
  destroyCommaList: boolean;
  /** `zfs list -p` (exact numbers). */
  listParsable: boolean;
  /** A working `zfs holds` (zfs-fuse lists it, but it needs a missing library). */
  holdsCommand: boolean;
}

function usageLines(usage: string, command: string): string[] {
  const re = new RegExp(`^\\s*${command}\\b(.*)$`);
  return usage.split('\n').flatMap((line) => {
    const m = re.exec(line);
    return m ? [m[1] as string] : [];
  });
}

/** Letters of every leading `[-abc]` group on a usage line. */
function flagLetters(lines: readonly string[]): Set<string> {
  const letters = new Set<string>();
  for (const line of lines) for (const m of line.matchAll(/\[-([A-Za-z]+)\]/g)) for (const c of m[1] as string) letters.add(c);
  for (const line of lines) for (const m of line.matchAll(/(?:^|[\s[])-([A-Za-z])(?=[\s\]]|$)/g)) letters.add(m[1] as string);
  return letters;
}

/** Parses the usage text `zfs` prints when run without arguments. */
export function parseCapabilities(usage: string): ZfsCapabilities {
  const openzfs = usageLines(usage, 'version').length > 0;
  const sendLines = usageLines(usage, 'send');
  const receiveLines = usageLines(usage, 'receive');
  const sendFlags = flagLetters(sendLines);
  if (sendLines.some((l) => l.includes('[-[iI]') || l.includes('[-[i|I]'))) {
    sendFlags.add('i');
    sendFlags.add('I');
  }
  const receiveFlags = flagLetters(receiveLines);
  const destroyCommaList = usageLines(usage, 'destroy').some((l) => l.includes('@') && l.includes('[,...]'));
  const listParsable = flagLetters(usageLines(usage, 'list')).has('p');
  return {
    flavour: openzfs ? 'openzfs' : 'legacy',
    sendFlags,
    receiveFlags,
    receiveSetsProperties: receiveLines.some((l) => l.includes('-o ') || l.includes('-o <')),
    destroyCommaList,
    listParsable,
    holdsCommand: openzfs && usageLines(usage, 'holds').length > 0,
  };
}
