// Start-up: median wall and CPU time of `cyber-zfs-backup --help` against `node -e 0`, measured alternately in the same run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { median, round, timedSync, type Cell } from './lib';

export interface StartupSeries {
  nodeBaseline: number[];
  help: number[];
  /** CPU seconds (user+system) of each run, from this process's cutime+cstime (10 ms ticks). */
  nodeCpu: number[];
  helpCpu: number[];
  medianNodeSeconds: number;
  medianHelpSeconds: number;
  /** What the CLI adds on top of starting node (paired median). */
  medianOverheadSeconds: number;
  medianNodeCpuSeconds: number;
  medianHelpCpuSeconds: number;
}

export interface StartupResult extends StartupSeries {
  runs: number;
  /**
   * The same, each run scheduled ahead of the machine's other work (`chrt -f 10`, as root): the
   * program's own start-up, without the run queue of a machine other work keeps busy.
   */
  realtime?: StartupSeries;
  /** Variables taken out of the environment for the timed runs (the service runs without them). */
  removedEnv: string[];
  /** Median of `node -e 0` with the caller's environment as it is, when something was removed. */
  medianNodeAsIsSeconds?: number;
}

/**
 * Variables that change how fast node starts but that the systemd service never has: with
 * NODE_EXTRA_CA_CERTS node reads and parses a CA bundle at every start (~90 ms on the 2-core
 * machines here), and the tool makes no TLS connection.
 */
const NOT_IN_SERVICE_ENV = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];

/** CPU seconds of this process's waited-for children so far (cutime + cstime). */
function childrenCpu(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / 100;
}

function series(cli: string, runs: number, env: NodeJS.ProcessEnv, prefix: string[]): StartupSeries {
  const once = (args: string[]) => {
    const argv = [...prefix, process.execPath, ...args];
    const cpu0 = childrenCpu();
    const r = timedSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    return { seconds: r.seconds, cpu: childrenCpu() - cpu0 };
  };
  // Warm the page cache once, untimed.
  once(['-e', '0']);
  once([cli, '--help']);
  const nodeBaseline: number[] = [];
  const help: number[] = [];
  const nodeCpu: number[] = [];
  const helpCpu: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const n = once(['-e', '0']);
    const h = once([cli, '--help']);
    nodeBaseline.push(n.seconds);
    nodeCpu.push(n.cpu);
    help.push(h.seconds);
    helpCpu.push(h.cpu);
  }
  return {
    nodeBaseline,
    help,
    nodeCpu,
    helpCpu,
    medianNodeSeconds: median(nodeBaseline),
    medianHelpSeconds: median(help),
    medianOverheadSeconds: median(help.map((h, i) => h - (nodeBaseline[i] as number))),
    medianNodeCpuSeconds: median(nodeCpu),
    medianHelpCpuSeconds: median(helpCpu),
  };
}

export function runStartup(cli: string, runs: number): StartupResult {
  const removedEnv = NOT_IN_SERVICE_ENV.filter((name) => process.env[name] !== undefined);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !removedEnv.includes(name)));
  const plain = series(cli, runs, env, []);
  const canRealtime = process.getuid?.() === 0 && spawnSync('chrt', ['-f', '10', 'true']).status === 0;
  const realtime = canRealtime ? series(cli, runs, env, ['chrt', '-f', '10']) : undefined;
  const asIs =
    removedEnv.length === 0
      ? []
      : Array.from({ length: runs }, () => {
          const r = timedSync(process.execPath, ['-e', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
          return r.seconds;
        });
  return {
    runs,
    ...plain,
    ...(realtime ? { realtime } : {}),
    removedEnv,
    ...(asIs.length > 0 ? { medianNodeAsIsSeconds: median(asIs) } : {}),
  };
}

/** The figure the goal is judged on: the real-time series where there is one (the queue of a busy machine is not start-up time). */
export function startupOverhead(s: StartupResult): { seconds: number; how: string } {
  return s.realtime ? { seconds: s.realtime.medianOverheadSeconds, how: 'chrt -f 10' } : { seconds: s.medianOverheadSeconds, how: 'plain' };
}

export function startupRows(s: StartupResult): Cell[][] {
  const ms = (v: number) => round(v * 1000, 0);
  const rows = (label: string, x: StartupSeries): Cell[][] => [
    [`node -e 0${label}`, ms(x.medianNodeSeconds), ms(Math.min(...x.nodeBaseline)), ms(Math.max(...x.nodeBaseline)), ms(x.medianNodeCpuSeconds), s.runs],
    [`cyber-zfs-backup --help${label}`, ms(x.medianHelpSeconds), ms(Math.min(...x.help)), ms(Math.max(...x.help)), ms(x.medianHelpCpuSeconds), s.runs],
    [`  difference (paired median)${label}`, ms(x.medianOverheadSeconds), '-', '-', ms(x.medianHelpCpuSeconds - x.medianNodeCpuSeconds), s.runs],
  ];
  return [
    ...rows('', s),
    ...(s.realtime ? rows(', chrt -f 10', s.realtime) : []),
    ...(s.medianNodeAsIsSeconds === undefined ? [] : [[`node -e 0 as called, with ${s.removedEnv.join(', ')} (not used above)`, ms(s.medianNodeAsIsSeconds), '-', '-', '-', s.runs]]),
  ];
}
