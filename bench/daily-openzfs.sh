#!/usr/bin/env bash
# The daily-run figure on real OpenZFS: boots the test tier's guest, runs bench/daily.ts in it (the CLI on Debian's node 18), copies its JSON out, always stops the guest.
#   flock /var/tmp/czb-openzfs.lock bash bench/daily-openzfs.sh OUT.json [DATASETS SNAPSHOTS ROUNDS]
# (npm run bench -- --only daily-openzfs takes the lock and calls this). Expects dist/ built.
set -uo pipefail
OUT=${1:?usage: daily-openzfs.sh OUT.json [DATASETS SNAPSHOTS ROUNDS]}
DATASETS=${2:-50} SNAPSHOTS=${3:-200} ROUNDS=${4:-3}
T="$(cd "$(dirname "$0")/../test/openzfs" && pwd)"
. "$T/lib.sh"
cd "$T/../.."
[ -s dist/cyber-zfs-backup.mjs ] || { ozv_log "dist/ is not built: npm run build"; exit 1; }

WORK=""
cleanup() {
  local rc=$?
  "$T/stop.sh" >/dev/null 2>&1 || ozv_log "stopping the guest failed: see $OZV_RUN"
  [ -n "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$T/build-image.sh" || { ozv_log "building the guest image failed (log: $OZV_CACHE/build.log)"; exit 1; }
# The host's node (20) runs the bench with tsx; the CLI it measures runs on the guest's Debian node 18.
WORK=$(mktemp -d /var/tmp/czb-daily-work.XXXXXX)
mkdir "$WORK/share"
cp "$(readlink -f "$(command -v node)")" "$WORK/share/node"
boot() { "$T/boot.sh" --share "$PWD" --share "$WORK/share:/mnt/czb:ro"; }
if ! boot; then
  ozv_log "boot failed; retrying once"
  "$T/stop.sh" >/dev/null 2>&1
  boot || { ozv_log "the guest did not boot twice"; exit 1; }
fi
"$T/run-in-vm.sh" "cd /mnt/host && ([ -d /sys/module/zfs ] || modprobe zfs) && /mnt/czb/node --import tsx bench/daily.ts --json /var/tmp/czb-daily.json --datasets $DATASETS --snapshots $SNAPSHOTS --rounds $ROUNDS --cli-node /usr/bin/node --platform 'OpenZFS 2.1 guest'" >&2
status=$?
"$T/run-in-vm.sh" 'cat /var/tmp/czb-daily.json' > "$OUT" || { ozv_log "could not copy the result out of the guest"; exit 1; }
exit $status
