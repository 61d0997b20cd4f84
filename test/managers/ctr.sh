#!/bin/bash
# ctr.sh [MGR_DIR]: what issue 7 asks of containerd through ctr beyond the shared
# toolkit's ctr.sh: stdin, exec exit codes and stdin, TERM by default on kill,
# kill --all through "task kill --all", and the pid file containerd reads.
MGR=ctr-x
. "${MGR_TOOLKIT:?MGR_TOOLKIT is the shared toolkit directory}/lib.sh"
mgr_init "$@"
SUBDIR=$MGR_DIR/containerd
PIDFILE=$SUBDIR/containerd.pid
CONFIG=$SUBDIR/config.toml
SOCK=$SUBDIR/containerd.sock
NS=mgrtest
RUNC_ROOT=$SUBDIR/runc
RT_ROOT=$RUNC_ROOT/$NS
CTR=(ctr --address "$SOCK" --namespace "$NS")
RUN=("${CTR[@]}" run --runc-binary "$RT_PATH" --runc-root "$RUNC_ROOT")
c() { T "${CTR[@]}" "$@"; }
crun() { T "${RUN[@]}" "$@"; }
purge() {
  local id
  for id in $(c task list --quiet); do c task kill --signal SIGKILL "$id"; c task delete --force "$id"; done
  for id in $(c container list --quiet); do c container delete "$id"; done
}
leftovers() { c container list --quiet; c task list --quiet; }
task_status() { c task list | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { c task list | awk -v id="$1" '$1 == id { print $2 }'; }
want_status() {
  local s _
  for _ in $(seq 20); do
    s=$(task_status "$1")
    [ "$s" = "$2" ] && return 0
    sleep 0.25
  done
  echo "$1: task status is '$s', want '$2'"
  return 1
}
start() {
  start_daemon "$PIDFILE" "$CONFIG" "$SUBDIR/containerd.log" containerd --config "$CONFIG" \
    && wait_for 20 ctr --address "$SOCK" version
}
import_image() { c image list --quiet | grep -qx localhost/bb:latest || c image import "$IMAGES/bb-image.tar"; }
# ctr run never closes the container's stdin (under runc too): read one line, not to EOF
run_stdin() { echo piped-in | crun --rm localhost/bb:latest mgr-x0 head -n 1; }
exec_stdin() { echo piped-in | c task exec --exec-id x2 mgr-x1 cat; }
# the shim passes --pid-file to create: the task's pid is a host pid that runs the command
task_pid_is_host_pid() {
  local pid
  pid=$(task_pid mgr-x1)
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q '^sleep 1000' || { echo "pid $pid is not 'sleep 1000'"; return 1; }
}
kill_term() { c task kill mgr-x3 && want_status mgr-x3 STOPPED; }
kill_all() {
  c task exec -d --exec-id x4 mgr-x1 sleep 999 || return 1
  c task kill --all --signal SIGKILL mgr-x1 && want_status mgr-x1 STOPPED
}
rm_c() { c task delete "$1" && c container delete "$1"; }

if ! step daemon-start 0 '' start; then exit 1; fi
(purge) > /dev/null 2>&1
step image-import 0 '' import_image
step run-stdin 0 '^piped-in' run_stdin
step run-d 0 '' crun -d localhost/bb:latest mgr-x1 sleep 1000
need run-d pid-file && step pid-file 0 '' task_pid_is_host_pid
need run-d exec-exit-code && step exec-exit-code 5 '' c task exec --exec-id x1 mgr-x1 sh -c 'exit 5'
need run-d exec-stdin && step exec-stdin 0 '^piped-in' exec_stdin
need run-d kill-all && step kill-all 0 '' kill_all
need run-d rm && step rm 0 '' rm_c mgr-x1
step run-d-term 0 '' crun -d localhost/bb:latest mgr-x3 sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
need run-d-term kill-term && step kill-term 0 '' kill_term
need run-d-term rm-3 && step rm-3 0 '' rm_c mgr-x3
argv_step
mgr_finish
