// Gives a restored tree back the canmount, readonly and mountpoint its original had, read from the offsite copy's received values.
import { joinDataset, relativeDataset } from './names';
import { ZfsOutputError } from './zfs-errors';

/** The properties the offsite copy overrides to stay inert, and that a restore gives back. */
export const RESTORED_PROPERTIES = ['canmount', 'readonly', 'mountpoint'] as const;
export type RestoredProperty = (typeof RESTORED_PROPERTIES)[number];

/** The values the original host had set on a filesystem (its `received` values on the offsite copy); absent where it inherited or had the default. */
export type OriginalValues = Partial<Record<RestoredProperty, string>>;

export class RestorePropertyError extends ZfsOutputError {}

const typeFilter = (openzfs: boolean): string[] => (openzfs ? ['-t', 'filesystem'] : []);

/** The offsite copy's received values (zfs-fuse has `get -o received` but no `get -t`: snapshot lines are skipped). */
export function originalValuesArgs(dataset: string, openzfs: boolean): string[] {
  return ['get', '-H', '-p', '-o', 'name,property,received', ...typeFilter(openzfs), '-r', RESTORED_PROPERTIES.join(','), dataset];
}

/** The restored tree's values with their received values and sources. */
export function propertyStateArgs(dataset: string, openzfs: boolean): string[] {
  return ['get', '-H', '-p', '-o', 'name,property,value,received,source', ...typeFilter(openzfs), '-r', RESTORED_PROPERTIES.join(','), dataset];
}

/** The effective values a restored tree's root would inherit from its parent. */
export function parentValuesArgs(parent: string): string[] {
  return ['get', '-H', '-p', '-o', 'property,value', 'readonly,mountpoint', parent];
}

/** Which datasets are encrypted (OpenZFS; zfs-fuse has no encryption). */
export function encryptionArgs(dataset: string): string[] {
  return ['get', '-H', '-p', '-o', 'name,value', '-t', 'filesystem,volume', '-r', 'encryption', dataset];
}

function isRestored(p: string): p is RestoredProperty {
  return (RESTORED_PROPERTIES as readonly string[]).includes(p);
}

function lines(stdout: string, fields: number, what: string): string[][] {
  const out: string[][] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const f = line.split('\t');
    if (f.length !== fields) throw new RestorePropertyError(`unexpected ${what} line: ${JSON.stringify(line)}`);
    out.push(f);
  }
  return out;
}

/** Reads originalValuesArgs' output: per filesystem (path below `root`), the values set on the original. */
export function parseOriginalValues(root: string, stdout: string): Map<string, OriginalValues> {
  const out = new Map<string, OriginalValues>();
  for (const [name, property, received] of lines(stdout, 3, 'zfs get') as Array<[string, string, string]>) {
    if (name.includes('@') || !isRestored(property)) continue;
    const relative = relativeDataset(root, name);
    if (relative === undefined) continue;
    const values = out.get(relative) ?? {};
    if (received !== '-' && received !== '') values[property] = received;
    out.set(relative, values);
  }
  return out;
}

export interface PropertyState {
  value: string;
  /** The received value, undefined when there is none. */
  received: string | undefined;
  source: 'local' | 'received' | 'inherited' | 'default' | 'other';
}

export type FilesystemState = Record<RestoredProperty, PropertyState>;

function sourceOf(text: string): PropertyState['source'] {
  if (text === 'local' || text === 'received' || text === 'default') return text;
  return text.startsWith('inherited') ? 'inherited' : 'other';
}

