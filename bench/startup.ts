// Start-up: median wall time of `cyber-zfs-backup --help` against `node -e 0`, measured alternately in the same run.
import { median, round, timedSync, type Cell } from './lib';

export interface StartupResult {
  runs: number;
  nodeBaseline: number[];
  help: number[];
  medianNodeSeconds: number;
  medianHelpSeconds: number;
  /** What the CLI adds on top of starting node. */
  medianOverheadSeconds: number;
}

export function runStartup(cli: string, runs: number): StartupResult {
  const nodeBaseline: number[] = [];
  const help: number[] = [];
  const once = (args: string[]) => {
    const r = timedSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    return r.seconds;
  };
  // Warm the page cache and the compile cache paths once, untimed.
  once(['-e', '0']);
  once([cli, '--help']);
  for (let i = 0; i < runs; i += 1) {
    nodeBaseline.push(once(['-e', '0']));
    help.push(once([cli, '--help']));
  }
  return {
    runs,
    nodeBaseline,
    help,
    medianNodeSeconds: median(nodeBaseline),
    medianHelpSeconds: median(help),
    medianOverheadSeconds: median(help.map((h, i) => h - (nodeBaseline[i] as number))),
  };
}

export function startupRows(s: StartupResult): Cell[][] {
  const ms = (v: number) => round(v * 1000, 0);
  return [
    ['node -e 0 (baseline)', ms(s.medianNodeSeconds), ms(Math.min(...s.nodeBaseline)), ms(Math.max(...s.nodeBaseline)), s.runs],
    ['cyber-zfs-backup --help', ms(s.medianHelpSeconds), ms(Math.min(...s.help)), ms(Math.max(...s.help)), s.runs],
    ['  difference (paired median)', ms(s.medianOverheadSeconds), '-', '-', s.runs],
  ];
}
