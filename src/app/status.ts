// The status action: one local listing and one probe of each offsite copy (as push makes them), judged; or, on the offsite host, its received trees.
import { holdTag } from './base-hold';
import { failureOf } from './run-record';
import { connectAndProbe, type PushDeps } from './push';
import type { Deps } from './deps';
import type { Destination } from './options';
import { judgeReceived, type ReceivedStatus } from '../core/status-received';
import { judgeTree, parseHolds, type DestinationInput, type Thresholds, type TreeStatus } from '../core/status';
import type { TreeState } from '../core/run-state';
import { parseTree, type DatasetTree } from '../core/tree';
import { holdsArgs, listTreeArgs, receiverResumable } from '../core/zfs-argv';
import { firstErrorLine } from '../core/zfs-errors';
import type { StateFiles } from '../io/state-files';

export interface StatusOptions {
  dataset: string;
  destinations: Destination[];
  sshConfig: string | undefined;
  useSudo: boolean;
  thresholds: Thresholds;
}

export interface StatusDeps extends Deps, PushDeps {
  files: StateFiles;
}

type Probed = DestinationInput['probe'];

async function probe(deps: StatusDeps, options: StatusOptions, destination: Destination): Promise<Probed> {
  try {
    const connected = await connectAndProbe(deps, { ...destination, sshConfig: options.sshConfig, useSudo: options.useSudo });
    connected.session.close();
    return { ok: true, tree: connected.tree, receiver: connected.receiver.kind };
  } catch (error) {
    const failed = failureOf(error) as { exitCode: number; message: string };
    return { ok: false, ...failed };
  }
}

/**
 * The tags held on the local root snapshots that are an offsite copy's newest (one `zfs holds`), or
 * undefined where zfs cannot list tags (zfs-fuse: status then reads the userrefs count).
 */
async function holdTagsOn(deps: StatusDeps, dataset: string, local: DatasetTree, probes: readonly Probed[]): Promise<Map<string, string[]> | undefined> {
  if (!(await deps.zfs.capabilities()).holdsCommand) return undefined;
  const here = new Set(local.datasets.get('')?.snapshots.map((s) => s.name));
  const names = [...new Set(probes.flatMap((p) => (p.ok ? (p.tree?.datasets.get('')?.snapshots.at(-1)?.name ?? []) : [])))].filter((n) => here.has(n));
  if (names.length === 0) return new Map();
  const result = await deps.zfs.tryRun(holdsArgs(dataset, names));
  if (result.exitCode !== 0) {
    deps.log.warn(`zfs holds failed (${firstErrorLine(result.stderr)}); the base hold is judged by the hold count alone`);
    return undefined;
  }
  return parseHolds(dataset, result.stdout);
}

export async function treeStatus(deps: StatusDeps, options: StatusOptions): Promise<TreeStatus> {
  const listing = (async () => {
    await deps.zfs.capabilities();
    return deps.zfs.tree(options.dataset);
  })();
  const [local, ...probes] = await Promise.all([
    listing.then(
      (tree) => ({ ok: true as const, tree }),
      (error: unknown) => ({ ok: false as const, ...(failureOf(error) as { exitCode: number; message: string }) }),
    ),
    ...options.destinations.map((d) => probe(deps, options, d)),
  ]);
  let holdTags: Map<string, string[]> | undefined;
  if (local.ok && local.tree) holdTags = await holdTagsOn(deps, options.dataset, local.tree, probes);
  let state: TreeState | undefined;
  try {
    state = deps.files.read(options.dataset);
  } catch (error) {
    deps.log.warn(`the state file of ${options.dataset} in ${deps.files.dir} cannot be read: ${(error as Error).message}`);
  }
  return judgeTree({
    dataset: options.dataset,
    now: deps.now(),
    thresholds: options.thresholds,
    local,
    destinations: options.destinations.map((d, i) => ({ ...d, probe: probes[i] as Probed, holdTag: holdTag(d), holdTags })),
    ...(state ? { lastRun: state.lastRun, recorded: state.destinations } : {}),
  });
}

/** On the offsite host: every received tree below `dataset`, from one listing (with partial-receive tokens where zfs has them). */
export async function receivedStatus(deps: Deps, dataset: string, thresholds: Thresholds): Promise<ReceivedStatus> {
  const base = { dataset, now: deps.now(), thresholds };
  try {
    const caps = await deps.zfs.capabilities();
    const result = await deps.zfs.tryRun(listTreeArgs(dataset, receiverResumable(caps)));
    if (result.exitCode !== 0) {
      if (/dataset does not exist/i.test(result.stderr)) return judgeReceived({ ...base, listing: { ok: true, tree: undefined } });
      return judgeReceived({ ...base, listing: { ok: false, exitCode: result.exitCode, message: firstErrorLine(result.stderr) } });
    }
    return judgeReceived({ ...base, listing: { ok: true, tree: parseTree(dataset, result.stdout) } });
  } catch (error) {
    return judgeReceived({ ...base, listing: { ok: false, ...(failureOf(error) as { exitCode: number; message: string }) } });
  }
}
