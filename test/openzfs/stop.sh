#!/usr/bin/env bash
# Stops the guest this run dir started (poweroff over ssh, then qemu's monitor, then signals to the pid in its pid file) and deletes the run state.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
pidf="$OZV_RUN/qemu.pid"
if [ ! -s "$pidf" ]; then ozv_log "no VM state in $OZV_RUN"; rm -rf "$OZV_RUN"; exit 0; fi
pid=$(cat "$pidf")
# Only the qemu recorded in this pid file, and only while that pid is still a qemu.
alive() { kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = qemu-system-x86 ]; }
if alive; then
  [ -s "$OZV_RUN/ssh_port" ] && OZV_SSH_PORT=$(cat "$OZV_RUN/ssh_port")
  ozv_ssh 'systemctl poweroff' >/dev/null 2>&1 || true
  ozv_ssh -O exit >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do alive || break; sleep 1; done
fi
if alive && command -v socat >/dev/null && [ -S "$OZV_RUN/monitor.sock" ]; then
  echo quit | socat - "UNIX-CONNECT:$OZV_RUN/monitor.sock" >/dev/null 2>&1 || true
  sleep 2
fi
if alive; then kill "$pid"; sleep 3; fi
if alive; then kill -9 "$pid"; sleep 1; fi
if alive; then ozv_die "qemu pid $pid still running"; fi
[ -S "$OZV_RUN/ssh.ctl" ] && ozv_ssh -O exit >/dev/null 2>&1
[ -n "${OZV_KEEP_LOGS:-}" ] && cp "$OZV_RUN/serial.log" "$OZV_KEEP_LOGS" 2>/dev/null
rm -rf "$OZV_RUN"
ozv_log "VM stopped"
