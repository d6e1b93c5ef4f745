#!/bin/sh
# Test helper: runs a command in a Debian chroot inside a private mount namespace (its mounts vanish with it).
# Usage: chroot-run.sh ROOT [--zfs-socket] -- COMMAND [ARG...]
#   --zfs-socket  also bind the host's /run/zfs (the zfs-fuse socket) into the chroot.
# The chroot gets /proc, /dev (bind, no pts), and a fresh tmpfs on /run with /run/lock.
set -eu

if [ $# -lt 3 ]; then
    echo "usage: $0 ROOT [--zfs-socket] -- COMMAND [ARG...]" >&2
    exit 64
fi
root=$1
shift
zfs_socket=no
while [ $# -gt 0 ]; do
    case $1 in
        --zfs-socket) zfs_socket=yes; shift ;;
        --) shift; break ;;
        *) echo "$0: unknown option $1" >&2; exit 64 ;;
    esac
done
[ -x "$root/bin/sh" ] || { echo "$0: $root does not look like a chroot" >&2; exit 66; }

exec unshare --mount --propagation private -- /bin/sh -eu -c '
    root=$1 zfs_socket=$2
    shift 2
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
    mkdir -m 1777 "$root/run/lock"
    if [ "$zfs_socket" = yes ]; then
        mkdir -m 0700 "$root/run/zfs"
        mount --bind /run/zfs "$root/run/zfs"
    fi
    exec chroot "$root" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
' chroot-run "$root" "$zfs_socket" "$@"
