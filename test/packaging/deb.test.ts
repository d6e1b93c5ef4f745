// Packaging test (issue 5): builds the .deb, lints it, installs it in a clean bookworm chroot and runs its service under systemd.
//
// Needs root, the network (Debian's mirror) and zfs-fuse; installs missing tools with apt-get and fails, never skips,
// when something is still missing. The base chroot is cached in BASE_TARBALL; everything else lives in one
// mktemp dir under /var/tmp that is removed at the end, with the zfs-fuse pool made for the test.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import {
  accessSync,
  appendFileSync,
  constants,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROOT_RUN = join(REPO, 'test/packaging/chroot-run.sh');
const PKG = 'cyber-zfs-backup';
const BASE_TARBALL = '/var/cache/cyber-zfs-backup-test/bookworm-nodejs-systemd.tar';
const BASE_MAX_AGE_DAYS = 30;
const SECURITY_LIMIT = 2.2;

/** Commands the test runs, and the Debian package that provides each. */
const TOOLS: ReadonlyArray<readonly [string, string]> = [
  ['dpkg-buildpackage', 'dpkg-dev'],
  ['dpkg-parsechangelog', 'dpkg-dev'],
  ['dh', 'debhelper'],
  ['lintian', 'lintian'],
  ['mmdebstrap', 'mmdebstrap'],
  ['systemd-analyze', 'systemd'],
  ['systemd-nspawn', 'systemd-container'],
  ['unshare', 'util-linux'],
  ['zfs-fuse', 'zfs-fuse'],
  ['zfs', 'zfs-fuse'],
  ['zpool', 'zfs-fuse'],
  ['ssh-keygen', 'openssh-client'],
  ['bash', 'bash'],
  ['promtool', 'prometheus'],
];

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** State shared by the serial tests below; each test checks that what it needs was made. */
const state: {
  work?: string;
  version?: string;
  deb?: string;
  root?: string;
  pool?: string;
  startedZfsFuse?: number;
  baseCached?: boolean;
} = {};

