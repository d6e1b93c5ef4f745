#!/bin/sh
# mmdebstrap customize hook ($1 = guest root): checks the zfs module was built for the guest kernel, then sets up a headless test guest.
set -eu
R="$1"
: "${OZV_PUBKEY:?}"

KVER=$(ls "$R/lib/modules" | sort -V | tail -n1)
ZDIR=$(cd "$R/usr/src" && ls -d zfs-* | sort -V | tail -n1)
ZVER=${ZDIR#zfs-}
echo "guest kernel: $KVER, zfs-dkms source: $ZVER"

# The module must match the guest kernel, not the host's (the package's postinst may have skipped it).
if ! ls "$R/lib/modules/$KVER/updates/dkms/"zfs.ko* >/dev/null 2>&1; then
  echo "zfs.ko was not built by the package's postinst; running dkms install"
  chroot "$R" dkms install -m zfs -v "$ZVER" -k "$KVER"
fi
chroot "$R" dkms status
chroot "$R" depmod -a "$KVER"
chroot "$R" modinfo -k "$KVER" -F version zfs
for l in "$R/var/lib/dkms/zfs/$ZVER/$KVER"/*/log/make.log "$R/var/lib/dkms/zfs/$ZVER/build/make.log"; do
  [ -n "${OZV_CACHE:-}" ] && [ -f "$l" ] && cp "$l" "$OZV_CACHE/dkms-make.log" && break
done
rm -rf "$R/var/lib/dkms/zfs/$ZVER/build"

echo openzfs-vm > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 openzfs-vm\n::1 localhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$R/etc/fstab"
: > "$R/etc/resolv.conf"

# Static address on qemu's user-mode network, no gateway, no DNS: only the forwarded ssh reaches in.
mkdir -p "$R/etc/systemd/network"
cat > "$R/etc/systemd/network/10-qemu.network" <<'NET'
[Match]
Name=eth0 en*

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
NET
chroot "$R" systemctl enable systemd-networkd.service ssh.service
for u in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
         man-db.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
         dpkg-db-backup.timer zfs-scrub-monthly@.timer zfs-trim-monthly@.timer; do
  chroot "$R" systemctl mask "$u" >/dev/null 2>&1 || true
done

# root: key-only ssh, and passwordless autologin on the serial console for debugging.
mkdir -p "$R/root/.ssh"; chmod 700 "$R/root/.ssh"
cp "$OZV_PUBKEY" "$R/root/.ssh/authorized_keys"; chmod 600 "$R/root/.ssh/authorized_keys"
mkdir -p "$R/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$R/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'GETTY'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
GETTY
printf 'UseDNS no\nMaxSessions 50\nMaxStartups 100:30:200\n' > "$R/etc/ssh/sshd_config.d/openzfs-vm.conf"

# A small ARC for a small VM.
echo 'options zfs zfs_arc_max=268435456' > "$R/etc/modprobe.d/zfs-arc.conf"

{
  echo "OZV_KVER=$KVER"
  echo "OZV_ZFS_VERSION=$ZVER"
  echo "OZV_BUILT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$R/etc/openzfs-vm.env"
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' > "$R/etc/openzfs-vm.packages"
# Fail the build, not the test run, when something the test bed needs is missing.
for f in /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/bin/setpriv /usr/bin/node /sbin/zfs /sbin/zpool; do
  [ -x "$R$f" ] || { echo "guest image lacks $f" >&2; exit 1; }
done
chroot "$R" node --version
