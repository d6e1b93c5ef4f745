#!/usr/bin/env bash
# Runs a command in the running guest as root over ssh (stdin/stdout pass through): run-in-vm.sh 'zpool list'; no args opens a shell.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -s "$OZV_RUN/qemu.pid" ] || ozv_die "no VM running in $OZV_RUN (boot.sh first)"
OZV_SSH_PORT=$(cat "$OZV_RUN/ssh_port")
if [ $# -eq 0 ]; then
  mapfile -t opts < <(ozv_ssh_opts)
  exec ssh -t "${opts[@]}" root@127.0.0.1
fi
ozv_ssh "$@"
