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

export function runStartup(cli: string, runs: number): StartupResult {
  const nodeBaseline: number[] = [];
  const help: number[] = [];
  const removedEnv = NOT_IN_SERVICE_ENV.filter((name) => process.env[name] !== undefined);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !removedEnv.includes(name)));
  const once = (args: string[], asIs = false) => {
    const r = timedSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(asIs ? {} : { env }) });
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
  const asIs = removedEnv.length === 0 ? [] : Array.from({ length: runs }, () => once(['-e', '0'], true));
  return {
    runs,
    nodeBaseline,
    help,
    medianNodeSeconds: median(nodeBaseline),
    medianHelpSeconds: median(help),
    medianOverheadSeconds: median(help.map((h, i) => h - (nodeBaseline[i] as number))),
    removedEnv,
    ...(asIs.length > 0 ? { medianNodeAsIsSeconds: median(asIs) } : {}),
  };
}

export function startupRows(s: StartupResult): Cell[][] {
  const ms = (v: number) => round(v * 1000, 0);
  return [
    ['node -e 0 (baseline)', ms(s.medianNodeSeconds), ms(Math.min(...s.nodeBaseline)), ms(Math.max(...s.nodeBaseline)), s.runs],
    ['cyber-zfs-backup --help', ms(s.medianHelpSeconds), ms(Math.min(...s.help)), ms(Math.max(...s.help)), s.runs],
    ['  difference (paired median)', ms(s.medianOverheadSeconds), '-', '-', s.runs],
    ...(s.medianNodeAsIsSeconds === undefined ? [] : [[`node -e 0 as called, with ${s.removedEnv.join(', ')} (not used above)`, ms(s.medianNodeAsIsSeconds), '-', '-', s.runs]]),
  ];
}
