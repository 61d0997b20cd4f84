#!/bin/bash
# docker.sh [MGR_DIR]: what issue 7 asks of Docker beyond the shared toolkit's
# docker.sh: stdin, exact exit codes, top (runtime "ps"), exec exit codes, TERM
# honoured by stop, kill, a CPU update read back, and Docker's prestart hook
# (libnetwork-setkey, in every Docker spec) run by the runtime.
MGR=docker-x
. "${MGR_TOOLKIT:?MGR_TOOLKIT is the shared toolkit directory}/lib.sh"
mgr_init "$@"
SUBDIR=$MGR_DIR/docker
PIDFILE=$SUBDIR/launch.pid
CONFIG=$SUBDIR/daemon.json
RT_ROOT=$SUBDIR/exec/runtime-runc/moby
export DOCKER_HOST=unix://$SUBDIR/docker.sock DOCKER_CONFIG=$SUBDIR/cli
dk() { T docker "$@"; }
RUN=(docker run --runtime custom --network none)
drun() { T "${RUN[@]}" "$@"; }
# shellcheck disable=SC2046
purge() { [ -z "$(dk ps --all --quiet)" ] || dk rm --force $(dk ps --all --quiet); }
leftovers() { dk ps --all --quiet; }
want() {
  local got
  got=$(dk inspect --format "{{.State.$1}}" "$2")
  [ "$got" = "$3" ] || { echo "$2: State.$1 is '$got', want '$3'"; return 1; }
}
start() {
  pid_matches "$SUBDIR/dockerd.pid" "$CONFIG" || rm -f "$SUBDIR/dockerd.pid"
  start_daemon "$PIDFILE" "$CONFIG" "$SUBDIR/dockerd.log" dockerd --config-file "$CONFIG" \
    && wait_for 30 docker version
}
load_image() { dk image inspect localhost/bb:latest > /dev/null 2>&1 || dk load -i "$IMAGES/bb-image.tar"; }
run_stdin() { echo piped-in | drun -i --rm localhost/bb cat; }
exec_stdin() { echo piped-in | dk exec -i mgr-x1 cat; }
# the wrapper keeps each create's config.json when $MGR_DIR/specs exists: Docker's
# spec carries the hook, and a failing hook would have failed the create
hook_in_spec() {
  local id out
  mkdir -p "$MGR_DIR/specs"
  id=$(dk create --runtime custom --network none localhost/bb true) || return 1
  dk start -a "$id" || { dk rm "$id"; return 1; }
  out=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["hooks"]["prestart"]; print(" ".join(h[0]["args"]))' "$MGR_DIR/specs/$id.json")
  rm -rf "$MGR_DIR/specs"
  dk rm "$id" > /dev/null
  echo "prestart: $out"
}
# the hook's effect: dockerd's sandbox key is a bind mount of the container's network
# namespace, which only libnetwork-setkey (called with the state on stdin) makes
hook_effect() {
  local key pid
  key=$(dk inspect --format '{{.NetworkSettings.SandboxKey}}' mgr-x1)
  pid=$(dk inspect --format '{{.State.Pid}}' mgr-x1)
  [ -n "$key" ] && [ "$(stat -L -c %i "$key" 2>&1)" = "$(stat -L -c %i "/proc/$pid/ns/net")" ] \
    || { echo "sandbox key '$key' is not the network namespace of pid $pid"; return 1; }
}
cpu_update() {
  local got
  dk update --cpu-shares 512 mgr-x1 || return 1
  got=$(dk exec mgr-x1 sh -c 'cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu.weight')
  [ "$got" = 512 ] || [ "$got" = 20 ] || { echo "cpu.shares/weight seen in the container: '$got'"; return 1; }
}
stop_term() { dk stop -t 20 mgr-x2 > /dev/null && want Status mgr-x2 exited && want ExitCode mgr-x2 0; }
kill_c() { dk kill mgr-x3 > /dev/null && dk wait mgr-x3 > /dev/null && want Status mgr-x3 exited && want ExitCode mgr-x3 137; }

if ! step daemon-start 0 '' start; then exit 1; fi
(purge) > /dev/null 2>&1
step image-load 0 '' load_image
step run-stdin 0 '^piped-in$' run_stdin
step exit-code-127 127 'stat /nonexistent: no such file or directory' drun --rm localhost/bb /nonexistent
step not-in-path-127 127 'executable file not found in \$PATH' drun --rm localhost/bb no-such-command
step prestart-hook-spec 0 'libnetwork-setkey' hook_in_spec
step run-d 0 '' drun -d --name mgr-x1 localhost/bb sleep 1000
need run-d prestart-hook-effect && step prestart-hook-effect 0 '' hook_effect
need run-d top && step top 0 'sleep 1000' dk top mgr-x1
need run-d exec-exit-code && step exec-exit-code 5 '' dk exec mgr-x1 sh -c 'exit 5'
need run-d exec-stdin && step exec-stdin 0 '^piped-in$' exec_stdin
need run-d exec-user && step exec-user 0 '^65534$' dk exec --user 65534 mgr-x1 id -u
need run-d cpu-update && step cpu-update 0 '' cpu_update
need run-d rm-force && step rm-force 0 '' dk rm --force mgr-x1
step run-d-term 0 '' drun -d --name mgr-x2 localhost/bb sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
need run-d-term stop-term && step stop-term 0 '' stop_term
need run-d-term rm-2 && step rm-2 0 '' dk rm mgr-x2
step run-d-kill 0 '' drun -d --name mgr-x3 localhost/bb sleep 1000
need run-d-kill kill && step kill 0 '' kill_c
need run-d-kill rm-3 && step rm-3 0 '' dk rm mgr-x3
argv_step
mgr_finish
