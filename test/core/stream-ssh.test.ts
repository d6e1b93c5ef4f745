// Table tests of the stream's OpenSSH client: its argv from the resolved destination, and how its log and exit status tell a remote status from a lost, silent or refused connection.
import test from 'ava';
import { keepaliveFor } from '../../src/core/link';
import { masterSshArgv, readStreamSshEnd, streamSshArgv, type StreamSshEnd, type StreamSshTarget } from '../../src/core/stream-ssh';

const base: StreamSshTarget = {
  destination: 'offsite',
  config: '/etc/ssh/cyber-zfs-backup.ssh_config',
  hostname: '192.0.2.1',
  port: 2222,
  user: 'root',
  identityFiles: ['/etc/ssh/cyber-zfs-backup.id_ed25519'],
  identitiesOnly: true,
  agentSocket: undefined,
  userKnownHostsFiles: ['/etc/ssh/cyber-zfs-backup.known_hosts'],
  globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
  hostKeyAlias: undefined,
  keepalive: keepaliveFor(0, 3),
  connectTimeoutSeconds: 30,
  ciphers: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
};

/** The -o options of an argv as a map (the last value of each, as ssh would not read them: the first wins, so each must appear once). */
function options(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] !== '-o') continue;
    const [key = '', ...rest] = (argv[i + 1] ?? '').split('=');
    out.set(key, [...(out.get(key) ?? []), rest.join('=')]);
  }
  return out;
}

const COMMAND = "env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin zfs receive -F -u 'tank/it'\\''s'";

