// The receiving side as an offsite host's `serve`: confined requests, JSON replies, and serve keeps the tree inert itself.
import { parseCapabilities } from '../core/capabilities';
import {
  parseListReply,
  parseProbeReply,
  parseReceiveReply,
  parseRestoreInfoReply,
  parseSendSizeReply,
  serveRequestCommand,
  type ProbeReply,
  type ServeRequest,
} from '../core/serve-protocol';
import { parseSendSize } from '../core/zfs-argv';
import type { SshSession } from '../io/ssh-session';
import { remoteFailure, serveFailure, treeFromListing, type Probed, type Receiver } from './receiver';

export function serveReceiver(session: SshSession, dataset: string, reply: ProbeReply, note: (message: string) => void): Probed {
  const caps = parseCapabilities(reply.usage);
  const request = (r: ServeRequest) => session.exec(serveRequestCommand(r));
  const run = async (r: ServeRequest, what: string): Promise<string> => {
    const result = await request(r);
    if (result.code !== 0) throw serveFailure(what, result);
    return result.stdout;
  };
  let parentExists = reply.parentExists;
  const receiver: Receiver = {
    kind: 'serve',
    caps,
    appendOnly: reply.appendOnly,
    dataset,
    async listTree() {
      const stdout = await run({ verb: 'list', dataset }, `listing ${dataset}`);
      const listing = parseListReply(stdout);
      if (!listing) throw remoteFailure(`listing ${dataset}`, 'serve answered the listing with something that is not a reply', 1);
      return treeFromListing(dataset, listing);
    },
    async parentExists() {
      if (parentExists === undefined) {
        const stdout = await run({ verb: 'probe', dataset }, `probing ${dataset}`);
        parentExists = parseProbeReply(stdout)?.parentExists ?? true;
      }
      return parentExists;
    },
    async repair(items) {
      await run({ verb: 'repair', items: [...items] }, 'repairing the receiver');
    },
    async abortPartial(name) {
      await run({ verb: 'abort', dataset: name }, `aborting the partial receive of ${name}`);
    },
    openReceive: (name, mode, mountpoint) => session.openStream(serveRequestCommand({ verb: 'receive', dataset: name, tree: dataset, mode, mountpoint })),
    async settle(_mountpoint, lastReply) {
      const parsed = parseReceiveReply(lastReply);
      if (!parsed) return receiver.listTree();
      for (const fix of parsed.fixes) note(`serve set ${fix.slice(1).join(' ')} (the received tree never mounts by itself, is read-only, and mounts only below its backup mount point)`);
      return treeFromListing(dataset, parsed.tree);
    },
    // serve makes what arrived inert after every receive, whatever its outcome.
    secure: async () => {},
    openSend: (name, snapshot, flags, from) => session.openChannel(serveRequestCommand({ verb: 'send', dataset: name, snapshot, flags: [...flags], ...(from === undefined ? {} : { from }) })),
    async restoreInfo() {
      const stdout = await run({ verb: 'restore-info', dataset }, `reading the properties of ${dataset}`);
      const reply = parseRestoreInfoReply(stdout);
      if (!reply) throw remoteFailure(`reading the properties of ${dataset}`, 'serve answered restore-info with something that is not a reply (an older serve? update cyber-zfs-backup on the offsite host)', 1);
      return { received: reply.received, encryption: reply.encryption };
    },
    async sendSize(name, snapshot, flags) {
      const reply = parseSendSizeReply(await run({ verb: 'send-size', dataset: name, snapshot, flags: [...flags] }, `estimating the send of ${name}@${snapshot}`));
      const bytes = reply && reply.size.code === 0 ? parseSendSize(reply.size.stdout) : undefined;
      return reply && bytes !== undefined ? { bytes, exact: reply.exact } : undefined;
    },
    openResumeSend: (token) => session.openChannel(serveRequestCommand({ verb: 'resume-send', token })),
  };
  return { receiver, tree: treeFromListing(dataset, reply.tree) };
}
