// Finds out what answers on the offsite host, serve or a plain shell login, in the probe itself.
import { parseProbeReply, REFUSAL_PREFIX, serveRequestCommand } from '../core/serve-protocol';
import type { ExecResult, SshSession } from '../io/ssh-session';
import { remoteFailure, serveFailure, type Probed } from './receiver';
import { probePlain } from './receiver-plain';
import { serveReceiver } from './receiver-serve';

/**
 * The probe. The first request is serve's (`cyber-zfs-backup-serve/1 probe DATASET`): serve answers
 * it with one JSON line, a plain shell with "not found" (exit 127); only then is the plain probe
 * sent. So serve costs no extra round trip, and a plain receiver one.
 */
export async function probeReceiver(session: SshSession, receiveDataset: string, useSudo: boolean, note: (message: string) => void): Promise<Probed> {
  const first: ExecResult = await session.exec(serveRequestCommand({ verb: 'probe', dataset: receiveDataset }));
  const reply = first.code === 0 ? parseProbeReply(first.stdout) : undefined;
  if (reply) return serveReceiver(session, receiveDataset, reply, note);
  if (first.code === null) throw remoteFailure(`listing ${receiveDataset}`, first.stderr, null);
  if (first.stderr.includes(REFUSAL_PREFIX) || /^cyber-zfs-backup serve: /m.test(first.stderr)) throw serveFailure(`probing ${receiveDataset}`, first);
  return probePlain(session, receiveDataset, useSudo, note);
}
