// The SSH session through a real sshd: hostile words reach zfs as one literal argument and run nothing; a command that hangs is given up.
import test from 'ava';
import { existsSync, rmSync } from 'node:fs';
import { BackupError } from '../../src/core/exit-codes';
import { remoteZfsCommand } from '../../src/core/remote-command';
import { runCommand } from '../../src/io/command';
import { resolveDestination } from '../../src/io/ssh-destination';
import { openSession } from '../../src/io/ssh-session';
import { startSshd, type TestSshd } from '../bed/sshd';

let sshd: TestSshd;
test.before(async () => {
  sshd = await startSshd();
});
test.after.always(async () => {
  await sshd?.stop();
});

const PWNED = '/tmp/czb-pwned-session';
const hostile = [`x'; touch ${PWNED}; echo '`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, `x && touch ${PWNED}`, `x | touch ${PWNED}`, `x\ntouch ${PWNED}`, `"; touch ${PWNED}; "`];

for (const word of hostile) {
  test(`zfs receives ${JSON.stringify(word)} as one argument`, async (t) => {
    rmSync(PWNED, { force: true });
    const session = await openSession(await resolveDestination(runCommand, 'offsite', sshd.config));
    try {
      const result = await session.exec(remoteZfsCommand(['list', '-H', '-o', 'name', word], false));
      t.is(result.code, 1);
      t.regex(result.stderr, /cannot open '[\s\S]*': (invalid dataset name|dataset does not exist)/);
      t.true(result.stderr.includes(word.split('\n')[0] as string), result.stderr);
      const echo = await session.exec(['printf', '%s', word].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' '));
      t.is(echo.stdout, word);
    } finally {
      session.close();
    }
    t.false(existsSync(PWNED));
  });
}

test('a remote command that does not end is given up after its timeout: exit 69 with one line; the link itself is not called silent', async (t) => {
  const session = await openSession(await resolveDestination(runCommand, 'offsite', sshd.config), { execTimeoutSeconds: 1 });
  try {
    const started = Date.now();
    const error = await t.throwsAsync(session.exec('sleep 30'), { instanceOf: BackupError });
    t.is(error?.exitCode, 69);
    t.regex(error?.message ?? '', /^a remote command on offsite \(root@\[127\.0\.0\.1\]:\d+\) did not finish within 1 s \(sleep 30\); the link answers, so look at zfs there/);
    t.true(Date.now() - started < 10_000);
    t.is(session.silence(), undefined, 'the link itself did not go silent');
  } finally {
    session.close();
  }
});