const rows: Array<{ name: string; target: Partial<StreamSshTarget>; want: Record<string, string[]>; absent?: string[]; head?: string[] }> = [
  {
    name: 'the shipped config: -F, the resolved host, port, user and key, known_hosts only, the default keepalives, ConnectTimeout',
    target: {},
    head: ['-F', '/etc/ssh/cyber-zfs-backup.ssh_config', '-T', '-x', '-a', '-E', '/tmp/czb-stream-x/ssh.log'],
    want: {
      BatchMode: ['yes'],
      StrictHostKeyChecking: ['yes'],
      UpdateHostKeys: ['no'],
      HostName: ['192.0.2.1'],
      Port: ['2222'],
      User: ['root'],
      IdentityFile: ['/etc/ssh/cyber-zfs-backup.id_ed25519'],
      IdentitiesOnly: ['yes'],
      IdentityAgent: ['none'],
      UserKnownHostsFile: ['/etc/ssh/cyber-zfs-backup.known_hosts'],
      GlobalKnownHostsFile: ['/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2'],
      ServerAliveInterval: ['10'],
      ServerAliveCountMax: ['3'],
      ConnectTimeout: ['30'],
      ControlMaster: ['no'],
      ControlPath: ['none'],
      ProxyJump: ['none'],
      LogLevel: ['DEBUG1'],
      // OpenSSH's default set, AES-GCM first (as the session's own connection prefers it).
      Ciphers: ['aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr'],
    },
    absent: ['HostKeyAlias'],
  },
  {
    name: 'a config that allows only chacha20 and aes256-gcm: the same set, GCM first; none printed: no Ciphers option',
    target: { ciphers: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com'] },
    want: { Ciphers: ['aes256-gcm@openssh.com,chacha20-poly1305@openssh.com'] },
  },
  {
    name: 'no ciphers printed: ssh keeps its own',
    target: { ciphers: [] },
    want: {},
    absent: ['Ciphers'],
  },
  {
    name: 'no --ssh-config: no -F (ssh reads its own files, as ssh -G did); keepalives and ConnectTimeout from the config win',
    target: { config: undefined, keepalive: keepaliveFor(15, 4), connectTimeoutSeconds: 5 },
    head: ['-T', '-x', '-a'],
    want: { ServerAliveInterval: ['15'], ServerAliveCountMax: ['4'], ConnectTimeout: ['5'] },
  },
  {
    name: 'several keys in order, an agent, IdentitiesOnly no, a HostKeyAlias, no known_hosts files at all',
    target: { identityFiles: ['/root/.ssh/id_ed25519', '/root/.ssh/id_rsa'], agentSocket: '/run/agent.sock', identitiesOnly: false, hostKeyAlias: 'backup-box', userKnownHostsFiles: [], globalKnownHostsFiles: [] },
    want: { IdentityFile: ['/root/.ssh/id_ed25519', '/root/.ssh/id_rsa'], IdentityAgent: ['/run/agent.sock'], IdentitiesOnly: ['no'], HostKeyAlias: ['backup-box'], UserKnownHostsFile: ['none'], GlobalKnownHostsFile: ['none'] },
  },
];

for (const row of rows) {
  test(`streamSshArgv: ${row.name}`, (t) => {
    const argv = streamSshArgv({ ...base, ...row.target }, COMMAND, '/tmp/czb-stream-x/ssh.log');
    if (row.head) t.deepEqual(argv.slice(0, row.head.length), row.head);
    // The destination is the alias (the config's Host blocks apply), after "--", and the remote command is one last argument.
    t.deepEqual(argv.slice(-3), ['--', 'offsite', COMMAND]);
    const o = options(argv);
    for (const [key, values] of Object.entries(row.want)) t.deepEqual(o.get(key), values, key);
    for (const key of row.absent ?? []) t.false(o.has(key), key);
    // Every option but IdentityFile appears once (ssh takes the first value of each).
    for (const [key, values] of o) if (key !== 'IdentityFile') t.is(values.length, 1, key);
    t.false(argv.includes('-t'), 'never a pty');
  });
}

test('streamSshArgv refuses a path that an OpenSSH option cannot carry', (t) => {
  t.throws(() => streamSshArgv({ ...base, identityFiles: ['/root/my key'] }, COMMAND, '/tmp/l'), { message: /white space or a quote/ });
  t.throws(() => streamSshArgv({ ...base, userKnownHostsFiles: ['/tmp/a"b'] }, COMMAND, '/tmp/l'), { message: /white space or a quote/ });
});

test('streamSshArgv over the shared connection: ControlPath is its socket, ControlMaster no (ssh connects by itself if the socket does not answer), every other setting as without it', (t) => {
  const plain = streamSshArgv(base, COMMAND, '/tmp/czb-stream-x/ssh.log');
  const shared = streamSshArgv(base, COMMAND, '/tmp/czb-stream-x/ssh.log', '/tmp/czb-link-x/master');
  const o = options(shared);
  t.deepEqual(o.get('ControlPath'), ['/tmp/czb-link-x/master']);
  t.deepEqual(o.get('ControlMaster'), ['no']);
  t.false(o.has('ControlPersist'));
  t.deepEqual(shared.map((a) => a.replace('ControlPath=/tmp/czb-link-x/master', 'ControlPath=none')), plain);
});

test('masterSshArgv: -N first (no remote command, so a forced command does not run for it), the same settings, ControlMaster yes on its socket in the foreground, the destination last', (t) => {
  const argv = masterSshArgv(base, '/tmp/czb-link-x/master', '/tmp/czb-link-x/master.log');
  t.deepEqual(argv.slice(0, 8), ['-N', '-F', '/etc/ssh/cyber-zfs-backup.ssh_config', '-T', '-x', '-a', '-E', '/tmp/czb-link-x/master.log']);
  t.deepEqual(argv.slice(-2), ['--', 'offsite']);
  const o = options(argv);
  const stream = options(streamSshArgv(base, COMMAND, '/tmp/czb-link-x/master.log'));
  for (const key of ['BatchMode', 'StrictHostKeyChecking', 'UpdateHostKeys', 'UserKnownHostsFile', 'GlobalKnownHostsFile', 'HostName', 'Port', 'User', 'IdentityFile', 'IdentitiesOnly', 'IdentityAgent', 'ServerAliveInterval', 'ServerAliveCountMax', 'ConnectTimeout', 'Ciphers', 'ProxyJump', 'LogLevel']) {
    t.deepEqual(o.get(key), stream.get(key), key);
  }
  t.deepEqual(o.get('ControlMaster'), ['yes']);
  t.deepEqual(o.get('ControlPath'), ['/tmp/czb-link-x/master']);
  t.deepEqual(o.get('ControlPersist'), ['no']);
  for (const [key, values] of o) if (key !== 'IdentityFile') t.is(values.length, 1, key);
});

test('a control socket path with a % (a token to OpenSSH) or white space is refused', (t) => {
  t.throws(() => masterSshArgv(base, '/tmp/100%/master', '/tmp/l'), { message: /holds a %/ });
  t.throws(() => streamSshArgv(base, COMMAND, '/tmp/l', '/tmp/my dir/master'), { message: /white space or a quote/ });
});

const AUTH = 'debug1: Remote protocol version 2.0, remote software version OpenSSH_9.2p1 Debian-2+deb12u3\ndebug1: Authenticated to 127.0.0.1 ([127.0.0.1]:2222) using "publickey".\n';
const STATUS = () => `${AUTH}debug1: client_input_channel_req: channel 0 rtype exit-status reply 0\ndebug1: client_input_channel_req: channel 0 rtype eow@openssh.com reply 0\n`;

const ends: Array<[string, number | null, string, StreamSshEnd['kind'], number?]> = [
  ['the remote command exited 0', 0, STATUS(), 'status', 0],
  ['the remote command exited 1', 1, STATUS(), 'status', 1],
  ['the remote command itself exited 255 (it sent its status)', 255, STATUS(), 'status', 255],
  ['the remote command was killed by a signal: ssh exits 255 without a status', 255, `${AUTH}debug1: client_input_channel_req: channel 0 rtype exit-signal reply 0\n`, 'signal'],
  ['the connection was reset mid-stream', 255, `${AUTH}Read from remote host 127.0.0.1: Connection reset by peer\nclient_loop: send disconnect: Broken pipe\n`, 'lost'],
  ['the connection was reset during the key exchange', 255, 'debug1: Connecting to 127.0.0.1 [127.0.0.1] port 2222.\ndebug1: Connection established.\nkex_exchange_identification: read: Connection reset by peer\n', 'lost'],
  ['keepalives went unanswered', 255, `${AUTH}Timeout, server 127.0.0.1 not responding.\n`, 'silent'],
  ['the host key changed', 255, 'debug1: Connection established.\n@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n', 'host-key'],
  ['the host is unknown', 255, 'debug1: Connection established.\nNo ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.\n', 'host-key'],
  ['the login was refused', 255, 'debug1: Remote protocol version 2.0\nroot@127.0.0.1: Permission denied (publickey).\n', 'login'],
  ['nothing listens', 255, 'debug1: Connecting to 127.0.0.1 [127.0.0.1] port 2222.\nssh: connect to host 127.0.0.1 port 2222: Connection refused\n', 'connect'],
  ['ssh was killed (no exit code, no status)', null, AUTH, 'lost'],
];

for (const [name, code, log, kind, status] of ends) {
  test(`readStreamSshEnd: ${name} -> ${kind}`, (t) => {
    const end = readStreamSshEnd(code, log);
    t.is(end.kind, kind);
    if (end.kind === 'status') t.is(end.code, status as number);
    if (end.kind !== 'status' && end.kind !== 'signal') t.false(/debug1/.test(end.detail), end.detail);
  });
}
