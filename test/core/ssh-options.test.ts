// Table tests for the `ssh -G` parser, the path token expander and the ProxyJump parser.
import test from 'ava';
import { expandSshTokens, parseProxyJump, parseSshG, SshOptionsError, type SshOptions } from '../../src/core/ssh-options';

// Captured verbatim from OpenSSH_9.2p1 Debian-2+deb12u10 as root: `ssh -G localhost` (default config).
const SSH_G_LOCALHOST = `host localhost
user root
hostname localhost
port 22
addressfamily any
batchmode no
canonicalizefallbacklocal yes
canonicalizehostname false
checkhostip no
compression no
controlmaster false
enablesshkeysign no
clearallforwardings no
exitonforwardfailure no
fingerprinthash SHA256
forwardx11 no
forwardx11trusted yes
gatewayports no
gssapiauthentication yes
gssapikeyexchange no
gssapidelegatecredentials no
gssapitrustdns no
gssapirenewalforcesrekey no
gssapikexalgorithms gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-
hashknownhosts yes
hostbasedauthentication no
identitiesonly no
kbdinteractiveauthentication yes
nohostauthenticationforlocalhost no
passwordauthentication yes
permitlocalcommand no
proxyusefdpass no
pubkeyauthentication true
requesttty auto
sessiontype default
stdinnull no
forkafterauthentication no
streamlocalbindunlink no
stricthostkeychecking ask
tcpkeepalive yes
tunnel false
verifyhostkeydns false
visualhostkey no
updatehostkeys true
enableescapecommandline no
canonicalizemaxdots 1
connectionattempts 1
forwardx11timeout 1200
numberofpasswordprompts 3
serveralivecountmax 3
serveraliveinterval 0
requiredrsasize 1024
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
loglevel INFO
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
securitykeyprovider internal
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
xauthlocation /usr/bin/xauth
identityfile ~/.ssh/id_rsa
identityfile ~/.ssh/id_ecdsa
identityfile ~/.ssh/id_ecdsa_sk
identityfile ~/.ssh/id_ed25519
identityfile ~/.ssh/id_ed25519_sk
identityfile ~/.ssh/id_xmss
identityfile ~/.ssh/id_dsa
canonicaldomains none
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
userknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2
sendenv LANG
sendenv LC_*
logverbose none
permitremoteopen any
addkeystoagent false
forwardagent no
connecttimeout none
tunneldevice any:any
canonicalizePermittedcnames none
controlpersist no
escapechar ~
ipqos lowdelay throughput
rekeylimit 0 0
streamlocalbindmask 0177
syslogfacility USER
`;

// Captured verbatim: `ssh -G -F /dev/null -o ProxyJump=a@b:2 x`.
const SSH_G_PROXYJUMP = `host x
user root
hostname x
port 22
addressfamily any
batchmode no
canonicalizefallbacklocal yes
canonicalizehostname false
checkhostip no
compression no
controlmaster false
enablesshkeysign no
clearallforwardings no
exitonforwardfailure no
fingerprinthash SHA256
forwardx11 no
forwardx11trusted yes
gatewayports no
gssapiauthentication no
gssapikeyexchange no
gssapidelegatecredentials no
gssapitrustdns no
gssapirenewalforcesrekey no
gssapikexalgorithms gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-
hashknownhosts no
hostbasedauthentication no
identitiesonly no
kbdinteractiveauthentication yes
nohostauthenticationforlocalhost no
passwordauthentication yes
permitlocalcommand no
proxyusefdpass no
pubkeyauthentication true
requesttty auto
sessiontype default
stdinnull no
forkafterauthentication no
streamlocalbindunlink no
stricthostkeychecking ask
tcpkeepalive yes
tunnel false
verifyhostkeydns false
visualhostkey no
updatehostkeys true
enableescapecommandline no
canonicalizemaxdots 1
connectionattempts 1
forwardx11timeout 1200
numberofpasswordprompts 3
serveralivecountmax 3
serveraliveinterval 0
requiredrsasize 1024
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
loglevel INFO
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
securitykeyprovider internal
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
xauthlocation /usr/bin/xauth
identityfile ~/.ssh/id_rsa
identityfile ~/.ssh/id_ecdsa
identityfile ~/.ssh/id_ecdsa_sk
identityfile ~/.ssh/id_ed25519
identityfile ~/.ssh/id_ed25519_sk
identityfile ~/.ssh/id_xmss
identityfile ~/.ssh/id_dsa
canonicaldomains none
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
userknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2
logverbose none
permitremoteopen any
addkeystoagent false
forwardagent no
connecttimeout none
tunneldevice any:any
canonicalizePermittedcnames none
controlpersist no
escapechar ~
ipqos lowdelay throughput
rekeylimit 0 0
streamlocalbindmask 0177
syslogfacility USER
proxyjump a@b:2
`;

