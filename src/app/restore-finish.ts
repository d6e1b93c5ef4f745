// After a restore's data is in: the original canmount/readonly/mountpoint back (never mounting over what is mounted now), the rename, and the mounts.
import { joinDataset } from '../core/names';
import {
  canmountCommands,
  fallbackCommands,
  guardCommands,
  mountConflicts,
  parseParentValues,
  parsePropertyStates,
  propertyCommands,
  propertyProblems,
  propertyStateArgs,
  parentValuesArgs,
  wantedProperties,
  type FilesystemState,
  type OriginalValues,
  type WantedState,
} from '../core/restore-properties';
import { renameArgs } from '../core/zfs-argv';
import { firstErrorLine } from '../core/zfs-errors';
import type { Deps } from './deps';

export interface FinishPlan {
  /** What each filesystem must end with, under the final name. */
  wanted: Map<string, WantedState>;
  /** The canmount each ends with: the original's, or noauto where it would mount over something. */
  canmount: Map<string, string>;
}

async function states(deps: Deps, dataset: string, openzfs: boolean) {
  return parsePropertyStates(dataset, (await deps.zfs.run(propertyStateArgs(dataset, openzfs), `listing the properties of ${dataset}`)).stdout);
}

async function runAll(deps: Deps, commands: string[][]): Promise<void> {
  for (const command of commands) await deps.zfs.run(command, `zfs ${command.join(' ')}`);
}

/**
 * Sets the restoring tree `temp` (to be renamed `target`, below `parent`) to the properties its
 * original had. Everything that could mount is first held at noauto (setting a mount point mounts a
 * canmount=on filesystem at once); readonly and mountpoint are then inherited or set back, a second
 * pass sets what `zfs inherit` could not (zfs-fuse keeps a received value in force), and canmount
 * comes last. A filesystem that would mount where something is mounted now stays noauto.
 */
export async function restoreProperties(
  deps: Deps,
  names: { temp: string; target: string; parent: string },
  originals: ReadonlyMap<string, OriginalValues>,
  openzfs: boolean,
  mounted: ReadonlySet<string>,
): Promise<FinishPlan> {
  const before = await states(deps, names.temp, openzfs);
  const parent = parseParentValues((await deps.zfs.run(parentValuesArgs(names.parent), `reading the properties of ${names.parent}`)).stdout);
  const wanted = wantedProperties(names.target, [...before.keys()], originals, parent);
  const conflicts = mountConflicts(wanted, mounted);
  const canmount = new Map([...wanted].map(([relative, w]): [string, string] => [relative, conflicts.includes(relative) ? 'noauto' : w.canmount.value]));
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 5).map((r) => `${joinDataset(names.target, r)} (${wanted.get(r)?.mountpoint.value})`);
    deps.log.warn(
      `${conflicts.length} restored filesystem(s) would mount where something is mounted now (the live tree?): ${shown.join(', ')}${conflicts.length > 5 ? ', …' : ''}; they stay canmount=noauto and never mount over it; to look inside, mount one elsewhere (zfs set mountpoint=/mnt/restored DATASET; zfs mount DATASET)`,
    );
  }
  const guard = guardCommands(names.temp, before);
  await runAll(deps, guard);
  const pass = propertyCommands(names.temp, before, wanted);
  await runAll(deps, pass);
  // Only a plain `zfs inherit` can leave a received value in force: look again only after one.
  if (pass.some((c) => c[0] === 'inherit' && c[1] !== '-S')) await runAll(deps, fallbackCommands(names.temp, await states(deps, names.temp, openzfs), wanted));
  // The passes above leave canmount alone, and the guard set noauto locally: no need to list again.
  const guarded = new Set(guard.map((c) => c[c.length - 1]));
  const now = new Map(
    [...before].map(([relative, state]): [string, FilesystemState] => [
      relative,
      guarded.has(joinDataset(names.temp, relative)) ? { ...state, canmount: { ...state.canmount, value: 'noauto', source: 'local' } } : state,
    ]),
  );
  await runAll(deps, canmountCommands(names.temp, now, canmount));
  return { wanted, canmount };
}

/** Renames the whole, checked tree to its own name; then what still differs from the original, one line each. */
export async function renameAndCheck(deps: Deps, names: { temp: string; target: string }, plan: FinishPlan, openzfs: boolean): Promise<string[]> {
  await deps.zfs.run(renameArgs(names.temp, names.target), `renaming ${names.temp} to ${names.target}`);
  return propertyProblems(names.target, await states(deps, names.target, openzfs), plan.wanted, plan.canmount);
}

/** Mounts, parents first, each filesystem that ends canmount=on with a mount point; returns those whose key is not loaded. */
export async function mountRestored(deps: Deps, target: string, plan: FinishPlan): Promise<string[]> {
  const locked: string[] = [];
  for (const [relative, w] of plan.wanted) {
    if (plan.canmount.get(relative) !== 'on' || !w.mountpoint.value.startsWith('/')) continue;
    const name = joinDataset(target, relative);
    const result = await deps.zfs.tryRun(['mount', name]);
    if (result.exitCode === 0) continue;
    if (/key not loaded|keystatus|encryption key/i.test(result.stderr)) locked.push(name);
    else if (!/already mounted/i.test(result.stderr)) deps.log.warn(`restored ${name}, but it did not mount at ${w.mountpoint.value}: ${firstErrorLine(result.stderr)}; mount it with "zfs mount ${name}" (or reboot)`);
  }
  return locked;
}
