// Table tests of the serve protocol: what serve accepts, what it refuses and why, and that every request a sender builds reads back the same.
import test from 'ava';
import {
  authorizeRequest,
  parseListReply,
  parseProbeReply,
  parseReceiveReply,
  refusalLine,
  SERVE_PROTOCOL,
  serveRequestCommand,
  type ServePolicy,
  type ServeRequest,
} from '../../src/core/serve-protocol';

const ROOT = 'tank/backup/zippy';
const policy: ServePolicy = { roots: [ROOT], appendOnly: false };
const appendOnly: ServePolicy = { roots: [ROOT], appendOnly: true };
const P = SERVE_PROTOCOL;

const roundTrips: ServeRequest[] = [
  { verb: 'probe', dataset: ROOT },
  { verb: 'list', dataset: `${ROOT}/home` },
  { verb: 'receive', dataset: ROOT, tree: ROOT, mode: 'tree', mountpoint: '/srv/backup/zippy' },
  { verb: 'receive', dataset: `${ROOT}/a/b`, tree: ROOT, mode: 'catch-up', mountpoint: '/srv/backup/zippy' },
  { verb: 'receive', dataset: `${ROOT}/a`, tree: ROOT, mode: 'resume', mountpoint: '/srv/backup/zippy' },
  { verb: 'repair', items: [{ kind: 'rollback', dataset: `${ROOT}/a`, snapshot: '2026-11-22T22:45:00Z' }, { kind: 'destroy', dataset: `${ROOT}/new` }] },
  { verb: 'abort', dataset: `${ROOT}/a` },
  { verb: 'send', dataset: ROOT, snapshot: '2026-11-22T22:45:00Z', flags: ['L', 'e', 'c', 'w', 'b'] },
  { verb: 'send', dataset: ROOT, snapshot: 'manual.1', flags: [] },
  { verb: 'resume-send', token: '1-e604ea4bf-e0-789c63a2' },
];

