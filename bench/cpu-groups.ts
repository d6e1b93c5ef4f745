// CPU accounting by process group for the benchmark: cgroup (v1 cpuacct or v2) directories a process and all it starts are charged to.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One cgroup: everything a process moved into it does afterwards, and everything it starts, is
 * charged to it, including processes still running when it is read (unlike cutime, which counts
 * only reaped children). Reads are exact to the microsecond.
 */
export interface CpuGroup {
  name: string;
  dir: string;
  /** CPU seconds (user + system) charged so far. */
  seconds(): number;
  /** Moves one process (not its existing children) into the group. */
  add(pid: number): void;
}

export interface CpuGroups {
  /** How the groups are kept, for the report. */
  kind: 'cgroup v1 cpuacct' | 'cgroup v2';
  group(name: string): CpuGroup;
  /** Moves every process left back to the root and removes the directories. */
  remove(): void;
}

const V1 = '/sys/fs/cgroup/cpuacct';
const V2_CANDIDATES = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'];

function v2Root(): string | undefined {
  return V2_CANDIDATES.find((d) => existsSync(join(d, 'cgroup.procs')) && existsSync(join(d, 'cgroup.controllers')));
}

/** Groups below one directory named for this benchmark process; undefined where cgroups cannot be written (not root, no cgroupfs). */
export function createCpuGroups(tag: string): CpuGroups | undefined {
  const v1 = existsSync(join(V1, 'cpuacct.usage')) ? V1 : undefined;
  const root = v1 ?? v2Root();
  if (!root) return undefined;
  const base = join(root, `czb-bench-${tag}-${process.pid}`);
  try {
    mkdirSync(base);
  } catch {
    return undefined;
  }
  const made: string[] = [];
  const read = (dir: string): number => {
    if (v1) return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8').trim()) / 1e9;
    const m = /^usage_usec (\d+)/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
    return m ? Number(m[1]) / 1e6 : NaN;
  };
  return {
    kind: v1 ? 'cgroup v1 cpuacct' : 'cgroup v2',
    group(name) {
      const dir = join(base, name);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        made.push(dir);
      }
      return { name, dir, seconds: () => read(dir), add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`) };
    },
    remove() {
      for (const dir of [...made.reverse(), base]) {
        try {
          const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
          for (const pid of pids) {
            try {
              writeFileSync(join(root, 'cgroup.procs'), `${pid}\n`);
            } catch {
              /* it exited meanwhile */
            }
          }
          rmdirSync(dir);
        } catch {
          /* already gone, or a process still entering: left for the next run to see */
        }
      }
    },
  };
}
