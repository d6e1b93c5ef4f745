#!/usr/bin/env bash
# Runs the whole zfs-fuse test tier: build, make zfs usable, run every ava test, end with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "run-all.sh: the integration tests need root (zfs-fuse pools, sshd): sudo npm test" >&2
  exit 77
fi
npm run build >/dev/null || { echo "run-all.sh: the build failed" >&2; exit 1; }
started=$(node --import tsx test/bed/zfs-daemon.ts start) || { echo "run-all.sh: no usable zfs and zfs-fuse could not start" >&2; exit 1; }
echo "$started"
# Stop zfs-fuse only when this run started it (another run may be using a daemon it found running).
[ "$started" = "started zfs-fuse" ] && trap 'node --import tsx test/bed/zfs-daemon.ts stop' EXIT
tap=$(mktemp)
npx ava --tap "$@" | tee "$tap"
status=${PIPESTATUS[0]}
pass=$(awk '/^# pass /{print $3}' "$tap"); fail=$(awk '/^# fail /{print $3}' "$tap"); skip=$(awk '/^# skip /{print $3}' "$tap")
todo=$(awk '/^# todo /{print $3}' "$tap")
rm -f "$tap"
pass=${pass:-0}; fail=${fail:-0}; skip=$(( ${skip:-0} + ${todo:-0} ))
if [ "$status" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed, ${skip} skipped"
exit "$status"
