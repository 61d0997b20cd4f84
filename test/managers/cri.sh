#!/bin/bash
# cri.sh [MGR_DIR]: what issue 7 asks of the CRI path beyond the shared toolkit's
# cri.sh: the container really joins its sandbox's namespaces. The toolkit's CRI
# client makes a pod (network NODE, ipc POD, pid CONTAINER) with one container
# and leaves it running (--keep); the namespaces are compared from the host.
MGR=cri-x
. "${MGR_TOOLKIT:?MGR_TOOLKIT is the shared toolkit directory}/lib.sh"
mgr_init "$@"
SUBDIR=$MGR_DIR/cri
PIDFILE=$SUBDIR/containerd.pid
CONFIG=$SUBDIR/config.toml
SOCK=$SUBDIR/containerd.sock
RT_ROOT=$SUBDIR/rt-root/k8s.io
CLIENT=$MGR_DIR/cri-client/cri-run.js
c() { T ctr --address "$SOCK" --namespace k8s.io "$@"; }
cri() { T node "$CLIENT" --socket "$SOCK" --handler custom --log-dir "$SUBDIR/pod-logs" --mark "$ARGV_LOG" "$@"; }
purge() {
  local id
  cri --purge
  for id in $(c task list --quiet); do c task kill --signal SIGKILL "$id"; c task delete --force "$id"; done
  for id in $(c container list --quiet); do c container delete "$id"; done
}
leftovers() { c container list --quiet; c task list --quiet; }
start() {
  start_daemon "$PIDFILE" "$CONFIG" "$SUBDIR/containerd.log" containerd --config "$CONFIG" \
    && wait_for 30 ctr --address "$SOCK" version
}
import_images() {
  local i
  for i in pause bb; do
    c image list --quiet | grep -qx "localhost/$i:latest" || c image import "$IMAGES/$i-image.tar" || return 1
  done
}
# the host pid of the running task whose container uses image $1
pid_of_image() {
  local id
  id=$(c container list | awk -v img="$1" '$2 == img { print $1 }' | head -n 1)
  c task list | awk -v id="$id" '$1 == id { print $2 }'
}
ns() { readlink "/proc/$1/ns/$2"; }
same_ns() { [ "$(ns "$1" "$3")" = "$(ns "$2" "$3")" ] || { echo "$3: $(ns "$1" "$3") vs $(ns "$2" "$3")"; return 1; }; }
other_ns() { [ "$(ns "$1" "$3")" != "$(ns "$2" "$3")" ] || { echo "$3: both $(ns "$1" "$3")"; return 1; }; }
pod_namespaces() {
  local sb ct
  cri --keep > /dev/null || { echo "cri-run.js --keep failed"; return 1; }
  sb=$(pid_of_image localhost/pause:latest)
  ct=$(pid_of_image localhost/bb:latest)
  [ -n "$sb" ] && [ -n "$ct" ] || { echo "no pids: sandbox '$sb', container '$ct'"; return 1; }
  same_ns "$ct" "$sb" ipc && same_ns "$ct" $$ net && same_ns "$ct" $$ uts \
    && other_ns "$ct" "$sb" pid && other_ns "$ct" $$ pid && other_ns "$ct" $$ mnt
}

if ! step daemon-start 0 '' start; then exit 1; fi
(purge) > /dev/null 2>&1
step image-import 0 '' import_images
need image-import pod-namespaces && step pod-namespaces 0 '' pod_namespaces
need image-import pod-purge && step pod-purge 0 '' cri --purge
argv_step
mgr_finish
