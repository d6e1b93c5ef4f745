// Table tests of the serve requests a restore makes (send, send from=, send-size, restore-info): their words, their confinement, their replies; and the restore's argv.
import test from 'ava';
import { parseCapabilities } from '../../src/core/capabilities';
import { authorizeRequest, parseRestoreInfoReply, parseSendSizeReply, serveRequestCommand, type ServeRequest } from '../../src/core/serve-protocol';
import { incrementalSendArgs, parseSendSize, restoreReceiveArgs, sendSizeArgs, usedArgs } from '../../src/core/zfs-argv';

const policy = { roots: ['tank/backup/zippy'], appendOnly: true };
const P = 'cyber-zfs-backup-serve/1';

const roundTrips: ServeRequest[] = [
  { verb: 'send', dataset: 'tank/backup/zippy', snapshot: '2026-11-01T00:00:00Z', flags: ['L', 'e', 'c', 'b'] },
  { verb: 'send', dataset: 'tank/backup/zippy/home', snapshot: '2026-11-03T00:00:00Z', flags: ['w'], from: '2026-11-01T00:00:00Z' },
  { verb: 'send', dataset: 'tank/backup/zippy', snapshot: 'manual', flags: [] },
  { verb: 'send-size', dataset: 'tank/backup/zippy', snapshot: '2026-11-01T00:00:00Z', flags: ['L', 'c'] },
  { verb: 'restore-info', dataset: 'tank/backup/zippy' },
];

for (const request of roundTrips) {
  test(`serve request round trip (even append-only: all are read-only): ${serveRequestCommand(request)}`, (t) => {
    t.deepEqual(authorizeRequest(serveRequestCommand(request), policy), { ok: true, request });
  });
}

test('the words of the restore requests', (t) => {
  t.is(serveRequestCommand(roundTrips[1] as ServeRequest), `${P} send tank/backup/zippy/home@2026-11-03T00:00:00Z flags=w from=2026-11-01T00:00:00Z`);
  t.is(serveRequestCommand(roundTrips[3] as ServeRequest), `${P} send-size tank/backup/zippy@2026-11-01T00:00:00Z flags=Lc`);
  t.is(serveRequestCommand(roundTrips[4] as ServeRequest), `${P} restore-info tank/backup/zippy`);
});

const refusals: Array<[string, RegExp]> = [
  [`${P} restore-info tank/backup/other`, /outside this key's root/],
  [`${P} restore-info tank/backup/zippy extra`, /restore-info takes one dataset/],
  [`${P} send-size tank/other@x`, /send-size: tank\/other is outside/],
  [`${P} send-size tank/backup/zippy@x flags=R`, /send-size: flag -R is not one a restore uses/],
  [`${P} send-size tank/backup/zippy@x from=y`, /send-size: unexpected word "from=y"/],
  [`${P} send tank/backup/zippy@x from=-n`, /from="-n" is not a snapshot name/],
  [`${P} send tank/backup/zippy@x from=a@b`, /from="a@b" is not a snapshot name/],
  [`${P} send tank/backup/zippy@x from=a from=b`, /from= given twice/],
  [`${P} send tank/backup/zippy@x flags=ww`, /a flag is given twice/],
  [`${P} send tank/backup/zippy@x flags=p`, /flag -p is not one a restore uses/],
];

for (const [command, reason] of refusals) {
  test(`serve refuses: ${command}`, (t) => {
    const r = authorizeRequest(command, policy);
    t.false(r.ok);
    if (!r.ok) t.regex(r.reason, reason);
  });
}

test('restore replies: parsed when whole, undefined otherwise', (t) => {
  const listing = { code: 0, stdout: 'x', stderr: '' };
  t.deepEqual(parseRestoreInfoReply(`noise\n${JSON.stringify({ serve: 1, received: listing })}\n`), { serve: 1, received: listing });
  t.deepEqual(parseRestoreInfoReply(JSON.stringify({ serve: 1, received: listing, encryption: listing })), { serve: 1, received: listing, encryption: listing });
  t.is(parseRestoreInfoReply(JSON.stringify({ serve: 1, received: listing, encryption: 'x' })), undefined);
  t.is(parseRestoreInfoReply('{"serve":1}'), undefined);
  t.deepEqual(parseSendSizeReply(JSON.stringify({ serve: 1, size: listing, exact: true })), { serve: 1, size: listing, exact: true });
  t.is(parseSendSizeReply(JSON.stringify({ serve: 1, size: listing })), undefined);
});

test('the send size: zfs send -n -P (its size line) or zfs get used (one number)', (t) => {
  t.deepEqual(sendSizeArgs('p/h', 's', ['L', 'w']), ['send', '-n', '-P', '-R', '-L', '-w', 'p/h@s']);
  t.deepEqual(usedArgs('p/h'), ['get', '-H', '-p', '-o', 'value', 'used', 'p/h']);
  t.is(parseSendSize('full\tp/h@a\t13936\nincremental\ta\tp/h@b\t624\nsize\t21179456\n'), 21179456);
  t.is(parseSendSize('1048576\n'), 1048576);
  t.is(parseSendSize('cannot open\n'), undefined);
});

test('restore argv: an incremental of one dataset; the local receive never mounts, resumes where it can, and keeps mount points off on OpenZFS', (t) => {
  t.deepEqual(incrementalSendArgs('p/h/a', 'x', 'y', ['L', 'b']), ['send', '-L', '-b', '-I', '@x', 'p/h/a@y']);
  const openzfs = parseCapabilities('usage:\n\tversion\n\treceive [-FhMnsuv] [-o <property>=<value>] [-x <property>] <filesystem>\n');
  const fuse = parseCapabilities('usage:\n\treceive [-vnF] <filesystem|volume|snapshot>\n');
  t.deepEqual(restoreReceiveArgs('p/h.czb-restoring', openzfs, true), ['receive', '-u', '-s', '-o', 'mountpoint=none', 'p/h.czb-restoring']);
  t.deepEqual(restoreReceiveArgs('p/h.czb-restoring/a', openzfs, false), ['receive', '-u', '-s', 'p/h.czb-restoring/a']);
  t.deepEqual(restoreReceiveArgs('p/h.czb-restoring', fuse, true), ['receive', '-u', 'p/h.czb-restoring']);
});