// Captured verbatim: `ssh -G -F cfg offsite` with this cfg (note: ssh -G rewrote the ssh:// hop and
// expanded ~ and %h/%d in UserKnownHostsFile, but not in IdentityFile/CertificateFile):
// Host offsite
//   HostName backup.example.org
//   Port 2222
//   User zfsrecv
//   IdentityFile /etc/ssh/cyber-zfs-backup.id_ed25519
//   IdentityFile ~/.ssh/id_%r@%h
//   IdentitiesOnly yes
//   BatchMode yes
//   CertificateFile ~/.ssh/cert-%u.pub
//   CertificateFile /etc/ssh/c2.pub
//   UserKnownHostsFile ~/.ssh/kh_%h %d/.ssh/kh2 /var/lib/x/known_hosts
//   GlobalKnownHostsFile /etc/ssh/cyber_known_hosts
//   StrictHostKeyChecking accept-new
//   ConnectTimeout 15
//   ServerAliveInterval 30
//   ServerAliveCountMax 4
//   HostKeyAlias offsite-key
//   ProxyJump jump@bastion:2022,ssh://other@h2:23
const SSH_G_OFFSITE = `host offsite
user zfsrecv
hostname backup.example.org
port 2222
addressfamily any
batchmode yes
canonicalizefallbacklocal yes
canonicalizehostname false
checkhostip no
compression no
controlmaster false
enablesshkeysign no
clearallforwardings no
exitonforwardfailure no
fingerprinthash SHA256
forwardx11 no
forwardx11trusted yes
gatewayports no
gssapiauthentication no
gssapikeyexchange no
gssapidelegatecredentials no
gssapitrustdns no
gssapirenewalforcesrekey no
gssapikexalgorithms gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-
hashknownhosts no
hostbasedauthentication no
identitiesonly yes
kbdinteractiveauthentication yes
nohostauthenticationforlocalhost no
passwordauthentication yes
permitlocalcommand no
proxyusefdpass no
pubkeyauthentication true
requesttty auto
sessiontype default
stdinnull no
forkafterauthentication no
streamlocalbindunlink no
stricthostkeychecking accept-new
tcpkeepalive yes
tunnel false
verifyhostkeydns false
visualhostkey no
updatehostkeys false
enableescapecommandline no
canonicalizemaxdots 1
connectionattempts 1
forwardx11timeout 1200
numberofpasswordprompts 3
serveralivecountmax 4
serveraliveinterval 30
requiredrsasize 1024
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostkeyalias offsite-key
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
loglevel INFO
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
securitykeyprovider internal
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
xauthlocation /usr/bin/xauth
identityfile /etc/ssh/cyber-zfs-backup.id_ed25519
identityfile ~/.ssh/id_%r@%h
canonicaldomains none
certificatefile ~/.ssh/cert-%u.pub
certificatefile /etc/ssh/c2.pub
globalknownhostsfile /etc/ssh/cyber_known_hosts
userknownhostsfile /root/.ssh/kh_backup.example.org /root/.ssh/kh2 /var/lib/x/known_hosts
logverbose none
permitremoteopen any
addkeystoagent false
forwardagent no
connecttimeout 15
tunneldevice any:any
canonicalizePermittedcnames none
controlpersist no
escapechar ~
ipqos lowdelay throughput
rekeylimit 0 0
streamlocalbindmask 0177
syslogfacility USER
proxyjump jump@bastion:2022,other@h2:23
`;

const DEFAULT_IDENTITY_FILES = [
  '~/.ssh/id_rsa',
  '~/.ssh/id_ecdsa',
  '~/.ssh/id_ecdsa_sk',
  '~/.ssh/id_ed25519',
  '~/.ssh/id_ed25519_sk',
  '~/.ssh/id_xmss',
  '~/.ssh/id_dsa',
];

/** A minimal ssh -G text: the three required lines plus extra lines. */
function minimal(...extra: string[]): string {
  return ['host h', 'user u', 'hostname h.example', 'port 22', ...extra].join('\n') + '\n';
}