async function run(file: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<Run> {
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: { LC_ALL: 'C.UTF-8', ...options.env },
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 240_000,
  });
  if (result.failed && result.exitCode === undefined) {
    return { exitCode: -1, stdout: String(result.stdout ?? ''), stderr: `${String(result.stderr ?? '')}\n${result.message}` };
  }
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Runs a command that must succeed; otherwise throws with its output. */
async function must(file: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  const result = await run(file, args, options);
  if (result.exitCode !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.exitCode}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`);
  }
  return result;
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Runs a command inside the chroot (private mount namespace: /proc, /dev, tmpfs /run). */
function inChroot(args: readonly string[], options: { zfsSocket?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  const root = need(state.root, 'the chroot was not set up (an earlier test failed)');
  return run(CHROOT_RUN, [root, ...(options.zfsSocket ? ['--zfs-socket'] : []), '--', ...args], { timeoutMs: options.timeoutMs });
}

async function mustInChroot(args: readonly string[], options: { zfsSocket?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  const result = await inChroot(args, options);
  if (result.exitCode !== 0) {
    throw new Error(`in chroot: ${args.join(' ')} exited ${result.exitCode}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`);
  }
  return result;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(what);
  return value;
}

function findCommand(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function missingTools(): string[] {
  return TOOLS.filter(([command]) => findCommand(command) === undefined).map(([command, pkg]) => `${command} (${pkg})`);
}

/** Every path under root (relative, no leading slash), without following symlinks or crossing into /proc, /dev, /run. */
function listFiles(root: string): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      out.add(path);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(path);
    }
  };
  walk('');
  return out;
}

/** Paths that change with any apt run, whatever the package: not evidence of a leftover. */
const VOLATILE = [
  /^(proc|dev|run|tmp|var\/tmp)\//,
  /^var\/(cache\/apt|lib\/apt|log|cache\/debconf|cache\/ldconfig)\//,
  /^var\/lib\/dpkg\/(?!info\/)/,
  /^etc\/ld\.so\.cache$/,
];

function comparable(paths: Set<string>): Set<string> {
  return new Set([...paths].filter((p) => !VOLATILE.some((re) => re.test(p))));
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

async function zfsFuseAnswers(): Promise<boolean> {
  return (await run('zpool', ['list', '-H', '-o', 'name'], { timeoutMs: 20_000 })).exitCode === 0;
}

/** Names of the snapshots of exactly this dataset (not its children). */
async function snapshotsOf(dataset: string): Promise<string[]> {
  const listing = await must('zfs', ['list', '-H', '-o', 'name', '-t', 'snapshot', '-r', dataset]);
  return listing.stdout
    .split('\n')
    .filter((line) => line.startsWith(`${dataset}@`))
    .map((line) => line.slice(dataset.length + 1))
    .sort();
}

/** Long options (--name) mentioned in a text. */
function longOptions(text: string): Set<string> {
  return new Set(text.match(/(?<![\w-])--[a-z][a-z-]*[a-z]/g) ?? []);
}

test.after.always('clean up the pool, the zfs-fuse daemon we started and the work dir', async (t) => {
  if (state.pool) {
    const destroyed = await run('zpool', ['destroy', '-f', state.pool], { timeoutMs: 60_000 });
    if (destroyed.exitCode !== 0) t.log(`could not destroy pool ${state.pool}: ${destroyed.stderr}`);
  }
  if (state.startedZfsFuse) {
    try {
      process.kill(state.startedZfsFuse, 'SIGTERM');
    } catch (error) {
      t.log(`could not stop zfs-fuse ${state.startedZfsFuse}: ${(error as Error).message}`);
    }
  }
  if (state.work) {
    const mounts = mountsUnder(state.work);
    if (mounts.length > 0) t.log(`not removing ${state.work}: still mounted: ${mounts.join(' ')}`);
    else rmSync(state.work, { recursive: true, force: true });
  }
});

test.serial('the tools are present (missing ones are installed with apt-get)', async (t) => {
  t.timeout(600_000);
  if (process.getuid?.() !== 0) {
    t.fail('the packaging test runs as root (chroot, mounts, zfs-fuse, apt-get)');
    return;
  }
  let missing = missingTools();
  if (missing.length > 0) {
    const packages = [...new Set(TOOLS.filter(([command]) => findCommand(command) === undefined).map(([, pkg]) => pkg))];
    t.log(`installing with apt-get: ${packages.join(' ')}`);
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const lockWait = ['-o', 'DPkg::Lock::Timeout=120'];
    const update = await run('apt-get', [...lockWait, 'update', '-q'], { env, timeoutMs: 300_000 });
    if (update.exitCode !== 0) t.log(`apt-get update exited ${update.exitCode}; trying the install anyway:\n${tail(update.stderr, 10)}`);
    await must('apt-get', [...lockWait, 'install', '-y', '-q', '--no-install-recommends', ...packages], { env, timeoutMs: 300_000 });
    missing = missingTools();
  }
  t.deepEqual(missing, [], `still missing: ${missing.join(', ')}`);
  t.true(existsSync('/dev/fuse'), 'zfs-fuse needs /dev/fuse');

  state.work = mkdtempSync('/var/tmp/czb-deb-test.');
  if (!(await zfsFuseAnswers())) {
    const pidFile = join(state.work, 'zfs-fuse.pid');
    await must('zfs-fuse', ['-p', pidFile]);
    for (let i = 0; i < 50 && !(await zfsFuseAnswers()); i += 1) await new Promise((r) => setTimeout(r, 200));
    state.startedZfsFuse = Number(readFileSync(pidFile, 'utf8').trim());
    t.log(`started zfs-fuse, PID ${state.startedZfsFuse}`);
  }
  t.true(await zfsFuseAnswers(), 'zfs-fuse answers zpool list');
});

test.serial('debian/changelog carries the version of package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const changelog = await must('dpkg-parsechangelog', ['-S', 'Version'], { cwd: REPO });
  t.is(changelog.stdout.trim(), pkg.version);
  state.version = pkg.version;
});

test.serial('the .deb builds (bundle, then dpkg-buildpackage -us -uc -b)', async (t) => {
  t.timeout(300_000);
  const work = need(state.work, 'no work dir');
  const version = need(state.version, 'no version');
  const stage = join(work, 'build', PKG);
  const buildProducts = /^debian\/(cyber-zfs-backup|\.debhelper|files|debhelper-build-stamp|.*\.substvars|.*\.debhelper\.log)(\/|$)/;
  for (const dir of ['debian', 'systemd', 'etc', 'doc', 'completion']) {
    cpSync(join(REPO, dir), join(stage, dir), {
      recursive: true,
      filter: (source) => !buildProducts.test(source.slice(REPO.length + 1)),
    });
  }
  // Bundle into the staging dir, not dist/, so that tests running alongside keep their bundle.
  await must(join(REPO, 'node_modules/.bin/tsup'), ['--out-dir', join(stage, 'dist')], { cwd: REPO });
  const build = await must('dpkg-buildpackage', ['-us', '-uc', '-b'], { cwd: stage, timeoutMs: 300_000 });
  t.log(tail(build.stdout, 3));
  const deb = join(work, 'build', `${PKG}_${version}_all.deb`);
  t.true(existsSync(deb), `${deb} exists`);
  state.deb = deb;
});

test.serial('lintian -EvIL +pedantic reports no errors and no warnings', async (t) => {
  const deb = need(state.deb, 'the .deb was not built');
  const lint = await run('lintian', ['-EvIL', '+pedantic', deb]);
  const tags = lint.stdout.split('\n').filter((line) => /^[EWIPXNO]: /.test(line));
  t.log(tags.length > 0 ? tags.join('\n') : 'lintian: no tags at all');
  t.deepEqual(
    tags.filter((line) => /^[EW]: /.test(line)),
    [],
  );
  t.true(lint.exitCode === 0, `lintian exited ${lint.exitCode}: ${lint.stderr}`);
});

test.serial('the .deb holds the bundle, the symlink, the units, the conffile, the man page and the completion', async (t) => {
  const deb = need(state.deb, 'the .deb was not built');
  const listing = (await must('dpkg-deb', ['-c', deb])).stdout.split('\n');
  const entry = (path: string): string | undefined => listing.find((line) => line.includes(` ./${path}`));
  t.regex(entry(`usr/share/${PKG}/${PKG}.mjs`) ?? '', /^-rwxr-xr-x root\/root/);
  t.regex(entry(`usr/bin/${PKG}`) ?? '', new RegExp(`^l.* -> \\.\\./share/${PKG}/${PKG}\\.mjs$`));
  // The entry loads the rest of the program from lib/ on demand: every module built must be shipped
  // (a missing one would fail only the run that imports it), as a plain 0644 file without a #! line.
  const built = readdirSync(join(need(state.work, 'no work dir'), 'build', PKG, 'dist', 'lib'));
  t.true(built.length > 3, `tsup built the lib/ modules: ${built.join(' ')}`);
  for (const name of built) t.regex(entry(`usr/share/${PKG}/lib/${name}`) ?? '', /^-rw-r--r-- root\/root/, `lib/${name} is shipped`);
  t.is(listing.filter((line) => line.includes(`./usr/share/${PKG}/lib/`) && line.endsWith('.mjs')).length, built.length, 'nothing else is in lib/');
  for (const path of [
    `lib/systemd/system/${PKG}.service`,
    `lib/systemd/system/${PKG}.timer`,
    `lib/systemd/system/${PKG}-failure@.service`,
    `etc/ssh/${PKG}.ssh_config`,
    `usr/share/man/man8/${PKG}.8.gz`,
    `usr/share/bash-completion/completions/${PKG}`,
    `usr/share/doc/${PKG}/copyright`,
  ]) {
    t.regex(entry(path) ?? '', /^-rw-r--r-- root\/root/, path);
  }
  t.false(listing.some((line) => /\.node$/.test(line)), 'no native add-on is shipped');
  t.false(listing.some((line) => line.includes('/etc/ssh/ssh_config.d')), 'nothing changes ssh for other users');

  const control = join(need(state.work, 'no work dir'), 'control');
  await must('dpkg-deb', ['-e', deb, control]);
  t.is(readFileSync(join(control, 'conffiles'), 'utf8').trim(), `/etc/ssh/${PKG}.ssh_config`);
  const depends = (await must('dpkg-deb', ['-f', deb, 'Depends'])).stdout.trim();
  t.is(depends, 'nodejs (>= 18), openssh-client, zfsutils-linux | zfs-fuse');
  t.is((await must('dpkg-deb', ['-f', deb, 'Architecture'])).stdout.trim(), 'all');
});

test.serial('the man page and the bash completion know exactly the options of --help', async (t) => {
  const bundle = join(need(state.work, 'no work dir'), 'build', PKG, 'dist', `${PKG}.mjs`);
  const help = await must(process.execPath, [bundle, '--help'], { env: { COLUMNS: '200' } });
  const fromHelp = longOptions(help.stdout);
  const serveHelp = await must(process.execPath, [bundle, 'serve', '--help'], { env: { COLUMNS: '200' } });
  const fromServeHelp = longOptions(serveHelp.stdout);
  t.true(fromServeHelp.has('--append-only'), `serve --help lists its options:\n${serveHelp.stdout}`);
  t.true(fromHelp.has('--retention-policy'), `--help lists the options:\n${help.stdout}`);

  // roff: \- is a hyphen, \fB...\fR switch fonts.
  const man = readFileSync(join(REPO, 'doc', `${PKG}.8`), 'utf8')
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '');
  t.deepEqual([...longOptions(man)].sort(), [...new Set([...fromHelp, ...fromServeHelp])].sort(), 'long options in doc/cyber-zfs-backup.8 vs --help and serve --help');
  for (const short of ['-n', '-v']) {
    t.regex(help.stdout, new RegExp(`(^|\\s)${short},`), `--help has ${short}`);
    t.regex(man, new RegExp(`\\.BR ${short} `), `the man page has ${short}`);
  }

  const completionFile = join(REPO, 'completion', `${PKG}.bash`);
  const completion = readFileSync(completionFile, 'utf8');
  const listed = /options='([^']*)'/.exec(completion)?.[1] ?? '';
  t.deepEqual([...longOptions(listed)].sort(), [...fromHelp].sort(), 'long options in the completion vs --help');
  const serveListed = /serve_options='([^']*)'/.exec(completion)?.[1] ?? '';
  t.deepEqual([...longOptions(serveListed)].sort(), [...fromServeHelp].sort(), 'serve options in the completion vs serve --help');

  const complete = async (...words: string[]): Promise<string[]> => {
    const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cyber_zfs_backup; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = await must('bash', ['--norc', '-c', script, 'bash', completionFile, PKG, ...words]);
    return result.stdout.split('\n').filter(Boolean);
  };
  t.deepEqual(await complete('--retention-p'), ['--retention-policy']);
  t.deepEqual(await complete('--action', 'ex'), ['expire']);
  t.deepEqual(await complete('--retention-policy', '31', ''), []);
  t.deepEqual(await complete('se'), ['serve']);
  t.deepEqual(await complete('serve', '--app'), ['--append-only']);
});

test.serial('apt installs the .deb in a clean bookworm chroot (zfs-fuse as the zfs alternative)', async (t) => {
  t.timeout(600_000);
  const work = need(state.work, 'no work dir');
  const deb = need(state.deb, 'the .deb was not built');
  const started = Date.now();

  const ageDays = existsSync(BASE_TARBALL) ? (Date.now() - statSync(BASE_TARBALL).mtimeMs) / 86_400_000 : Infinity;
  state.baseCached = ageDays < BASE_MAX_AGE_DAYS;
  if (!state.baseCached) {
    mkdirSync(dirname(BASE_TARBALL), { recursive: true });
    const fresh = BASE_TARBALL.replace(/\.tar$/, `.new-${process.pid}.tar`);
    await must('mmdebstrap', ['--variant=apt', '--include=nodejs,systemd', 'bookworm', fresh], { timeoutMs: 540_000 });
    renameSync(fresh, BASE_TARBALL);
  }
  t.log(`base chroot ${state.baseCached ? 'cached' : 'made'}: ${BASE_TARBALL} (${Math.round((Date.now() - started) / 1000)} s)`);

  const root = join(work, 'root');
  mkdirSync(root);
  await must('tar', ['-C', root, '-xf', BASE_TARBALL]);
  state.root = root;
  // Like a container: maintainer scripts must not start daemons (zfs-fuse, sshd) in the chroot.
  writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  cpSync(deb, join(root, 'tmp', `${PKG}.deb`));
  await mustInChroot(['apt-get', 'update', '-q']);
  const node = await mustInChroot(['node', '--version']);
  t.regex(node.stdout, /^v18\./, "Debian bookworm's own nodejs");

  // What apt would pull in for the .deb; install those first, so that a purge can be compared with this state.
  const simulate = await mustInChroot(['apt-get', 'install', '-s', '-q', `/tmp/${PKG}.deb`]);
  const pulled = [...simulate.stdout.matchAll(/^Inst (\S+)/gm)].map((m) => m[1] ?? '');
  t.true(pulled.includes(PKG), simulate.stdout);
  t.true(pulled.includes('zfs-fuse'), 'apt picks zfs-fuse for zfsutils-linux | zfs-fuse');
  t.true(pulled.includes('openssh-client'));
  const deps = pulled.filter((p) => p !== PKG);
  await mustInChroot(['apt-get', 'install', '-y', '-q', ...deps]);
  writeFileSync(join(work, 'before-install.list'), [...listFiles(root)].sort().join('\n'));
  const packagesBefore = (await mustInChroot(['dpkg-query', '-W', '-f', '${Package}\n'])).stdout.split('\n');

  const install = await inChroot(['apt-get', 'install', '-y', '-q', `/tmp/${PKG}.deb`]);
  t.is(install.exitCode, 0, `${install.stdout}\n${install.stderr}`);
  const packagesAfter = (await mustInChroot(['dpkg-query', '-W', '-f', '${Package}\n'])).stdout.split('\n');
  t.deepEqual(difference(new Set(packagesAfter), new Set(packagesBefore)), [PKG]);
  const status = await mustInChroot(['dpkg-query', '-W', '-f', '${Status} ${Version}', PKG]);
  t.is(status.stdout, `install ok installed ${need(state.version, 'no version')}`);
  t.log(`chroot ready and package installed in ${Math.round((Date.now() - started) / 1000)} s`);
});

test.serial('the installed cyber-zfs-backup --help and --version work on Debian nodejs 18', async (t) => {
  const help = await mustInChroot([PKG, '--help']);
  t.regex(help.stdout, /--retention-policy/);
  t.regex(help.stdout, /--ssh-config/);
  const version = await mustInChroot([PKG, '--version']);
  t.is(version.stdout.trim(), need(state.version, 'no version'));
  const usage = await inChroot([PKG, '--no-such-flag']);
  t.is(usage.exitCode, 64, 'a usage error exits 64');
});

test.serial('postinst made the push key: 0600, ed25519, named after the host', (t) => {
  const root = need(state.root, 'no chroot');
  const key = join(root, `etc/ssh/${PKG}.id_ed25519`);
  const stat = statSync(key);
  t.is(stat.mode & 0o777, 0o600);
  t.is(stat.uid, 0);
  t.regex(readFileSync(key, 'utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  const pub = readFileSync(`${key}.pub`, 'utf8');
  t.regex(pub, /^ssh-ed25519 \S+ cyber-zfs-backup@\S+\n$/);
  t.is(statSync(`${key}.pub`).mode & 0o777, 0o644);
});

test.serial('the timer is enabled and the service is not', async (t) => {
  const root = need(state.root, 'no chroot');
  const link = join(root, `etc/systemd/system/timers.target.wants/${PKG}.timer`);
  t.true(lstatSync(link).isSymbolicLink());
  t.is(readlinkSync(link), `/lib/systemd/system/${PKG}.timer`);
  const serviceLinks = [...listFiles(join(root, 'etc/systemd/system'))].filter((p) => p.endsWith(`${PKG}.service`));
  t.deepEqual(serviceLinks, [], 'no symlink enables the service');
  const enabled = await inChroot(['systemctl', 'is-enabled', `${PKG}.timer`, `${PKG}.service`]);
  t.deepEqual(enabled.stdout.split('\n'), ['enabled', 'static']);
});

test.serial('systemd-analyze verify passes on the installed units', async (t) => {
  const verify = await inChroot(['systemd-analyze', 'verify', '--man=no', `/lib/systemd/system/${PKG}.service`, `/lib/systemd/system/${PKG}.timer`, `${PKG}-failure@${PKG}.service.service`]);
  t.is(verify.exitCode, 0, verify.stderr);
  t.is(verify.stdout + verify.stderr, '', 'no complaints');
});

test.serial(`systemd-analyze security rates the service ${SECURITY_LIMIT} or better`, async (t) => {
  const security = await inChroot(['systemd-analyze', 'security', '--no-pager', '--offline=true', `/lib/systemd/system/${PKG}.service`]);
  const figure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(security.stdout);
  t.truthy(figure, `${security.stdout}\n${security.stderr}`);
  const exposure = Number(figure?.[1]);
  const open = security.stdout
    .split('\n')
    .filter((line) => line.startsWith('✗'))
    .map((line) => line.replace(/\s{2,}/g, ' | ').trim());
  t.log(`exposure ${exposure} (offline); open items:\n${open.join('\n')}`);
  t.true(exposure <= SECURITY_LIMIT, `exposure ${exposure} > ${SECURITY_LIMIT}`);
});

test.serial('the installed bundle runs a dry-run expire against a zfs-fuse pool (host node, and chroot node 18)', async (t) => {
  const root = need(state.root, 'no chroot');
  const work = need(state.work, 'no work dir');
  const pool = `czbdeb${process.pid}${Math.floor(Math.random() * 10_000)}`;
  const image = join(work, `${pool}.img`);
  writeFileSync(image, '');
  await must('truncate', ['-s', '128M', image]);
  await must('zpool', ['create', '-o', 'cachefile=none', '-m', 'none', pool, image]);
  state.pool = pool;
  const dataset = `${pool}/src`;
  await must('zfs', ['create', dataset]);
  await must('zfs', ['create', `${dataset}/child`]);
  // Nine snapshots: two days have two each, so the policy drops the older of each pair (2 of 9, under 25%).
  const names = [
    '2026-10-01T00:00:00Z',
    '2026-10-01T01:00:00Z',
    '2026-10-02T00:00:00Z',
    '2026-10-03T00:00:00Z',
    '2026-10-03T05:00:00Z',
    '2026-10-04T00:00:00Z',
    '2026-10-05T00:00:00Z',
    '2026-10-06T00:00:00Z',
    '2026-10-07T00:00:00Z',
  ];
  for (const name of names) await must('zfs', ['snapshot', '-r', `${dataset}@${name}`]);
  const doomed = ['2026-10-01T00:00:00Z', '2026-10-03T00:00:00Z'];
  const listSnapshots = async (): Promise<string[]> => [...(await snapshotsOf(dataset)), ...(await snapshotsOf(`${dataset}/child`))];
  const before = await listSnapshots();
  t.is(before.length, 2 * names.length);

  const bundle = join(root, `usr/share/${PKG}/${PKG}.mjs`);
  t.is(resolve(join(root, 'usr/bin'), readlinkSync(join(root, `usr/bin/${PKG}`))), bundle);
  const onHost = await run(process.execPath, [bundle, '--action', 'expire', '--dry-run', '--dataset', dataset]);
  t.is(onHost.exitCode, 0, `${onHost.stdout}\n${onHost.stderr}`);
  for (const name of doomed) t.true((onHost.stdout + onHost.stderr).includes(`@${name}`), `the dry run names @${name}:\n${onHost.stdout}${onHost.stderr}`);
  t.deepEqual(await listSnapshots(), before, 'nothing destroyed under --dry-run');

  // The installed command itself, on Debian's node 18, with the chroot's zfs-fuse client talking to the host daemon.
  const inside = await inChroot([PKG, '--action', 'expire', '--dry-run', '--dataset', dataset], { zfsSocket: true });
  t.is(inside.exitCode, 0, `${inside.stdout}\n${inside.stderr}`);
  for (const name of doomed) t.true((inside.stdout + inside.stderr).includes(`@${name}`), `the dry run names @${name}`);
  t.deepEqual(await listSnapshots(), before, 'nothing destroyed under --dry-run');
});

test.serial('a local edit of the conffile survives apt-get install --reinstall, and the key is kept', async (t) => {
  const root = need(state.root, 'no chroot');
  const config = join(root, `etc/ssh/${PKG}.ssh_config`);
  const key = readFileSync(join(root, `etc/ssh/${PKG}.id_ed25519`), 'utf8');
  const edit = '# local edit made by deb.test.ts\n';
  appendFileSync(config, edit);
  const reinstall = await inChroot(['apt-get', 'install', '--reinstall', '-y', '-q', `/tmp/${PKG}.deb`]);
  t.is(reinstall.exitCode, 0, `${reinstall.stdout}\n${reinstall.stderr}`);
  t.true(readFileSync(config, 'utf8').endsWith(edit), 'the edit is still there');
  t.false(existsSync(`${config}.dpkg-dist`) || existsSync(`${config}.dpkg-new`), 'no .dpkg-dist/.dpkg-new beside it');
  t.is(readFileSync(join(root, `etc/ssh/${PKG}.id_ed25519`), 'utf8'), key, 'the key was not replaced');
});

test.serial('apt purge leaves nothing of the package behind', async (t) => {
  const root = need(state.root, 'no chroot');
  const work = need(state.work, 'no work dir');
  // What an administrator and systemd add while the package is in use.
  writeFileSync(join(root, `etc/ssh/${PKG}.known_hosts`), 'offsite.example.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample\n');
  const timers = 'var/lib/systemd/timers'; // systemd's directory for Persistent= stamps, not the package's
  mkdirSync(join(root, timers), { recursive: true });
  writeFileSync(join(root, `${timers}/stamp-${PKG}.timer`), '');
  // A run's record (StateDirectory=) and its metrics in node_exporter's directory (not the package's).
  mkdirSync(join(root, `var/lib/${PKG}`), { recursive: true });
  writeFileSync(join(root, `var/lib/${PKG}/tank+host.json`), '{}\n');
  const textfiles = 'var/lib/prometheus/node-exporter';
  mkdirSync(join(root, textfiles), { recursive: true });
  writeFileSync(join(root, `${textfiles}/${PKG}.prom`), '');
  const purge = await inChroot(['apt-get', 'purge', '-y', '-q', PKG]);
  t.is(purge.exitCode, 0, `${purge.stdout}\n${purge.stderr}`);
  const status = await inChroot(['dpkg-query', '-W', '-f', '${Status}', PKG]);
  t.not(status.stdout, 'deinstall ok config-files', 'no config files left');
  const before = comparable(new Set([...readFileSync(join(work, 'before-install.list'), 'utf8').split('\n'), timers, 'var/lib/prometheus', textfiles]));
  const after = comparable(listFiles(root));
  t.deepEqual(difference(after, before), [], 'left behind by install + purge');
  t.deepEqual(difference(before, after), [], 'removed by install + purge although not ours');
});

test.serial('the hardened service snapshots, expires and pushes over SSH under systemd (nspawn boot of the chroot)', async (t) => {
  t.timeout(300_000);
  const root = need(state.root, 'no chroot');
  const pool = need(state.pool, 'no pool (an earlier test failed)');
  const source = `${pool}/src`;
  const receive = `${pool}/recv`;
  await mustInChroot(['apt-get', 'install', '-y', '-q', `/tmp/${PKG}.deb`, 'openssh-server']);
  // node_exporter makes /var/lib/prometheus/node-exporter and user prometheus: the runs then write their metrics there.
  await mustInChroot(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'prometheus-node-exporter']);

  // The administrator's one-time setup, as the ssh_config comments describe, with the offsite host on loopback.
  const config = join(root, `etc/ssh/${PKG}.ssh_config`);
  writeFileSync(config, readFileSync(config, 'utf8').replace(/^(\s*HostName\s+)\S+$/m, '$1127.0.0.1'));
  const hostKey = readFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  writeFileSync(join(root, `etc/ssh/${PKG}.known_hosts`), `127.0.0.1 ${hostKey[0]} ${hostKey[1]}\n`);
  mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, 'root/.ssh/authorized_keys'), readFileSync(join(root, `etc/ssh/${PKG}.id_ed25519.pub`)), { mode: 0o600 });
  writeFileSync(join(root, 'etc/ssh/sshd_config.d/czb-test.conf'), 'ListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\n');
  // The host's zfs-fuse daemon serves the container through its socket; the container's own must not start.
  rmSync(join(root, 'etc/systemd/system/zfs-fuse.service'), { force: true });
  symlinkSync('/dev/null', join(root, 'etc/systemd/system/zfs-fuse.service'));
  rmSync(join(root, 'usr/sbin/policy-rc.d'));

  const dropIn = join(root, `etc/systemd/system/${PKG}.service.d`);
  mkdirSync(dropIn, { recursive: true });
  writeFileSync(
    join(dropIn, 'test.conf'),
    [
      '[Service]',
      'ExecStart=',
      `ExecStart=/usr/bin/${PKG} --ssh-config /etc/ssh/${PKG}.ssh_config --debug --dataset ${source} --zfs-receive-dataset ${receive} --force-non-incremental`,
      '',
    ].join('\n'),
  );
  const prom = `/var/lib/prometheus/node-exporter/${PKG}.prom`;
  const failureUnit = `${PKG}-failure@${PKG}.service.service`;
  // Runs at boot: the service twice (full, then incremental); what they recorded, as user prometheus
  // and through node_exporter; then a run that fails (a push whose receive parent is missing: 66) and
  // the failure unit it starts; then it powers the container off.
  writeFileSync(
    join(root, 'root/probe.sh'),
    [
      '#!/bin/sh',
      '# Test probe run inside the booted container by czb-probe.service.',
      'for run in 1 2; do',
      `  systemctl start ${PKG}.service`,
      `  systemctl show -p Result -p ExecMainStatus ${PKG}.service > /root/probe.run$run`,
      '  sleep 1.2',
      'done',
      `cp /var/lib/${PKG}/*.json /root/probe.state2`,
      `cp ${prom} /root/probe.prom2`,
      `runuser -u prometheus -- cat ${prom} > /root/probe.prom-as-prometheus`,
      'for i in $(seq 1 40); do',
      `  node -e 'fetch("http://127.0.0.1:9100/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))' > /root/probe.exporter 2>/dev/null && grep -q '^${'cyber_zfs_backup_'}' /root/probe.exporter && break`,
      '  sleep 0.5',
      'done',
      `printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/${PKG} --ssh-config /etc/ssh/${PKG}.ssh_config --action push --dataset ${source} --zfs-receive-dataset ${pool}/missing/recv\\n' > /etc/systemd/system/${PKG}.service.d/zz-fail.conf`,
      'systemctl daemon-reload',
      `systemctl start ${PKG}.service`,
      `systemctl show -p Result -p ExecMainStatus ${PKG}.service > /root/probe.run3`,
      'for i in $(seq 1 40); do',
      `  journalctl -t ${PKG}-failure -p err -o cat --no-pager > /root/probe.failure`,
      '  [ -s /root/probe.failure ] && break',
      '  sleep 0.5',
      'done',
      `systemctl show -p Result ${failureUnit} > /root/probe.failure-unit`,
      `journalctl -u ${PKG}.service -o cat -p info --no-pager > /root/probe.journal`,
      `journalctl -u ${PKG}.service -o cat --no-pager > /root/probe.journal-debug`,
      `systemd-analyze security --no-pager ${PKG}.service > /root/probe.security 2>&1`,
      'systemctl poweroff',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  writeFileSync(
    join(root, 'etc/systemd/system/czb-probe.service'),
    ['[Unit]', 'Description=deb.test.ts probe', 'After=multi-user.target ssh.service', '[Service]', 'Type=oneshot', 'ExecStart=/root/probe.sh', '[Install]', 'WantedBy=multi-user.target', ''].join('\n'),
  );
  symlinkSync('/etc/systemd/system/czb-probe.service', join(root, 'etc/systemd/system/multi-user.target.wants/czb-probe.service'));

  const boot = await run('systemd-nspawn', ['-q', '-D', root, '-b', '--register=no', '--keep-unit', '--private-network', '--bind=/run/zfs'], {
    timeoutMs: 240_000,
  });
  const journal = existsSync(join(root, 'root/probe.journal')) ? readFileSync(join(root, 'root/probe.journal'), 'utf8') : '(no journal)';
  t.log(`service journal (without its debug lines):\n${journal}`);
  // The stream's shared connection works inside the sandbox (it once failed there silently, and
  // every stream connected by itself). The runs are --debug: the journal records the priority.
  const debug = existsSync(join(root, 'root/probe.journal-debug')) ? readFileSync(join(root, 'root/probe.journal-debug'), 'utf8') : '';
  t.regex(debug, /^the stream's ssh opens its session on the shared connection$/m);
  t.notRegex(debug, /the shared connection has not logged in/);
  t.is(boot.exitCode, 0, tail(`${boot.stdout}\n${boot.stderr}`));
  for (const n of [1, 2]) {
    const file = join(root, `root/probe.run${n}`);
    t.is(existsSync(file) ? readFileSync(file, 'utf8') : '', 'Result=success\nExecMainStatus=0\n', `run ${n} of the service`);
  }
  const security = existsSync(join(root, 'root/probe.security')) ? readFileSync(join(root, 'root/probe.security'), 'utf8') : '';
  const figure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(security);
  t.log(`exposure of the loaded unit under systemd: ${figure?.[1] ?? security}`);
  t.true(Number(figure?.[1]) <= SECURITY_LIMIT);

  const local = await snapshotsOf(source);
  t.log(`after two runs: ${local.join(' ')}`);
  t.false(local.includes('2026-10-01T00:00:00Z') || local.includes('2026-10-03T00:00:00Z'), 'expire destroyed the two surplus snapshots');
  t.true(local.some((name) => !name.startsWith('2026-10-')), 'snapshot made a new one');
  t.deepEqual(await snapshotsOf(receive), local, 'the receiver mirrors the sender');
  t.deepEqual(await snapshotsOf(`${receive}/child`), await snapshotsOf(`${source}/child`), 'the child dataset came along');

  // The runs recorded their outcome in the sandbox: the state file (StateDirectory=) and the metrics.
  const probe = (name: string) => (existsSync(join(root, `root/${name}`)) ? readFileSync(join(root, `root/${name}`), 'utf8') : `(no ${name})`);
  const ok = JSON.parse(probe('probe.state2')) as { lastRun: { exitCode: number }; lastSuccessAt?: string; local: { snapshots: number }; destinations: Array<{ lastPush: { kind: string }; offsite: { snapshots: number } }> };
  t.is(ok.lastRun.exitCode, 0);
  t.deepEqual([ok.local.snapshots, ok.destinations[0]?.lastPush.kind, ok.destinations[0]?.offsite.snapshots], [local.length, 'incremental', local.length]);
  const stateFile = join(root, `var/lib/${PKG}/${source.replace(/\//g, '+')}.json`);
  const failed = JSON.parse(readFileSync(stateFile, 'utf8')) as { lastRun: { exitCode: number; error: string }; lastSuccessAt?: string };
  t.deepEqual([failed.lastRun.exitCode, failed.lastSuccessAt], [66, ok.lastSuccessAt], 'the failed run is recorded; the last success stays');
  t.regex(failed.lastRun.error, /parent \S+\/missing does not exist/);
  t.is(statSync(stateFile).mode & 0o777, 0o644);
  const metricsFile = join(root, prom.slice(1));
  t.is(statSync(metricsFile).mode & 0o777, 0o644, 'readable by user prometheus despite UMask=0077');
  t.is(probe('probe.prom-as-prometheus'), probe('probe.prom2'), 'user prometheus read the metrics');
  for (const [when, text] of [['after the good runs', probe('probe.prom2')], ['after the failed run', readFileSync(metricsFile, 'utf8')]] as const) {
    const check = await run('promtool', ['check', 'metrics'], { timeoutMs: 30_000, input: text });
    t.is(check.exitCode, 0, `promtool ${when}: ${check.stdout}${check.stderr}`);
  }
  t.regex(probe('probe.prom2'), new RegExp(`^cyber_zfs_backup_last_run_exit_code\\{dataset="${source}"\\} 0$`, 'm'));
  t.regex(readFileSync(metricsFile, 'utf8'), new RegExp(`^cyber_zfs_backup_last_run_exit_code\\{dataset="${source}"\\} 66$`, 'm'));
  t.regex(probe('probe.exporter'), new RegExp(`^cyber_zfs_backup_last_success_timestamp_seconds\\{dataset="${source}"\\} \\S+$`, 'm'), "node_exporter's textfile collector serves the metrics");

  // The failing run started the OnFailure= unit, which said so at priority err.
  t.is(probe('probe.run3'), 'Result=exit-code\nExecMainStatus=66\n');
  t.regex(probe('probe.failure'), new RegExp(`^${PKG}\\.service failed \\(exit-code, exit status 66\\): journalctl -u ${PKG}\\.service says why`, 'm'));
  t.is(probe('probe.failure-unit'), 'Result=success\n');
});
