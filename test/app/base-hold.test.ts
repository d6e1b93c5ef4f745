// The base hold against real zfs: the target is pinned, our tag leaves every other held snapshot at once, other tags stay, and a hold that fails says what it means.
import test from 'ava';
import { PassThrough } from 'node:stream';
import { holdBase, releaseOldBases } from '../../src/app/base-hold';
import type { Deps } from '../../src/app/deps';
import { BackupError, ExitCode } from '../../src/core/exit-codes';
import { runCommand } from '../../src/io/command';
import { createLogger } from '../../src/io/logger';
import { makeLocalZfs, type LocalZfs } from '../../src/io/zfs';
import { useBed } from '../bed/fixture';
import { userrefs, zfs } from '../bed/pools';

const bed = useBed(test);
const TAG = 'cyber-zfs-backup:offsite:tank/offsite/host';

/** Real zfs, with the most zfs commands seen running at the same moment. */
function deps(lines: string[]): Deps & { mostAtOnce: () => number } {
  const out = new PassThrough();
  out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const log = createLogger({ level: 'info', journal: false, out });
  const real = makeLocalZfs(runCommand, log);
  let running = 0;
  let most = 0;
  const zfsCounted: LocalZfs = {
    ...real,
    tryRun: async (args) => {
      running += 1;
      most = Math.max(most, running);
      try {
        return await real.tryRun(args);
      } finally {
        running -= 1;
      }
    },
  };
  return { zfs: zfsCounted, log, now: () => Date.now(), mostAtOnce: () => most };
}

test('releaseOldBases takes our tag off every other held snapshot at once, keeps the target and other tags, and says what it released', async (t) => {
  const pool = bed.pool('czbhold');
  const root = `${pool.name}/host`;
  zfs('create', root);
  zfs('create', `${root}/child`);
  for (const s of ['a', 'b', 'c', 'd']) zfs('snapshot', '-r', `${root}@${s}`);
  zfs('hold', '-r', TAG, `${root}@a`);
  zfs('hold', '-r', TAG, `${root}@b`);
  zfs('hold', '-r', 'someone-else', `${root}@c`);
  const lines: string[] = [];
  const d = deps(lines);
  await holdBase(d, TAG, root, 'd');
  const tree = await d.zfs.tree(root);
  if (!tree) return t.fail('the tree is listed');
  await releaseOldBases(d, TAG, root, 'd', tree);

  t.is(d.mostAtOnce(), 3, 'the three releases (a, b, and c where our tag is not) ran at once');
  for (const ds of [root, `${root}/child`]) {
    t.is(userrefs(`${ds}@a`), 0);
    t.is(userrefs(`${ds}@b`), 0);
    t.is(userrefs(`${ds}@c`), 1, "another tool's hold stays");
    t.is(userrefs(`${ds}@d`), 1, 'the target is held');
  }
  t.deepEqual(lines.filter((l) => l.includes('released')).sort(), [`released the old base hold on ${root}@a`, `released the old base hold on ${root}@b`]);
  t.false(lines.some((l) => l.includes('could not release')), 'a snapshot without our tag is no warning');
});

test('holdBase tolerates a hold that is already there, and a hold that fails is an error that names the snapshot and what it risks', async (t) => {
  const pool = bed.pool('czbhold');
  const root = `${pool.name}/host`;
  zfs('create', root);
  zfs('snapshot', '-r', `${root}@a`);
  const d = deps([]);
  await holdBase(d, TAG, root, 'a');
  await holdBase(d, TAG, root, 'a');
  t.is(userrefs(`${root}@a`), 1);
  const error = await t.throwsAsync(holdBase(d, TAG, root, 'gone'), { instanceOf: BackupError });
  t.regex(error?.message ?? '', new RegExp(`^the push succeeded, but holding ${root}@gone failed: .+; expire could destroy the base: run the push again$`));
  t.not(error?.exitCode, ExitCode.ok);
});