/** OpenSSH 9.2's default cipher list, as the real ssh -G outputs above print it. */
const DEFAULT_CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];

const BASE: SshOptions = {
  hostname: 'h.example',
  port: 22,
  user: 'u',
  identityFiles: [],
  userKnownHostsFiles: [],
  globalKnownHostsFiles: [],
  strictHostKeyChecking: 'ask',
  connectTimeoutSeconds: undefined,
  serverAliveIntervalSeconds: 0,
  serverAliveCountMax: 3,
  proxyJump: undefined,
  certificateFiles: [],
  hostKeyAlias: undefined,
  identitiesOnly: false,
  identityAgent: undefined,
  ciphers: [],
  proxyCommand: undefined,
  pkcs11Provider: undefined,
};

const parseRows: Array<{ name: string; input: string; expected: SshOptions }> = [
  {
    name: 'real ssh -G localhost (defaults)',
    input: SSH_G_LOCALHOST,
    expected: {
      ...BASE,
      hostname: 'localhost',
      user: 'root',
      identityFiles: DEFAULT_IDENTITY_FILES,
      userKnownHostsFiles: ['/root/.ssh/known_hosts', '/root/.ssh/known_hosts2'],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      ciphers: DEFAULT_CIPHERS,
    },
  },
  {
    name: 'real ssh -G with ProxyJump on the command line',
    input: SSH_G_PROXYJUMP,
    expected: {
      ...BASE,
      hostname: 'x',
      user: 'root',
      identityFiles: DEFAULT_IDENTITY_FILES,
      userKnownHostsFiles: ['/root/.ssh/known_hosts', '/root/.ssh/known_hosts2'],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      proxyJump: 'a@b:2',
      ciphers: DEFAULT_CIPHERS,
    },
  },
  {
    name: 'real ssh -G with a full Host block',
    input: SSH_G_OFFSITE,
    expected: {
      hostname: 'backup.example.org',
      port: 2222,
      user: 'zfsrecv',
      identityFiles: ['/etc/ssh/cyber-zfs-backup.id_ed25519', '~/.ssh/id_%r@%h'],
      userKnownHostsFiles: ['/root/.ssh/kh_backup.example.org', '/root/.ssh/kh2', '/var/lib/x/known_hosts'],
      globalKnownHostsFiles: ['/etc/ssh/cyber_known_hosts'],
      strictHostKeyChecking: 'accept-new',
      connectTimeoutSeconds: 15,
      serverAliveIntervalSeconds: 30,
      serverAliveCountMax: 4,
      proxyJump: 'jump@bastion:2022,other@h2:23',
      certificateFiles: ['~/.ssh/cert-%u.pub', '/etc/ssh/c2.pub'],
      hostKeyAlias: 'offsite-key',
      identitiesOnly: true,
      identityAgent: undefined,
      ciphers: DEFAULT_CIPHERS,
      proxyCommand: undefined,
      pkcs11Provider: undefined,
    },
  },
  {
    name: 'ProxyCommand, PKCS11Provider and IdentityAgent appear only when set (as ssh -G prints them)',
    input: minimal('identityagent /run/user/0/agent.sock', 'pkcs11provider /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', 'proxycommand ssh -W %h:%p bastion'),
    expected: { ...BASE, identityAgent: '/run/user/0/agent.sock', proxyCommand: 'ssh -W %h:%p bastion', pkcs11Provider: '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so' },
  },
  {
    name: 'IdentityAgent none and SSH_AUTH_SOCK are kept as words; ProxyCommand none is no proxy',
    input: minimal('identityagent none', 'proxycommand none'),
    expected: { ...BASE, identityAgent: 'none' },
  },
  {
    name: 'repeated identityfile lines keep their order; none is dropped',
    input: minimal('identityfile /b', 'identityfile ~/a', 'identityfile none', 'identityfile /c d'),
    expected: { ...BASE, identityFiles: ['/b', '~/a', '/c d'] },
  },
  {
    name: 'known-hosts lists split on spaces, also across repeated lines',
    input: minimal('userknownhostsfile /u1 /u2  /u3', 'globalknownhostsfile /g1', 'globalknownhostsfile /g2 /g3'),
    expected: { ...BASE, userKnownHostsFiles: ['/u1', '/u2', '/u3'], globalKnownHostsFiles: ['/g1', '/g2', '/g3'] },
  },
  {
    name: 'userknownhostsfile none gives no files',
    input: minimal('userknownhostsfile none'),
    expected: BASE,
  },
  {
    name: "'none' values become undefined",
    input: minimal('connecttimeout none', 'proxyjump none', 'hostkeyalias none', 'certificatefile none'),
    expected: BASE,
  },
  {
    name: 'connecttimeout 0 means no timeout, like OpenSSH',
    input: minimal('connecttimeout 0'),
    expected: BASE,
  },
  {
    name: 'stricthostkeychecking true -> yes',
    input: minimal('stricthostkeychecking true'),
    expected: { ...BASE, strictHostKeyChecking: 'yes' },
  },
  {
    name: 'stricthostkeychecking false -> no',
    input: minimal('stricthostkeychecking false'),
    expected: { ...BASE, strictHostKeyChecking: 'no' },
  },
  {
    name: 'stricthostkeychecking off stays off',
    input: minimal('stricthostkeychecking off'),
    expected: { ...BASE, strictHostKeyChecking: 'off' },
  },
  {
    name: 'stricthostkeychecking accept-new',
    input: minimal('stricthostkeychecking accept-new'),
    expected: { ...BASE, strictHostKeyChecking: 'accept-new' },
  },
  {
    name: 'CRLF line ends, blank lines and mixed-case keywords are accepted',
    input: 'user u\r\n\r\nHostName h.example\r\nport 2200\r\nBatchMode yes\r\nServerAliveInterval 15\r\n',
    expected: { ...BASE, port: 2200, serverAliveIntervalSeconds: 15 },
  },
  {
    name: 'first occurrence of a single-valued keyword wins',
    input: minimal('hostkeyalias first', 'hostkeyalias second'),
    expected: { ...BASE, hostKeyAlias: 'first' },
  },
  {
    name: 'certificatefile repeats',
    input: minimal('certificatefile ~/.ssh/a-cert.pub', 'certificatefile /etc/ssh/%u-cert.pub'),
    expected: { ...BASE, certificateFiles: ['~/.ssh/a-cert.pub', '/etc/ssh/%u-cert.pub'] },
  },
];