/** Reads propertyStateArgs' output: the filesystems of the tree (a volume shows "-" for mountpoint and is left out), parents first. */
export function parsePropertyStates(root: string, stdout: string): Map<string, FilesystemState> {
  const partial = new Map<string, Partial<FilesystemState>>();
  for (const [name, property, value, received, source] of lines(stdout, 5, 'zfs get') as Array<[string, string, string, string, string]>) {
    if (name.includes('@') || !isRestored(property)) continue;
    const relative = relativeDataset(root, name);
    if (relative === undefined) continue;
    const entry = partial.get(relative) ?? {};
    entry[property] = { value, received: received === '-' || received === '' ? undefined : received, source: sourceOf(source) };
    partial.set(relative, entry);
  }
  const out = new Map<string, FilesystemState>();
  const ordered = [...partial.entries()].sort(([a], [b]) => depth(a) - depth(b) || a.localeCompare(b));
  for (const [relative, entry] of ordered) {
    if (!entry.canmount || !entry.readonly || !entry.mountpoint || (entry.mountpoint.value === '-' && entry.mountpoint.source === 'other')) continue;
    out.set(relative, entry as FilesystemState);
  }
  return out;
}

/** Reads parentValuesArgs' output. */
export function parseParentValues(stdout: string): { readonly: string; mountpoint: string } {
  const values = new Map(lines(stdout, 2, 'zfs get').map(([p, v]) => [p as string, v as string]));
  const readonly = values.get('readonly');
  const mountpoint = values.get('mountpoint');
  if (readonly === undefined || mountpoint === undefined) throw new RestorePropertyError(`zfs get printed no readonly or mountpoint: ${JSON.stringify(stdout)}`);
  return { readonly, mountpoint };
}

/** Datasets (paths below `root`) whose encryption is on. */
export function parseEncrypted(root: string, stdout: string): string[] {
  const out: string[] = [];
  for (const [name, value] of lines(stdout, 2, 'zfs get') as Array<[string, string]>) {
    const relative = relativeDataset(root, name);
    if (relative !== undefined && value !== 'off' && value !== '-') out.push(relative);
  }
  return out;
}

function depth(relative: string): number {
  return relative === '' ? 0 : relative.split('/').length;
}

/** What a filesystem's property must be: its value, and whether the original inherited it (or had the default). */
export interface Wanted {
  value: string;
  inherit: boolean;
}

export type WantedState = Record<RestoredProperty, Wanted>;

/** The mount point a filesystem named `name` inherits below `parent`'s. */
export function inheritedMountpoint(parent: string, name: string): string {
  if (parent === 'none' || parent === 'legacy' || parent === '-') return parent;
  return parent.endsWith('/') ? `${parent}${name}` : `${parent}/${name}`;
}

function lastComponent(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The values each filesystem of the restored tree must end with, under its final name `root`: the
 * original's own values where it set one, otherwise what it inherits (from its parent in the
 * tree, or for the root from `parent`, the dataset it is restored below), and canmount=on (the
 * default; canmount is never inherited).
 */
export function wantedProperties(root: string, filesystems: readonly string[], originals: ReadonlyMap<string, OriginalValues>, parent: { readonly: string; mountpoint: string }): Map<string, WantedState> {
  const out = new Map<string, WantedState>();
  const ordered = [...filesystems].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  for (const relative of ordered) {
    const original = originals.get(relative) ?? {};
    const parentRel = relative.includes('/') ? relative.slice(0, relative.lastIndexOf('/')) : '';
    const above = relative === '' ? undefined : out.get(parentRel);
    const inheritedReadonly = above ? above.readonly.value : parent.readonly;
    const inheritedMount = above ? inheritedMountpoint(above.mountpoint.value, lastComponent(relative)) : inheritedMountpoint(parent.mountpoint, lastComponent(root));
    out.set(relative, {
      canmount: { value: original.canmount ?? 'on', inherit: false },
      readonly: original.readonly !== undefined ? { value: original.readonly, inherit: false } : { value: inheritedReadonly, inherit: true },
      mountpoint: original.mountpoint !== undefined ? { value: original.mountpoint, inherit: false } : { value: inheritedMount, inherit: true },
    });
  }
  return out;
}

/** Before anything else is set: a filesystem that could mount (canmount=on) is held at noauto, since setting a mount point mounts it. */
export function guardCommands(root: string, states: ReadonlyMap<string, FilesystemState>): string[][] {
  return [...states].filter(([, s]) => s.canmount.value === 'on').map(([relative]) => ['set', 'canmount=noauto', joinDataset(root, relative)]);
}

function setOwn(state: PropertyState): boolean {
  return state.source === 'local' || state.source === 'received';
}

