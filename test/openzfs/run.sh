#!/usr/bin/env bash
# The OpenZFS tier (npm run test:openzfs): build the CLI, build/cache the guest image, boot it (one retry), run the integration tests inside it, always stop it.
#
# node runs inside the guest with the project shared in over 9p, so zfs, the pools and sshd are the
# guest's own: the CLI's local zfs and the remote `zfs receive` (through a real sshd on the guest's
# 127.0.0.1) both hit the real OpenZFS 2.1 kernel module. ava runs on the host's node (shared in;
# ava 7 needs node >= 20); the CLI under test runs on Debian's node 18 where the test bed allows it.
# Settings: OZV_TEST_FILES (default below), OZV_MATCH (ava --match patterns joined by "|"),
# OZV_TEST_TIMEOUT (seconds for the whole guest run, default 3600), and those of lib.sh.
set -uo pipefail
D="$(cd "$(dirname "$0")" && pwd)"
. "$D/lib.sh"
cd "$D/../.."
: "${OZV_TEST_FILES:=test/cli/snapshot-expire.test.ts test/cli/push.test.ts test/openzfs/openzfs-paths.test.ts test/openzfs/serve-openzfs.test.ts test/openzfs/status-openzfs.test.ts test/cli/restore.test.ts test/openzfs/restore-encrypted.test.ts}"
: "${OZV_TEST_TIMEOUT:=3600}"
if [ "$(id -u)" != 0 ]; then
  echo "test/openzfs/run.sh: needs root (image build, qemu, 9p share): sudo npm run test:openzfs" >&2
  exit 77
fi
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

WORK=""
cleanup() {
  local rc=$?
  "$D/stop.sh" >/dev/null 2>&1 || ozv_log "stopping the guest failed: see $OZV_RUN"
  [ -n "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T0=$(now)
# Rebuild the bundle only when it is older than its sources (others may be using dist/ right now).
bundle=dist/cyber-zfs-backup.mjs
if [ ! -s "$bundle" ] || [ -n "$(find src package.json tsup.config.ts -newer "$bundle" -print -quit)" ]; then
  npm run build >/dev/null || { ozv_log "npm run build failed"; exit 1; }
fi
"$D/build-image.sh" || { ozv_log "building the guest image failed (log: $OZV_CACHE/build.log)"; exit 1; }
T1=$(now)

# The host's node for ava, shared read-only into the guest at /mnt/czb; results come back in out/.
WORK=$(mktemp -d /var/tmp/czb-openzfs-work.XXXXXX)
mkdir "$WORK/share" "$WORK/out"
cp "$(readlink -f "$(command -v node)")" "$WORK/share/node"

boot() { "$D/boot.sh" --share "$PWD" --share "$WORK/share:/mnt/czb:ro"; }
if ! boot; then
  ozv_log "boot failed; retrying once"
  "$D/stop.sh" >/dev/null 2>&1
  boot || { ozv_log "the guest did not boot twice; console: ${OZV_RUN%/}.failed-serial.log"; exit 1; }
fi
T2=$(now)

timeout -k 30 "$OZV_TEST_TIMEOUT" "$D/run-in-vm.sh" \
  "OZV_TEST_FILES='$OZV_TEST_FILES' OZV_MATCH='${OZV_MATCH:-}' OZV_AVA_TIMEOUT='${OZV_AVA_TIMEOUT:-15m}' bash /mnt/host/test/openzfs/guest-tests.sh"
status=$?
[ $status = 124 ] && ozv_log "the guest run exceeded OZV_TEST_TIMEOUT=$OZV_TEST_TIMEOUT s"
T3=$(now)
"$D/run-in-vm.sh" 'tar -C /var/tmp/czb-out -cf - .' | tar -xf - -C "$WORK/out" || ozv_log "could not copy the results out of the guest"
# Kept for a look after the run (the guest and $WORK are gone by then).
RESULTS="${OZV_RUN%/}.results"
rm -rf "$RESULTS"; cp -r "$WORK/out" "$RESULTS"

# Failing tests in full, then per-file counts and one closing line.
for tap in "$WORK"/out/*.tap; do
  [ -e "$tap" ] || continue
  name=$(basename "$tap" .tap)
  if grep -q '^not ok' "$tap"; then
    echo "--- failures in $name:"
    awk '/^not ok/{p=1} /^(ok |1\.\.|# [a-z])/{p=0} p' "$tap"
  fi
  if [ -s "$WORK/out/$name.stderr" ]; then
    echo "--- ava's stderr for $name:"
    tail -n 30 "$WORK/out/$name.stderr"
  fi
done
[ -s "$WORK/out/zfs-usage.txt" ] && cp "$WORK/out/zfs-usage.txt" "$OZV_CACHE/zfs-usage.txt"
cat "$WORK/out/versions" 2>/dev/null
[ -s "$WORK/out/reruns" ] && { echo "--- files run twice:"; cat "$WORK/out/reruns"; }
pass=0 fail=0 skip=0
while read -r f p fl s secs; do
  printf '%-45s %3s passed, %s failed, %s skipped  %6s s\n' "$f" "$p" "$fl" "$s" "$secs"
  pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
done < <(cat "$WORK/out/counts" 2>/dev/null)
if [ $status != 0 ] && [ $fail = 0 ]; then fail=1; fi
echo "build+image $(dt "$T0" "$T1") s (a few s when cached), boot $(dt "$T1" "$T2") s, tests $(dt "$T2" "$T3") s"
echo "TAP, usage text and smoke log: $RESULTS"
echo "openzfs: ${pass} passed, ${fail} failed, ${skip} skipped"
exit $status
