// Table tests for the one quoting function of the remote command line, checked against a real POSIX shell.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { shellCommand, shellQuote } from '../../src/core/quote';
import { remoteZfsCommand, remoteZfsSequence } from '../../src/core/remote-command';

const hostile = ["a'b", 'a b', '$(touch /tmp/czb-pwned)', '`id`', 'a;b', 'a&&b', 'a|b', '>x', '<x', '*', '?', '~root', 'a\nb', '', "'", '"', '\\', '-rf', '#x', '!x', '{a,b}', 'x=$HOME'];

for (const word of hostile) {
  test(`sh reads ${JSON.stringify(word)} back unchanged`, (t) => {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(word)}`], { encoding: 'utf8' });
    t.is(out, word);
  });
}

test('plain words stay readable', (t) => {
  t.is(shellCommand(['zfs', 'receive', '-F', '-u', '-o', 'canmount=noauto', 'offsite/zippy']), 'zfs receive -F -u -o canmount=noauto offsite/zippy');
  t.is(shellQuote('pool/ds@2026-11-22T22:45:00Z'), 'pool/ds@2026-11-22T22:45:00Z');
});

test('remote zfs commands: PATH without sudo, plain sudo -n zfs with it, && between steps', (t) => {
  t.is(remoteZfsCommand(['list'], false), 'env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin zfs list');
  t.is(remoteZfsCommand(['list', 'a b'], true), "sudo -n zfs list 'a b'");
  t.is(remoteZfsSequence([['set', 'readonly=on', 'x'], ['set', 'canmount=noauto', 'x']], true), 'sudo -n zfs set readonly=on x && sudo -n zfs set canmount=noauto x');
});