for (const row of parseRows) {
  test(`parseSshG: ${row.name}`, (t) => {
    t.deepEqual(parseSshG(row.input), row.expected);
  });
}

const errorRows: Array<{ name: string; input: string; message: RegExp }> = [
  { name: 'empty output', input: '', message: /no "hostname" line/ },
  { name: 'missing hostname', input: 'user u\nport 22\n', message: /no "hostname" line/ },
  { name: 'missing user', input: 'hostname h\nport 22\n', message: /no "user" line/ },
  { name: 'missing port', input: 'hostname h\nuser u\n', message: /no "port" line/ },
  { name: 'empty hostname value', input: 'hostname\nuser u\nport 22\n', message: /no "hostname" line/ },
  { name: 'port not a number', input: 'hostname h\nuser u\nport ssh\n', message: /"ssh" is not a port number/ },
  { name: 'port out of range', input: 'hostname h\nuser u\nport 70000\n', message: /outside 1-65535/ },
  { name: 'port zero', input: 'hostname h\nuser u\nport 0\n', message: /outside 1-65535/ },
  { name: 'bad stricthostkeychecking', input: minimal('stricthostkeychecking maybe'), message: /stricthostkeychecking maybe/ },
  { name: 'bad identitiesonly', input: minimal('identitiesonly perhaps'), message: /identitiesonly perhaps.*yes or no/ },
  { name: 'bad serveraliveinterval', input: minimal('serveraliveinterval -1'), message: /serveraliveinterval -1.*whole number/ },
  { name: 'bad connecttimeout', input: minimal('connecttimeout 5s'), message: /connecttimeout 5s/ },
];

for (const row of errorRows) {
  test(`parseSshG error: ${row.name}`, (t) => {
    const error = t.throws(() => parseSshG(row.input), { instanceOf: SshOptionsError });
    t.regex(error?.message ?? '', row.message);
  });
}

const CTX = {
  home: '/root',
  localUser: 'root',
  remoteUser: 'zfsrecv',
  host: 'backup.example.org',
  originalHost: 'offsite',
  port: 2222,
  localHostname: 'zippy.lan.example',
};

