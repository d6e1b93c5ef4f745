#!/usr/bin/env bash
# Builds (once, then cached) a Debian bookworm guest with OpenZFS 2.1 (zfs-dkms prebuilt for the guest kernel), sshd and node.
#
# Output in $OZV_CACHE: rootfs.raw (ext4, no partition table), vmlinuz, initrd.img, id_ed25519 (root's
# ssh key), image.env (versions, build timings, recipe digest), packages.txt, debs/ (reused by the
# next build), build.log. The image is rebuilt when the recipe (package list, this script,
# guest-customize.sh) changes, or with --force. Needs root and network (Debian mirrors) while building.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
RECIPE=$(ozv_recipe)
if [ $FORCE = 0 ] && [ -s "$OZV_CACHE/rootfs.raw" ] && [ -s "$OZV_CACHE/vmlinuz" ] \
   && [ -s "$OZV_CACHE/initrd.img" ] && [ -s "$OZV_KEY" ] \
   && grep -qx "OZV_RECIPE=$RECIPE" "$OZV_CACHE/image.env" 2>/dev/null; then
  ozv_log "image cached in $OZV_CACHE (recipe $RECIPE)"; exit 0
fi
[ "$(id -u)" = 0 ] || ozv_die "building the image needs root (mmdebstrap --mode=root, chroot, dkms)"
ozv_need mmdebstrap mmdebstrap mkfs.ext4 e2fsprogs ssh-keygen openssh-client \
         qemu-system-x86_64 qemu-system-x86 qemu-img qemu-utils
mkdir -p "$OZV_CACHE/debs"
[ -s "$OZV_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C czb-openzfs -f "$OZV_KEY"

WORK="$OZV_CACHE/build.$$"
ROOT="$WORK/root"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"

EXTRA_SRC=() PIN_HOOK=()
if [ -n "${OZV_ZFS_BACKPORTS:-}" ]; then
  # OpenZFS from <suite>-backports (2.3.x for bookworm): pin every package built from zfs-linux there.
  EXTRA_SRC=("deb $OZV_MIRROR $OZV_SUITE-backports main contrib")
  PIN_HOOK=(--setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" && printf '%s\n' \
    'Package: /^(zfs|libzfs|libzpool|libnvpair|libuutil|pam-zfs|python3-pyzfs)/' \
    'Pin: release n=$OZV_SUITE-backports' 'Pin-Priority: 990' \
    > \"\$1/etc/apt/preferences.d/zfs-backports\"")
fi

T0=$(date +%s)
ozv_log "mmdebstrap $OZV_SUITE with OpenZFS, sshd and nodejs (DKMS builds zfs for the guest kernel); log: $OZV_CACHE/build.log"
export OZV_PUBKEY="$OZV_KEY.pub" OZV_CACHE
mmdebstrap --verbose --mode=root --variant=minbase --components=main,contrib \
  --aptopt='Acquire::Languages "none"' \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --include="$OZV_PACKAGES" \
  "${PIN_HOOK[@]}" \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $OZV_CACHE/debs /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $OZV_CACHE/debs" \
  --customize-hook="\"$OZV_DIR/guest-customize.sh\" \"\$1\"" \
  "$OZV_SUITE" "$ROOT" \
  "deb $OZV_MIRROR $OZV_SUITE main contrib" \
  "deb $OZV_MIRROR $OZV_SUITE-updates main contrib" \
  "deb $OZV_SECURITY_MIRROR $OZV_SUITE-security main contrib" \
  "${EXTRA_SRC[@]}" \
  2>&1 | perl -MPOSIX -ne 'BEGIN{$|=1} print strftime("%H:%M:%S ", localtime), $_' > "$OZV_CACHE/build.log" \
  || { tail -n 40 "$OZV_CACHE/build.log" >&2; ozv_die "mmdebstrap failed"; }
T1=$(date +%s)
ozv_log "root tree ready in $((T1 - T0)) s ($(du -sh "$ROOT" | cut -f1))"

. "$ROOT/etc/openzfs-vm.env"
cp "$ROOT/boot/vmlinuz-$OZV_KVER" "$WORK/vmlinuz"
cp "$ROOT/boot/initrd.img-$OZV_KVER" "$WORK/initrd.img"

# ext4 image made straight from the tree (no loop device, no mount); room for pools on files in /tmp.
used_mb=$(du -sm "$ROOT" | cut -f1)
size_mb=$(( used_mb * 13 / 10 + 3072 ))
mkfs.ext4 -q -F -L ozv-root -d "$ROOT" "$WORK/rootfs.raw" "${size_mb}M"
T2=$(date +%s)
ozv_log "rootfs.raw: ${size_mb} MiB apparent, $(du -sh "$WORK/rootfs.raw" | cut -f1) on disk ($((T2 - T1)) s)"

{
  cat "$ROOT/etc/openzfs-vm.env"
  echo "OZV_RECIPE=$RECIPE"
  echo "OZV_BUILD_SECONDS_MMDEBSTRAP=$((T1 - T0))"
  echo "OZV_BUILD_SECONDS_MKFS=$((T2 - T1))"
  echo "OZV_ZFSUTILS=$(awk '$1=="zfsutils-linux"{print $2}' "$ROOT/etc/openzfs-vm.packages")"
  echo "OZV_NODEJS=$(awk '$1=="nodejs"{print $2}' "$ROOT/etc/openzfs-vm.packages")"
  echo "OZV_OPENSSH=$(awk '$1=="openssh-server"{print $2}' "$ROOT/etc/openzfs-vm.packages")"
} > "$WORK/image.env"
cp "$ROOT/etc/openzfs-vm.packages" "$WORK/packages.txt"
rm -rf "$ROOT"
# image.env last: it is what marks the cache complete.
for f in rootfs.raw vmlinuz initrd.img packages.txt image.env; do mv -f "$WORK/$f" "$OZV_CACHE/$f"; done
ozv_log "image built in $((T2 - T0)) s: $OZV_CACHE"
cat "$OZV_CACHE/image.env"
