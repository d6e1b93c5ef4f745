#!/usr/bin/env bash
# Boots the cached OpenZFS guest in the background and waits for its sshd: boot.sh [--share HOSTDIR[:GUESTDIR[:ro]]]... [--tcg|--kvm]
#
# The root disk is the cached image opened with snapshot=on (never written; the overlay lives in
# $OZV_RUN). Networking is qemu user mode with restrict=on: the guest reaches nothing, and the only
# way in is 127.0.0.1:$OZV_SSH_PORT -> guest:22. Each --share exports a host directory over virtio-9p
# and mounts it in the guest (default /mnt/host, then /mnt/host2, ...; ":ro" exports it read-only).
# Shares are mounted with cache=loose (fast reads under emulation): the host must not change them
# while the guest runs, and guest writes may reach the host late (copy results out over ssh).
# On failure the VM is stopped and the console log kept in $OZV_RUN.failed-serial.log
# (OZV_KEEP_ON_FAIL=1 leaves it running instead).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SHARES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --share) SHARES+=("$2"); shift 2 ;;
    --tcg) OZV_ACCEL=tcg; shift ;;
    --kvm) OZV_ACCEL=kvm; shift ;;
    *) ozv_die "unknown option $1" ;;
  esac
done

for f in rootfs.raw vmlinuz initrd.img id_ed25519; do
  [ -s "$OZV_CACHE/$f" ] || ozv_die "$OZV_CACHE/$f missing: run build-image.sh first"
done
ozv_need qemu-system-x86_64 qemu-system-x86 qemu-img qemu-utils ssh openssh-client

if [ -s "$OZV_RUN/qemu.pid" ] && kill -0 "$(cat "$OZV_RUN/qemu.pid")" 2>/dev/null; then
  ozv_die "a VM is already running (pid $(cat "$OZV_RUN/qemu.pid")); stop it with stop.sh"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$OZV_SSH_PORT") 2>/dev/null; then
  ozv_die "127.0.0.1:$OZV_SSH_PORT is already in use; set OZV_SSH_PORT"
fi

ACCEL=$(ozv_pick_accel)
if [ "$ACCEL" = kvm ]; then
  CPU=(-accel kvm -cpu host); : "${OZV_BOOT_TIMEOUT:=300}"
else
  CPU=(-accel tcg,thread=multi,tb-size=512 -cpu max); : "${OZV_BOOT_TIMEOUT:=900}"
fi

rm -rf "$OZV_RUN"; mkdir -p "$OZV_RUN"
SHAREOPT=() MOUNTS=()
i=0
for spec in "${SHARES[@]}"; do
  IFS=: read -r host guest mode <<<"$spec"
  host="$(cd "$host" && pwd)"
  [ -n "$guest" ] || { [ $i = 0 ] && guest=/mnt/host || guest=/mnt/host$((i + 1)); }
  ro=""; [ "$mode" = ro ] && ro=",readonly=on"
  SHAREOPT+=(-virtfs "local,path=$host,mount_tag=share$i,security_model=none,id=share$i$ro")
  MOUNTS+=("share$i $guest ${mode:-rw}")
  echo "$host $guest ${mode:-rw}" >> "$OZV_RUN/shares"
  i=$((i + 1))
done
# snapshot=on writes its overlay in TMPDIR: keep it with the run state.
export TMPDIR="$OZV_RUN"

T0=$(date +%s.%N)
fail() {
  tail -n 40 "$OZV_RUN/serial.log" >&2 2>/dev/null || true
  if [ -z "${OZV_KEEP_ON_FAIL:-}" ]; then
    cp "$OZV_RUN/serial.log" "${OZV_RUN%/}.failed-serial.log" 2>/dev/null || true
    "$OZV_DIR/stop.sh" >/dev/null 2>&1 || true
    ozv_log "serial log kept in ${OZV_RUN%/}.failed-serial.log"
  fi
  ozv_die "$*"
}
qemu-system-x86_64 \
  -name czb-openzfs -machine q35 "${CPU[@]}" -smp "$OZV_CPUS" -m "$OZV_MEM" \
  -nodefaults -display none -no-reboot \
  -kernel "$OZV_CACHE/vmlinuz" -initrd "$OZV_CACHE/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 panic=-1 systemd.show_status=auto" \
  -drive "if=none,id=root,file=$OZV_CACHE/rootfs.raw,format=raw,snapshot=on,cache=unsafe" \
  -device virtio-blk-pci,drive=root \
  "${SHAREOPT[@]}" \
  -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$OZV_SSH_PORT-:22" \
  -device virtio-rng-pci \
  -serial "file:$OZV_RUN/serial.log" \
  -monitor "unix:$OZV_RUN/monitor.sock,server,nowait" \
  -pidfile "$OZV_RUN/qemu.pid" -daemonize \
  || fail "qemu failed to start (accel=$ACCEL; try OZV_ACCEL=tcg)"
echo "$OZV_SSH_PORT" > "$OZV_RUN/ssh_port"
echo "$ACCEL" > "$OZV_RUN/accel"
ozv_log "qemu started (accel=$ACCEL, pid $(cat "$OZV_RUN/qemu.pid")); serial log: $OZV_RUN/serial.log"

deadline=$(( $(date +%s) + OZV_BOOT_TIMEOUT ))
until ozv_ssh true 2>/dev/null; do
  if ! kill -0 "$(cat "$OZV_RUN/qemu.pid" 2>/dev/null || echo 0)" 2>/dev/null; then
    fail "qemu exited during boot (accel=$ACCEL)"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    fail "no ssh after $OZV_BOOT_TIMEOUT s (accel=$ACCEL)"
  fi
  sleep 1
done
T1=$(date +%s.%N)
secs=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')
echo "$secs" > "$OZV_RUN/boot_seconds"
ozv_log "ssh ready after ${secs} s"
for m in "${MOUNTS[@]}"; do
  read -r tag guest mode <<<"$m"
  opts="trans=virtio,version=9p2000.L,msize=524288,cache=loose"
  [ "$mode" = ro ] && opts="$opts,ro"
  ozv_ssh "mkdir -p '$guest' && mount -t 9p -o $opts $tag '$guest'" || fail "mounting the $tag share at $guest failed"
  ozv_log "$(awk -v g="$guest" '$2==g{print $1}' "$OZV_RUN/shares") mounted at $guest in the guest ($mode)"
done