for (const request of roundTrips) {
  test(`a sender's ${request.verb} request is plain words and reads back the same: ${serveRequestCommand(request)}`, (t) => {
    const command = serveRequestCommand(request);
    t.notRegex(command, /'/, 'no quoting is ever needed');
    t.deepEqual(authorizeRequest(command, policy), { ok: true, request });
  });
}

interface Refusal {
  title: string;
  command: string | undefined;
  policy?: ServePolicy;
  reason: RegExp;
}

const refusals: Refusal[] = [
  { title: 'no command (an interactive login)', command: undefined, reason: /no request/ },
  { title: 'an empty command', command: '', reason: /no request/ },
  { title: 'a plain zfs command', command: `zfs destroy -r ${ROOT}`, reason: /not a cyber-zfs-backup request/ },
  { title: 'a shell', command: '/bin/sh', reason: /not a cyber-zfs-backup request/ },
  { title: 'the plain probe batch', command: "env PATH=/sbin zfs; s=$?; printf '\\n# czb-batch end %s\\n' \"$s\"", reason: /not a cyber-zfs-backup request/ },
  { title: 'a newline', command: `${P} probe ${ROOT}\nzfs destroy -r ${ROOT}`, reason: /control characters/ },
  { title: 'a tab', command: `${P}\tprobe ${ROOT}`, reason: /control characters/ },
  { title: 'binary junk', command: '\u0000\u00ff\u001b[31m', reason: /control characters/ },
  { title: 'non-ASCII', command: `${P} probe tank/backup/zippé`, reason: /non-ASCII/ },
  { title: 'a 1 MB request', command: `${P} probe ${'a'.repeat(1_000_000)}`, reason: /1000\d+ bytes long/ },
  { title: 'a semicolon', command: `${P} probe ${ROOT};id`, reason: /not a plain word/ },
  { title: 'a pipe', command: `${P} probe ${ROOT} | sh`, reason: /not a plain word/ },
  { title: 'command substitution', command: `${P} probe $(id)`, reason: /not a plain word/ },
  { title: 'backquotes', command: `${P} probe \`id\``, reason: /not a plain word/ },
  { title: 'a quoted word', command: `${P} probe '${ROOT}'`, reason: /not a plain word/ },
  { title: 'two spaces', command: `${P}  probe ${ROOT}`, reason: /not a plain word/ },
  { title: 'an unknown verb', command: `${P} destroy ${ROOT}`, reason: /"destroy" is not something serve does/ },
  { title: 'another host\'s tree', command: `${P} probe tank/backup/zappy`, reason: /outside this key's root \(tank\/backup\/zippy\)/ },
  { title: 'the parent of the root', command: `${P} list tank/backup`, reason: /outside this key's root/ },
  { title: 'a sibling that starts like the root', command: `${P} probe tank/backup/zippy2`, reason: /outside this key's root/ },
  { title: '.. in a dataset', command: `${P} probe ${ROOT}/../zappy`, reason: /has a "\.\." component/ },
  { title: '. in a dataset', command: `${P} probe ${ROOT}/./a`, reason: /has a "\." component/ },
  { title: 'a dataset with @ (a snapshot where a dataset goes)', command: `${P} probe ${ROOT}@x`, reason: /contains "@"/ },
  { title: 'a dataset with %', command: `${P} list ${ROOT}/%recv`, reason: /not a plain word|contains "%"/ },
  { title: 'a dataset with #', command: `${P} list ${ROOT}#bm`, reason: /not a plain word|contains "#"/ },
  { title: 'an option-like dataset', command: `${P} probe -R`, reason: /starts with "-"/ },
  { title: 'a double slash', command: `${P} probe tank//backup/zippy`, reason: /empty component/ },
  { title: 'receive into another root', command: `${P} receive tank/backup/zappy mode=tree mountpoint=/srv/backup/zappy`, reason: /outside this key's root/ },
  { title: 'receive with a mount point outside /srv/backup', command: `${P} receive ${ROOT} mode=tree mountpoint=/etc`, reason: /not below \/srv\/backup/ },
  { title: 'receive with .. in the mount point', command: `${P} receive ${ROOT} mode=tree mountpoint=/srv/backup/../../etc`, reason: /"\.\."/ },
  { title: 'receive without a mount point', command: `${P} receive ${ROOT} mode=tree`, reason: /mountpoint= is missing/ },
  { title: 'receive with an unknown mode', command: `${P} receive ${ROOT} mode=force mountpoint=/srv/backup/zippy`, reason: /not tree, catch-up or resume/ },
  { title: 'receive with an unknown option (-F smuggled in)', command: `${P} receive ${ROOT} -F mountpoint=/srv/backup/zippy`, reason: /unexpected word "-F"/ },
  { title: 'receive with an option given twice', command: `${P} receive ${ROOT} mode=tree mode=tree mountpoint=/srv/backup/zippy`, reason: /given twice/ },
  { title: 'receive into a dataset outside its tree', command: `${P} receive ${ROOT}/a tree=${ROOT}/b mode=catch-up mountpoint=/srv/backup/zippy`, reason: /not in the tree/ },
  { title: 'rollback outside the root', command: `${P} repair rollback=tank/backup/zappy@x`, reason: /outside this key's root/ },
  { title: 'destroy of the root itself', command: `${P} repair destroy=${ROOT}`, reason: /root itself/ },
  { title: 'destroy of another host\'s tree', command: `${P} repair destroy=tank/backup/zappy/home`, reason: /outside this key's root/ },
  { title: 'a repair word that is neither', command: `${P} repair destroy-all`, reason: /unexpected word/ },
  { title: 'rollback under --append-only', command: `${P} repair rollback=${ROOT}@x`, policy: appendOnly, reason: /append-only/ },
  { title: 'destroy under --append-only', command: `${P} repair destroy=${ROOT}/a`, policy: appendOnly, reason: /append-only/ },
  { title: 'send of another host\'s snapshot', command: `${P} send tank/backup/zappy@x`, reason: /outside this key's root/ },
  { title: 'send with a flag a restore never needs (-p, -D)', command: `${P} send ${ROOT}@x flags=Rp`, reason: /-R is not one a restore uses/ },
  { title: 'send of a dataset, not a snapshot', command: `${P} send ${ROOT}`, reason: /not a snapshot/ },
  { title: 'a snapshot name that starts with -', command: `${P} send ${ROOT}@-x`, reason: /not a snapshot name/ },
  { title: 'resume-send with something that is not a token', command: `${P} resume-send ${ROOT}`, reason: /receive_resume_token/ },
];

for (const r of refusals) {
  test(`refused: ${r.title}`, (t) => {
    const result = authorizeRequest(r.command, r.policy ?? policy);
    t.false(result.ok);
    if (!result.ok) t.regex(result.reason, r.reason);
  });
}

test('the hostile table is wide enough (at least 40 refusals)', (t) => {
  t.true(refusals.length >= 40, String(refusals.length));
});

test('several roots: each dataset must lie inside one of them', (t) => {
  const two: ServePolicy = { roots: ['tank/backup/zippy', 'tank/backup/zippy-old'], appendOnly: false };
  t.true(authorizeRequest(`${P} probe tank/backup/zippy-old/home`, two).ok);
  const refused = authorizeRequest(`${P} probe tank/backup/zappy`, two);
  t.false(refused.ok);
  if (!refused.ok) t.regex(refused.reason, /outside this key's roots \(tank\/backup\/zippy, tank\/backup\/zippy-old\)/);
});

test('append-only still allows probes, receives, aborts of a partial receive and sends', (t) => {
  for (const verb of [`probe ${ROOT}`, `receive ${ROOT} mode=tree mountpoint=/srv/backup/zippy`, `abort ${ROOT}/a`, `send ${ROOT}@x`]) t.true(authorizeRequest(`${P} ${verb}`, appendOnly).ok, verb);
});

test('a refusal is one printable line naming what was asked, even for junk', (t) => {
  const line = refusalLine('a\nb\u0000'.repeat(100), 'why');
  t.false(line.includes('\n'));
  t.regex(line, /^cyber-zfs-backup serve: refused ".*…" \(400 bytes\): why$/);
});

test('replies: the last JSON line is read; anything else is not a reply', (t) => {
  const tree = { code: 0, stdout: 'p/r\tguid\t1\n', stderr: '' };
  const probe = { serve: 1, version: '1.1.0', appendOnly: true, usage: 'usage: zfs', tree };
  t.deepEqual(parseProbeReply(`noise from a profile\n${JSON.stringify(probe)}\n`), probe);
  t.is(parseProbeReply('sh: 1: cyber-zfs-backup-serve/1: not found\n'), undefined);
  t.is(parseProbeReply('{"serve":2}\n'), undefined);
  t.is(parseProbeReply('{not json\n'), undefined);
  t.deepEqual(parseReceiveReply(`${JSON.stringify({ serve: 1, fixes: [['set', 'readonly=on', 'p/r']], tree })}\n`)?.fixes, [['set', 'readonly=on', 'p/r']]);
  t.is(parseReceiveReply(''), undefined);
  t.deepEqual(parseListReply(`${JSON.stringify({ serve: 1, tree })}\n`), tree);
  t.is(parseListReply(`${JSON.stringify({ serve: 1, tree: { code: 'x' } })}\n`), undefined);
});
