# Settings and helpers shared by the OpenZFS guest scripts (source it); every value can be overridden from the environment.
# shellcheck shell=bash

OZV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The image, kernel, initrd and ssh key, kept between runs (rebuilt only when the recipe changes).
: "${OZV_CACHE:=/var/cache/openzfs-vm/cyber-zfs-backup}"
# Per-VM runtime state (pid file, serial log, overlay); this project's own, so it never meets another VM.
: "${OZV_RUN:=/var/tmp/czb-openzfs-vm}"
: "${OZV_SUITE:=bookworm}"
: "${OZV_MIRROR:=http://deb.debian.org/debian}"
: "${OZV_SECURITY_MIRROR:=http://deb.debian.org/debian-security}"
# The guest's sshd is reachable on this loopback port only.
: "${OZV_SSH_PORT:=10122}"
: "${OZV_MEM:=2048}"
: "${OZV_CPUS:=$(nproc 2>/dev/null || echo 2)}"
: "${OZV_ACCEL:=auto}"         # auto | kvm | tcg
: "${OZV_BOOT_TIMEOUT:=}"      # seconds to wait for ssh; default 300 (kvm) / 900 (tcg)
# What the test bed needs in the guest besides OpenZFS: sshd and ssh-keygen (openssh-server pulls
# openssh-client), setpriv (util-linux, essential), and Debian's own node 18 for the smoke run.
OZV_PACKAGES="systemd-sysv,udev,kmod,dbus,iproute2,procps,openssh-server,openssh-client,util-linux"
OZV_PACKAGES="$OZV_PACKAGES,linux-image-amd64,linux-headers-amd64,zfs-dkms,zfsutils-linux,nodejs"

OZV_KEY="$OZV_CACHE/id_ed25519"
case "$OZV_RUN" in
  ""|/|/tmp|/tmp/|/var/tmp|/var/tmp/|/run|/run/|"$HOME"|"$HOME/")
    echo "openzfs: OZV_RUN=$OZV_RUN is not a dedicated directory" >&2; exit 1 ;;
esac

ozv_log() { printf '[openzfs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ozv_die() { ozv_log "ERROR: $*"; exit 1; }

# A digest of everything that decides the image's content: a change rebuilds it.
ozv_recipe() {
  { echo "$OZV_SUITE $OZV_MIRROR $OZV_PACKAGES ${OZV_ZFS_BACKPORTS:-}"
    cat "$OZV_DIR/build-image.sh" "$OZV_DIR/guest-customize.sh"; } | sha256sum | cut -c1-16
}

ozv_ssh_opts() {
  printf '%s\n' -i "$OZV_KEY" -p "$OZV_SSH_PORT" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 \
    -o ServerAliveInterval=15 -o ServerAliveCountMax=8 \
    -o ControlMaster=auto -o "ControlPath=$OZV_RUN/ssh.ctl" -o ControlPersist=600
}

ozv_ssh() {
  local opts
  mapfile -t opts < <(ozv_ssh_opts)
  ssh "${opts[@]}" root@127.0.0.1 "$@"
}

# Installs host packages when a command is missing: pairs of COMMAND PACKAGE.
ozv_need() {
  local missing=() cmd pkg
  while [ $# -gt 0 ]; do
    cmd="$1" pkg="$2"; shift 2
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    ozv_log "installing host packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || ozv_die "need root to apt-get install ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
      apt-get update >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
}

# KVM only when the CPU advertises vmx/svm: a /dev/kvm without them (nested PVM) is slower than TCG
# and fails on cmpxchg16b/xrstor.
ozv_pick_accel() {
  case "$OZV_ACCEL" in
    kvm|tcg) echo "$OZV_ACCEL" ;;
    auto) if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
            echo kvm; else echo tcg; fi ;;
    *) ozv_die "OZV_ACCEL must be auto, kvm or tcg" ;;
  esac
}
