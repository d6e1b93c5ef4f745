// The words of a refused push: one line, then the evidence and the commands a human could run.
import { BackupError, ExitCode } from './exit-codes';
import { shellCommand } from './quote';
import { joinDataset } from './names';
import type { Refusal, RepairStep, SnapshotRef } from './replication-plan';

export interface PushContext {
  dataset: string;
  receiveDataset: string;
  destination: string;
  sshConfig: string | undefined;
}

function sshPrefix(ctx: PushContext): string[] {
  return ['ssh', ...(ctx.sshConfig === undefined ? [] : ['-F', ctx.sshConfig]), ctx.destination];
}

function rows(side: string, refs: readonly SnapshotRef[], count: number): string[] {
  if (refs.length === 0) return [`  ${side}: no snapshots`];
  return [`  ${side} (${count} snapshots), newest first:`, ...refs.map((r) => `    @${r.name}  guid ${r.guid}`)];
}

export function refusalError(refusal: Refusal, ctx: PushContext): BackupError {
  const where = `${ctx.destination}:${ctx.receiveDataset}`;
  const cli = ['cyber-zfs-backup', '--action', 'push', '--dataset', ctx.dataset, '--ssh-destination', ctx.destination, '--zfs-receive-dataset', ctx.receiveDataset, ...(ctx.sshConfig === undefined ? [] : ['--ssh-config', ctx.sshConfig])];
  switch (refusal.reason) {
    case 'no-local-snapshot':
      return new BackupError(ExitCode.dataRefused, `nothing to push: ${refusal.dataset} has no snapshot named like 2026-11-22T22:45:00Z; run with --action snapshot first`);
    case 'remote-absent':
    case 'remote-empty': {
      const state = refusal.reason === 'remote-absent' ? 'does not exist' : 'exists but holds no snapshots';
      return new BackupError(
        ExitCode.dataRefused,
        `${where} ${state}, so this would be a full send of ${ctx.dataset}@${refusal.target} and everything below it; if that is intended, run once with --force-non-incremental`,
      );
    }
    case 'tree-diverged':
      return new BackupError(
        ExitCode.dataRefused,
        `refusing to push ${ctx.dataset} to ${where}: the newest common snapshot @${refusal.base} is not consistent across the tree, and no older one is; nothing was sent`,
        ['Problems:', ...refusal.problems.map((p) => `  ${p}`), 'Inspect both trees:', `  zfs list -t snapshot -o name,guid -r ${shellCommand([ctx.dataset])}`, `  ${shellCommand([...sshPrefix(ctx), 'zfs', 'list', '-t', 'snapshot', '-o', 'name,guid', '-r', ctx.receiveDataset])}`],
      );
    case 'receiver-ahead': {
      const lines = refusal.datasets.map((d) => `  ${joinDataset(ctx.receiveDataset, d.relative)}: ${d.snapshots.map((n) => '@' + n).join(', ')}`);
      const count = refusal.datasets.reduce((n, d) => n + d.snapshots.length, 0);
      const aside = `${ctx.receiveDataset}-old`;
      return new BackupError(
        ExitCode.dataRefused,
        `refusing to push ${ctx.dataset} to ${where}: it holds ${count} snapshot(s) newer than the common base @${refusal.base} that this host does not have (restored from an older snapshot, or filled from elsewhere); a push would discard them for good, so nothing was sent`,
        [
          `Newer there than @${refusal.base}, unknown here:`,
          ...lines,
          'To keep them, set the offsite copy aside and start a new chain:',
          `  ${shellCommand([...sshPrefix(ctx), 'zfs', 'rename', ctx.receiveDataset, aside])}`,
          `  ${shellCommand([...cli, '--force-non-incremental'])}`,
          'Or, to discard them (they are lost), roll the offsite copy back and push again:',
          ...refusal.datasets.map((d) => `  ${shellCommand([...sshPrefix(ctx), 'zfs', 'rollback', '-r', `${joinDataset(ctx.receiveDataset, d.relative)}@${refusal.base}`])}`),
        ],
      );
    }
    case 'no-common-snapshot': {
      const e = refusal.evidence;
      const cause =
        e.sameNameOtherGuid.length > 0
          ? `Probable cause: ${e.sameNameOtherGuid.length} snapshot name(s) exist on both sides with different GUIDs, so ${where} was filled from another source or the local tree was re-created.`
          : `Probable cause: every snapshot the receiver has was destroyed here (expired, or destroyed by hand while not held), or ${where} belongs to another host.`;
      const aside = `${ctx.receiveDataset}-old`;
      return new BackupError(
        ExitCode.dataRefused,
        `refusing to push ${ctx.dataset} to ${where}: both hold snapshots but none in common (same name and GUID); a full send would replace the offsite history, so nothing was sent`,
        [
          ...rows(`here, ${ctx.dataset}`, e.localNewest, e.localCount),
          ...rows(`there, ${where}`, e.remoteNewest, e.remoteCount),
          cause,
          'To recover, keep the old offsite copy aside and start a new chain:',
          `  ${shellCommand([...sshPrefix(ctx), 'zfs', 'rename', ctx.receiveDataset, aside])}`,
          `  ${shellCommand([...cli, '--force-non-incremental'])}`,
          `  then, once the new copy is verified: ${shellCommand([...sshPrefix(ctx), 'zfs', 'destroy', '-r', aside])}`,
        ],
      );
    }
  }
}

/**
 * An append-only receiver (serve --append-only) never rolls back or destroys, so a cut push that
 * can only be healed that way stops here, with the commands an administrator of the offsite host
 * would run there.
 */
export function appendOnlyRefusal(repairs: readonly RepairStep[], ctx: PushContext): BackupError {
  const where = `${ctx.destination}:${ctx.receiveDataset}`;
  const commands = repairs.map((step) => {
    const ds = joinDataset(ctx.receiveDataset, step.relative);
    return step.kind === 'rollback' ? shellCommand(['zfs', 'rollback', '-r', `${ds}@${step.to}`]) : shellCommand(['zfs', 'destroy', '-r', ds]);
  });
  const what = repairs.map((step) =>
    step.kind === 'rollback'
      ? `  ${joinDataset(ctx.receiveDataset, step.relative)} holds ${step.discards.map((s) => '@' + s).join(', ')} after @${step.to}, which the rest of the tree lacks`
      : `  ${joinDataset(ctx.receiveDataset, step.relative)} arrived only in part (${step.snapshots.length} snapshot(s))`,
  );
  return new BackupError(
    ExitCode.dataRefused,
    `refusing to push ${ctx.dataset} to ${where}: the offsite copy is append-only, and a cut push left ${repairs.length} dataset(s) there that only a rollback or destroy can bring back in line (it cannot be healed forward); nothing was sent`,
    ['On the receiver:', ...what, 'An administrator of the offsite host can run there (it discards only what the cut push brought, which is sent again):', ...commands.map((c) => `  ${c}`), 'The next push then heals by itself.'],
  );
}
