#!/bin/bash
# podman-rootless.sh [MGR_DIR]: rootless podman drives $RUNTIME. A user made here for the
# run (useradd, its own /etc/subuid and /etc/subgid range; removed at the end whatever
# happened, with its processes and files) runs podman 4.3 with native overlay storage
# (rootless overlay in a user namespace: Linux >= 5.13) under its own home and
# $XDG_RUNTIME_DIR, cgroupfs, --network none, and the runtime given by absolute path (the
# toolkit's logging wrapper writes to MGR_DIR, which the user may not). podman runs the
# runtime as root of its own user namespace, so runc and hako put their state in
# $XDG_RUNTIME_DIR/<runc|hako>. Same conventions as the toolkit: "ok podman-rootless/<step>".
MGR=podman-rootless
. "${MGR_TOOLKIT:?MGR_TOOLKIT is the shared toolkit directory}/lib.sh"
mgr_init "$@"

RL_USER=hakotest-$(($$ % 100000))-pm
SUBDIR=/tmp/$RL_USER
XDG=$SUBDIR/xdg
RT_ROOT=$XDG/$(basename "$RUNTIME")
# a range no real user is likely to have: above 2^31, one slot per pid
SUB_START=$((2147483648 + ($$ % 4096) * 65536 + 268435456))

remove_user() {
  pkill -KILL -U "$RL_USER" 2> /dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do pgrep -U "$RL_USER" > /dev/null 2>&1 || break; sleep 0.2; done
  userdel "$RL_USER" 2> /dev/null
  for f in /etc/subuid /etc/subgid /etc/passwd /etc/shadow /etc/group /etc/gshadow; do
    [ -f "$f" ] && grep -q "^$RL_USER:" "$f" && sed -i "/^$RL_USER:/d" "$f"
  done
  umount_under "$SUBDIR" > /dev/null 2>&1
  rm -rf "$SUBDIR"
}
finish() {
  trap - EXIT
  (mgr_finish)
  local rc=$?
  remove_user
  if id "$RL_USER" > /dev/null 2>&1 || [ -e "$SUBDIR" ]; then
    echo "not ok $MGR/user-removed $RL_USER or $SUBDIR is still there"
    rc=1
  else
    echo "ok $MGR/user-removed"
  fi
  exit $rc
}
trap finish EXIT

make_user() {
  remove_user
  useradd -M -N -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RL_USER" || return 1
  usermod --add-subuids "$SUB_START-$((SUB_START + 65535))" --add-subgids "$SUB_START-$((SUB_START + 65535))" "$RL_USER" || return 1
  mkdir -p "$XDG" "$SUBDIR/podman/tmp"
  cp "$IMAGES/bb-image.tar" "$SUBDIR/"
  cat > "$SUBDIR/containers.conf" << EOF
[containers]
log_driver = "k8s-file"
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$SUBDIR/podman/events.log"
tmp_dir = "$SUBDIR/podman/tmp"
lock_type = "file"
runtime = "custom"
runtime_supports_json = ["crun", "runc", "custom", "$(basename "$RUNTIME")"]
[engine.runtimes]
custom = ["$RUNTIME"]
EOF
  cat > "$SUBDIR/storage.conf" << EOF
[storage]
driver = "overlay"
runroot = "$XDG/containers"
graphroot = "$SUBDIR/podman/root"
EOF
  chown -R "$RL_USER:" "$SUBDIR"
  chmod 755 "$SUBDIR"
  chmod 700 "$XDG"
  # the runtime must be reachable by the user: every directory on its way searchable
  runuser -u "$RL_USER" -- test -x "$RUNTIME" || { echo "$RUNTIME is not executable by $RL_USER"; return 1; }
}

PM=(runuser -u "$RL_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$SUBDIR" XDG_RUNTIME_DIR="$XDG"
  CONTAINERS_CONF="$SUBDIR/containers.conf" CONTAINERS_STORAGE_CONF="$SUBDIR/storage.conf" podman --runtime custom)
pm() { T "${PM[@]}" "$@"; }
purge() { id "$RL_USER" > /dev/null 2>&1 && pm rm --force --all --time 0; }
leftovers() { id "$RL_USER" > /dev/null 2>&1 && pm ps --all --quiet; }
field() { pm inspect --format "{{.State.$1}}" "$2"; }
want() {
  local got
  got=$(field "$1" "$2")
  [ "$got" = "$3" ] || { echo "$2: State.$1 is '$got', want '$3'"; return 1; }
}

load_image() { pm load -i "$SUBDIR/bb-image.tar"; }
storage_driver() { pm info --format '{{.Store.GraphDriverName}} rootless={{.Host.Security.Rootless}}'; }
# the runtime really ran as the user: the container's root is the user on the host
uid_map() { pm run --rm --network none localhost/bb cat /proc/self/uid_map; }
run_stdin() { echo piped-in | pm run -i --rm --network none localhost/bb cat; }
stop_term() { pm stop --time 20 rl-c1 && want Status rl-c1 exited && want ExitCode rl-c1 0; }
state_in_xdg() { [ -d "$RT_ROOT" ] || { echo "no $RT_ROOT"; return 1; }; echo "$RT_ROOT"; }

step make-user 0 '' make_user
need make-user image-load && step image-load 0 '' load_image
need image-load storage && step storage 0 '^overlay rootless=true' storage_driver
need image-load run-rm && step run-rm 0 '^hi' pm run --rm --network none localhost/bb echo hi
need image-load uid-map && step uid-map 0 "^ +0 +$(id -u "$RL_USER" 2> /dev/null) +1" uid_map
need image-load exit-code && step exit-code 7 '' pm run --rm --network none localhost/bb sh -c 'exit 7'
need image-load run-stdin && step run-stdin 0 '^piped-in$' run_stdin
need image-load error-report && step error-report nz 'nonexistent' pm run --rm --network none localhost/bb /nonexistent
need image-load run-tty && step run-tty 0 '/dev/pts/[0-9]' T script -qec "${PM[*]} run --rm -t --network none localhost/bb tty" /dev/null
# sh as PID 1 with a TERM trap: "stop" must deliver TERM (exit 0), not wait for KILL
need image-load run-d && step run-d 0 '' pm run -d --network none --name rl-c1 localhost/bb sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
need run-d state-in-xdg && step state-in-xdg 0 '' state_in_xdg
need run-d exec && step exec 0 '^exec-ok' pm exec rl-c1 echo exec-ok
need run-d exec-exit-code && step exec-exit-code 5 '' pm exec rl-c1 sh -c 'exit 5'
need run-d exec-tty && step exec-tty 0 '/dev/pts/[0-9]' T script -qec "${PM[*]} exec -t rl-c1 tty" /dev/null
need run-d stop && step stop 0 '' stop_term
need run-d rm && step rm 0 '' pm rm rl-c1
finish
