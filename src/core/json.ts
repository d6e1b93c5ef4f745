// Reading JSON that another process or an earlier version wrote: undefined instead of a throw.

/** `text` parsed, or undefined when it is not JSON (half written, cut, or junk). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
