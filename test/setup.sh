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
  # zfs-fuse's and sshd's postinst may try to start services; without systemd that is harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm install --ignore-scripts --no-audit --no-fund
fi
