#!/usr/bin/env bash
# Installs what the tests and the demo need on a bare Debian bookworm (as root): apt packages, then npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: run as root (it installs apt packages and zfs-fuse needs root): sudo bash test/setup.sh" >&2
  exit 77
fi
# The packaging test (test/packaging) builds, lints and installs the .deb in a bookworm chroot.
# promtool (package prometheus) checks the metrics file the runs write (test/cli/state-metrics.test.ts).
packages=(zfs-fuse openssh-server openssh-client util-linux ca-certificates debhelper dpkg-dev lintian mmdebstrap systemd-container sudo prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -q
  # The tests start their own zfs-fuse and sshd (on 127.0.0.1) and need no service of these
  # packages: a policy-rc.d keeps their postinst from starting any (on a machine with systemd,
  # prometheus would otherwise serve on every interface at once); one already there is left alone.
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# test/setup.sh of cyber-zfs-backup: no service starts while it installs packages.\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ -n "$policy" ] && rm -f "$policy" && trap - EXIT
  # prometheus is here for promtool only: where systemd runs, it is not started at the next boot either.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm install --ignore-scripts --no-audit --no-fund
fi
