// The receiving side as a plain shell login (root, or `sudo -n zfs`): zfs command lines built by the one quoting function.
import { parseCapabilities, type ZfsCapabilities } from '../core/capabilities';
import { listReceivedArgs } from '../core/received-properties';
import { encryptionArgs, originalValuesArgs } from '../core/restore-properties';
import { receiveThenBatch, remoteZfsBatch, remoteZfsCommand, remoteZfsSequence, splitBatch, type BatchPart } from '../core/remote-command';
import type { RepairItem } from '../core/serve-protocol';
import {
  abortReceiveArgs,
  canEstimateSend,
  destroyDatasetArgs,
  existsArgs,
  incrementalSendArgs,
  listResumeTokensArgs,
  listTreeArgs,
  receiveModeArgs,
  receiverResumable,
  resumeSendArgs,
  parseSendSize,
  rollbackArgs,
  sendSizeArgs,
  treeSendArgs,
  usedArgs,
} from '../core/zfs-argv';
import type { SshSession } from '../io/ssh-session';
import { makeInert } from './inert-tree';
import { remoteFailure, treeFromListing, type Probed, type Receiver } from './receiver';

/** Fix commands per remote exec: the command line stays far below what sshd accepts. */
const FIXES_PER_EXEC = 200;

/**
 * The plain probe, in one remote exec: the receiver's zfs usage text (what it supports), its tree
 * with GUIDs, and (where the receiver has them) partial-receive tokens, which fail harmlessly elsewhere.
 */
export async function probePlain(session: SshSession, receiveDataset: string, useSudo: boolean, note: (message: string) => void): Promise<Probed> {
  const commands = [[], listTreeArgs(receiveDataset), listResumeTokensArgs(receiveDataset)];
  const result = await session.exec(remoteZfsBatch(commands, useSudo));
  const [usage, tree, tokens] = splitBatch(commands.length, result.stdout, result.stderr) as [BatchPart, BatchPart, BatchPart];
  const text = usage.stderr + usage.stdout;
  if (usage.code === null) throw remoteFailure(`listing ${receiveDataset}`, result.stderr, null);
  if (!/usage:/i.test(text)) throw remoteFailure('running zfs', text, usage.code);
  const caps = parseCapabilities(text);
  return { receiver: plainReceiver(session, receiveDataset, useSudo, caps, note), tree: treeFromListing(receiveDataset, tree, receiverResumable(caps) ? tokens : undefined) };
}

function repairArgs(item: RepairItem): string[] {
  return item.kind === 'rollback' ? rollbackArgs(item.dataset, item.snapshot) : destroyDatasetArgs(item.dataset);
}

function plainReceiver(session: SshSession, dataset: string, useSudo: boolean, caps: ZfsCapabilities, note: (message: string) => void): Receiver {
  const zfs = (args: readonly string[]) => session.exec(remoteZfsCommand(args, useSudo));
  /** What the check after the last receive reads: the received filesystems' mount properties, and the tree with its GUIDs. */
  const settleListings = () => [listReceivedArgs(dataset), listTreeArgs(dataset, receiverResumable(caps))];
  const run = async (commands: readonly (readonly string[])[], what: string): Promise<void> => {
    const result = await session.exec(remoteZfsSequence(commands, useSudo));
    if (result.code !== 0) throw remoteFailure(what, result.stderr, result.code);
  };
  const secure = async (mountpoint: string, listed?: BatchPart): Promise<void> => {
    const io = {
      list: () => zfs(listReceivedArgs(dataset)),
      set: async (fixes: string[][]) => {
        for (let i = 0; i < fixes.length; i += FIXES_PER_EXEC) await run(fixes.slice(i, i + FIXES_PER_EXEC), `setting canmount/readonly/mountpoint on ${dataset}`);
      },
    };
    await makeInert(io, dataset, mountpoint, listed, (fix) => note(`zfs ${fix.join(' ')} (the received tree never mounts by itself, is read-only, and mounts only below ${mountpoint})`));
  };
  return {
    kind: 'plain',
    caps,
    appendOnly: false,
    dataset,
    listTree: async () => treeFromListing(dataset, await zfs(listTreeArgs(dataset, receiverResumable(caps)))),
    async parentExists() {
      const parent = dataset.slice(0, Math.max(0, dataset.lastIndexOf('/')));
      if (parent === '') return true;
      const result = await zfs(existsArgs(parent));
      if (result.code === 0) return true;
      if (/dataset does not exist/i.test(result.stderr)) return false;
      throw remoteFailure(`listing ${parent}`, result.stderr, result.code);
    },
    repair: (items) => run(items.map(repairArgs), 'repairing the receiver'),
    abortPartial: (name) => run([abortReceiveArgs(name)], `aborting the partial receive of ${name}`),
    openReceive: (name, mode, mountpoint) => {
      const receive = remoteZfsCommand(receiveModeArgs(mode, name, caps, mountpoint, true), useSudo);
      // The tree's receive lists what settle needs right after it, in the same remote command.
      if (mode !== 'tree') return session.openStream(receive);
      return session.openStream(receiveThenBatch(receive, settleListings().map((c) => remoteZfsCommand(c, useSudo))));
    },
    async settle(mountpoint, lastReply) {
      const commands = settleListings();
      // The tree's receive printed both listings after it (openReceive); otherwise (the last receive
      // was a catch-up, or a listing failed there) one exec lists them, with their errors.
      let [props, tree] = splitBatch(commands.length, lastReply, '') as [BatchPart, BatchPart];
      if (props.code !== 0 || tree.code !== 0) {
        const listed = await session.exec(remoteZfsBatch(commands, useSudo));
        [props, tree] = splitBatch(commands.length, listed.stdout, listed.stderr) as [BatchPart, BatchPart];
      }
      if (props.code !== 0 && /dataset does not exist/i.test(props.stderr)) return undefined;
      await secure(mountpoint, props);
      return treeFromListing(dataset, tree);
    },
    secure: (mountpoint) => secure(mountpoint),
    openSend: (name, snapshot, flags, from) =>
      session.openChannel(remoteZfsCommand(from === undefined ? treeSendArgs(name, snapshot, flags) : incrementalSendArgs(name, from, snapshot, flags), useSudo)),
    async restoreInfo() {
      const openzfs = caps.flavour === 'openzfs';
      const commands = [originalValuesArgs(dataset, openzfs), ...(openzfs ? [encryptionArgs(dataset)] : [])];
      const result = await session.exec(remoteZfsBatch(commands, useSudo));
      const [received, encryption] = splitBatch(commands.length, result.stdout, result.stderr) as [BatchPart, BatchPart | undefined];
      return { received, encryption };
    },
    async sendSize(name, snapshot, flags) {
      const exact = canEstimateSend(caps) && flags.every((f) => caps.sendFlags.has(f));
      const result = await zfs(exact ? sendSizeArgs(name, snapshot, flags) : usedArgs(name));
      const bytes = result.code === 0 ? parseSendSize(result.stdout) : undefined;
      return bytes === undefined ? undefined : { bytes, exact };
    },
    openResumeSend: (token) => session.openChannel(remoteZfsCommand(resumeSendArgs(token), useSudo)),
  };
}
