// The demo: throwaway pools, a month of history, then a real snapshot + expire + push run, and the result printed.
import { execFileSync } from 'node:child_process';
import { DateTime } from 'luxon';
import { runCli } from './bed/cli';
import { createPool, zfs } from './bed/pools';
import { startSshd } from './bed/sshd';
import { ensureZfs, stopZfs } from './bed/zfs-daemon';

function show(title: string, root: string): void {
  console.log(`\n== ${title}`);
  console.log(execFileSync('zfs', ['list', '-H', '-t', 'snapshot', '-o', 'name', '-r', '-s', 'createtxg', root], { encoding: 'utf8' }).trim() || '(none)');
}

function run(args: string[]): void {
  console.log(`\n$ cyber-zfs-backup ${args.join(' ')}`);
  const r = runCli(args);
  process.stdout.write(r.stderr + r.stdout);
  console.log(`(exit ${r.code})`);
}

const started = ensureZfs();
const source = createPool('czbdemo');
const offsite = createPool('czbdemooff');
const sshd = await startSshd();
try {
  const root = `${source.name}/demo`;
  for (const ds of [root, `${root}/home`, `${root}/srv`]) zfs('create', ds);
  zfs('create', `${offsite.name}/offsite`);
  // Six weeks of history: two snapshots a day, as an hourly timer would leave after thinning.
  const now = DateTime.utc().startOf('day');
  for (let d = 42; d >= 1; d -= 1) {
    for (const h of [6, 18]) zfs('snapshot', '-r', `${root}@${now.minus({ days: d }).set({ hour: h }).toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'")}`);
  }
  zfs('snapshot', '-r', `${root}@before-upgrade`);
  show(`the tree ${root} before (84 timestamped snapshots and one of the admin's)`, root);
  const common = ['--dataset', root, '--ssh-config', sshd.config, '--zfs-receive-dataset', `${offsite.name}/offsite/demo`, '--verbose'];
  run(['--action', 'snapshot', 'expire', 'push', '--retention-policy', '7', '2', '1', ...common]);
  run(['--action', 'snapshot', 'expire', 'push', '--retention-policy', '7', '2', '1', '--force-destroy-lots', '--force-non-incremental', ...common]);
  show(`${root} after: the newest, 7 days, 2 weeks, 1 month, one a year, and the admin's snapshot`, root);
  show('the offsite copy, received over SSH', `${offsite.name}/offsite/demo`);
} finally {
  await sshd.stop();
  offsite.destroy();
  source.destroy();
  if (started) stopZfs();
}