const tokenRows: Array<[string, string]> = [
  ['~/.ssh/id_ed25519', '/root/.ssh/id_ed25519'],
  ['~', '/root'],
  ['/etc/ssh/cyber-zfs-backup.id_ed25519', '/etc/ssh/cyber-zfs-backup.id_ed25519'],
  ['~/.ssh/id_%r@%h', '/root/.ssh/id_zfsrecv@backup.example.org'],
  ['%d/.ssh/%u-%n-%p', '/root/.ssh/root-offsite-2222'],
  ['/keys/%l/%L', '/keys/zippy.lan.example/zippy'],
  ['100%%-%h', '100%-backup.example.org'],
  ['%%h', '%h'],
  ['/k/%C/%i/%k/%x', '/k/%C/%i/%k/%x'],
  ['trailing%', 'trailing%'],
  ['~user/.ssh/id', '~user/.ssh/id'],
  ['/a/~/b', '/a/~/b'],
  ['%h%h', 'backup.example.orgbackup.example.org'],
];

for (const [input, expected] of tokenRows) {
  test(`expandSshTokens: ${JSON.stringify(input)}`, (t) => {
    t.is(expandSshTokens(input, CTX), expected);
  });
}

test('expandSshTokens: home with a trailing slash does not double it', (t) => {
  t.is(expandSshTokens('~/.ssh/id', { ...CTX, home: '/home/u/' }), '/home/u/.ssh/id');
});

test('expandSshTokens: a token value containing % is not expanded again', (t) => {
  t.is(expandSshTokens('/k/%r', { ...CTX, remoteUser: '%h' }), '/k/%h');
});

const jumpRows: Array<[string, ReturnType<typeof parseProxyJump>]> = [
  ['a@b:2', [{ user: 'a', host: 'b', port: 2 }]],
  ['bastion', [{ host: 'bastion' }]],
  ['bastion:2022', [{ host: 'bastion', port: 2022 }]],
  ['jump@bastion', [{ user: 'jump', host: 'bastion' }]],
  ['jump@bastion:2022,other@h2:23', [{ user: 'jump', host: 'bastion', port: 2022 }, { user: 'other', host: 'h2', port: 23 }]],
  ['a, b ,c', [{ host: 'a' }, { host: 'b' }, { host: 'c' }]],
  ['ssh://other@h2:23', [{ user: 'other', host: 'h2', port: 23 }]],
  ['ssh://h2', [{ host: 'h2' }]],
  ['ssh://u@h/', [{ user: 'u', host: 'h' }]],
  ['SSH://u@h', [{ user: 'u', host: 'h' }]],
  ['ssh://a%40b;fingerprint=SHA256:x@h:2', [{ user: 'a@b', host: 'h', port: 2 }]],
  ['[::1]:2222', [{ host: '::1', port: 2222 }]],
  ['a@[fe80::1]:22', [{ user: 'a', host: 'fe80::1', port: 22 }]],
  ['[::1]', [{ host: '::1' }]],
  ['ssh://other@[::1]:22', [{ user: 'other', host: '::1', port: 22 }]],
  ['::1', [{ host: '::1' }]],
  ['first@user@h', [{ user: 'first@user', host: 'h' }]],
  ['none', []],
  ['NONE', []],
  ['', []],
];

for (const [input, expected] of jumpRows) {
  test(`parseProxyJump: ${JSON.stringify(input)}`, (t) => {
    t.deepEqual(parseProxyJump(input), expected);
  });
}

const jumpErrors: Array<[string, RegExp]> = [
  ['a,,b', /empty hop/],
  ['h:0', /outside 1-65535/],
  ['h:70000', /outside 1-65535/],
  ['h:ssh', /"ssh" is not a port number/],
  ['h:', /"" is not a port number/],
  ['@h', /empty user/],
  ['u@', /empty host/],
  ['[::1', /closing "\]"/],
  ['[::1]x', /unexpected "x"/],
  ['ssh://h/path', /may not have a path/],
];

for (const [input, message] of jumpErrors) {
  test(`parseProxyJump error: ${JSON.stringify(input)}`, (t) => {
    const error = t.throws(() => parseProxyJump(input), { instanceOf: SshOptionsError });
    t.regex(error?.message ?? '', message);
  });
}

test('parseProxyJump reads what parseSshG returns', (t) => {
  const options = parseSshG(SSH_G_OFFSITE);
  t.deepEqual(parseProxyJump(options.proxyJump ?? 'none'), [
    { user: 'jump', host: 'bastion', port: 2022 },
    { user: 'other', host: 'h2', port: 23 },
  ]);
});
