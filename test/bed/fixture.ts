// Test bed: one loopback sshd per test file and the pools its tests create, all stopped and destroyed afterwards.
import type { TestFn } from 'ava';
import { createPool, type TestPool } from './pools';
import { startSshd, type TestSshd } from './sshd';

export interface Bed {
  /** The file's sshd (started in a before hook). */
  readonly sshd: TestSshd;
  /** A pool that is destroyed when the file's tests are done. */
  pool(prefix: string, size?: string): TestPool;
}

export function useBed(test: TestFn): Bed {
  let sshd: TestSshd | undefined;
  const pools: TestPool[] = [];
  test.before(async () => {
    sshd = await startSshd();
  });
  test.after.always(async () => {
    // The sessions first: a receive they still run keeps its pool busy.
    await sshd?.stop();
    pools.forEach((p) => p.destroy());
  });
  return {
    get sshd() {
      if (!sshd) throw new Error('the sshd is not started yet (use it inside a test or hook)');
      return sshd;
    },
    pool(prefix, size) {
      const p = createPool(prefix, size);
      pools.push(p);
      return p;
    },
  };
}