/**
 * readonly and mountpoint back to the original's: an inherited one is inherited again (`zfs inherit`,
 * which on OpenZFS also masks a received value); a value of its own is taken back from the received
 * value where it is that (`zfs inherit -S`), otherwise set. A value counts as right only where the
 * filesystem holds it itself, since what it inherits changes as its parent is set.
 */
export function propertyCommands(root: string, states: ReadonlyMap<string, FilesystemState>, wanted: ReadonlyMap<string, WantedState>): string[][] {
  const commands: string[][] = [];
  for (const [relative, state] of states) {
    const want = wanted.get(relative);
    if (!want) continue;
    const name = joinDataset(root, relative);
    for (const property of ['readonly', 'mountpoint'] as const) {
      const s = state[property];
      const w = want[property];
      if (w.inherit) {
        if (s.source !== 'inherited' && s.source !== 'default') commands.push(['inherit', property, name]);
      } else if (!(setOwn(s) && s.value === w.value)) {
        commands.push(s.received === w.value ? ['inherit', '-S', property, name] : ['set', `${property}=${w.value}`, name]);
      }
    }
  }
  return commands;
}

/**
 * After propertyCommands: where `zfs inherit` left a received value in force (zfs-fuse cannot
 * mask one), the value the filesystem should inherit is set on it, as its final name gives it.
 */
export function fallbackCommands(root: string, states: ReadonlyMap<string, FilesystemState>, wanted: ReadonlyMap<string, WantedState>): string[][] {
  const commands: string[][] = [];
  for (const [relative, state] of states) {
    const want = wanted.get(relative);
    if (!want) continue;
    for (const property of ['readonly', 'mountpoint'] as const) {
      if (want[property].inherit && setOwn(state[property])) commands.push(['set', `${property}=${want[property].value}`, joinDataset(root, relative)]);
    }
  }
  return commands;
}

/** Last, canmount: `canmount` maps each filesystem to the value it ends with (the original's, or noauto where it would mount over something). */
export function canmountCommands(root: string, states: ReadonlyMap<string, FilesystemState>, canmount: ReadonlyMap<string, string>): string[][] {
  const commands: string[][] = [];
  for (const [relative, state] of states) {
    const want = canmount.get(relative);
    if (want === undefined || state.canmount.value === want) continue;
    const name = joinDataset(root, relative);
    const back = state.canmount.received === want || (state.canmount.received === undefined && want === 'on');
    commands.push(back ? ['inherit', '-S', 'canmount', name] : ['set', `canmount=${want}`, name]);
  }
  return commands;
}

/**
 * The filesystems that must not mount where their original did, because something is mounted
 * there now (restored beside the live tree): they stay canmount=noauto.
 */
export function mountConflicts(wanted: ReadonlyMap<string, WantedState>, mounted: ReadonlySet<string>): string[] {
  const conflicts: Array<{ relative: string; path: string }> = [];
  for (const [relative, w] of wanted) {
    const path = w.mountpoint.value;
    if (w.canmount.value !== 'on' || !path.startsWith('/')) continue;
    // Below a filesystem that stays unmounted, a child would mount into what is mounted there now.
    const inside = conflicts.some((c) => (c.relative === '' || relative.startsWith(`${c.relative}/`)) && (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    if (mounted.has(path) || inside) conflicts.push({ relative, path });
  }
  return conflicts.map((c) => c.relative);
}

/** After the rename: every value that is not what it should be, one line each. */
export function propertyProblems(root: string, states: ReadonlyMap<string, FilesystemState>, wanted: ReadonlyMap<string, WantedState>, canmount: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [relative, want] of wanted) {
    const name = joinDataset(root, relative);
    const state = states.get(relative);
    if (!state) {
      problems.push(`${name} is missing`);
      continue;
    }
    for (const property of RESTORED_PROPERTIES) {
      const value = property === 'canmount' ? (canmount.get(relative) ?? want.canmount.value) : want[property].value;
      if (state[property].value !== value) problems.push(`${name} has ${property}=${state[property].value}, not ${value}`);
    }
  }
  return problems;
}
