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
# A bound on the whole tier (CZB_TEST_BUDGET seconds, default 45 min; it takes 16-20 min on 2 cores):
# a test process that cannot end makes this run fail with what was still running, never hang.
budget=${CZB_TEST_BUDGET:-2700}
tap=$(mktemp)
timeout -k 30 "$budget" npx ava --tap "$@" | tee "$tap"
status=${PIPESTATUS[0]}
pass=$(awk '/^# pass /{print $3}' "$tap"); fail=$(awk '/^# fail /{print $3}' "$tap"); skip=$(awk '/^# skip /{print $3}' "$tap")
todo=$(awk '/^# todo /{print $3}' "$tap")
why=
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  why="the tests did not end within CZB_TEST_BUDGET=${budget} s and were stopped"
elif [ -z "$pass" ]; then
  # ava 7's TAP reporter throws on its own inactivity timeout, so it ends without naming what was pending.
  why="ava ended (exit $status) without its totals"
fi
if [ -n "$why" ]; then
  echo "run-all.sh: $why; what of the tests is still there:"
  ps -eo pid,ppid,stat,wchan:24,etime,args --forest | grep -E 'zfs|zpool|ssh|node|ava' | grep -v grep | sed 's/^/  /' | head -n 60 | tee "$tap.ps"
  # ava printed no totals: count the results it did print.
  pass=$(grep -c '^ok ' "$tap"); fail=$(( $(grep -c '^not ok ' "$tap") + 1 )); skip=0; todo=0
fi
# The whole TAP stays on this machine for a look after the run (CI shows only part of the output).
results=${CZB_TEST_RESULTS:-/var/tmp/czb-fuse-tier.results}
if mkdir -p "$results" 2>/dev/null; then
  cp "$tap" "$results/tap" && echo "run-all.sh: the whole TAP output: $results/tap"
  if [ -f "$tap.ps" ]; then cp "$tap.ps" "$results/ps"; else rm -f "$results/ps"; fi
fi
rm -f "$tap" "$tap.ps"
pass=${pass:-0}; fail=${fail:-0}; skip=$(( ${skip:-0} + ${todo:-0} ))
if [ "$status" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed, ${skip} skipped"
exit "$status"
