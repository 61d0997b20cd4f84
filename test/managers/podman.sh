#!/bin/bash
# podman.sh [MGR_DIR]: what issue 7 asks of podman beyond the shared toolkit's
# podman.sh (../shared/tools/managers): stdin, exact exit codes, both error paths
# (JSON log and stderr), top, exec exit codes, TERM honoured by stop, kill.
# Same conventions as the toolkit: "ok podman-x/<step>" lines, cleanup checked.
MGR=podman-x
. "${MGR_TOOLKIT:?MGR_TOOLKIT is the shared toolkit directory}/lib.sh"
mgr_init "$@"
SUBDIR=$MGR_DIR/podman
export CONTAINERS_CONF=$SUBDIR/containers.conf CONTAINERS_STORAGE_CONF=$SUBDIR/storage.conf
PM=(podman --runtime custom)
pm() { T "${PM[@]}" "$@"; }
purge() { pm rm --force --all --time 0; }
leftovers() { pm ps --all --quiet; }
field() { pm inspect --format "{{.State.$1}}" "$2"; }
want() {
  local got
  got=$(field "$1" "$2")
  [ "$got" = "$3" ] || { echo "$2: State.$1 is '$got', want '$3'"; return 1; }
}

load_image() { pm image exists localhost/bb:latest || pm load -i "$IMAGES/bb-image.tar"; }
run_stdin() { echo piped-in | pm run -i --rm localhost/bb cat; }
# a runtime whose name is not in runtime_supports_json: podman reports its stderr
error_stderr() { pm --runtime "$RT_PATH" run --rm localhost/bb /nonexistent; }
stop_term() {
  pm stop --time 20 mgr-x2 || return 1
  want Status mgr-x2 exited && want ExitCode mgr-x2 0
}
# "kill" returns once the signal is sent; the state follows when conmon reports the exit
kill_c() { pm kill mgr-x3 && pm wait mgr-x3 > /dev/null && want Status mgr-x3 exited && want ExitCode mgr-x3 137; }

(purge) > /dev/null 2>&1
step image-load 0 '' load_image
step run-stdin 0 '^piped-in$' run_stdin
step exit-code-127 127 'stat /nonexistent: no such file or directory' pm run --rm localhost/bb /nonexistent
step not-in-path-127 127 'executable file not found in \$PATH' pm run --rm localhost/bb no-such-command
step error-stderr 127 'stat /nonexistent: no such file or directory' error_stderr
step run-d 0 '' pm run -d --name mgr-x1 localhost/bb sleep 1000
need run-d top && step top 0 'sleep 1000' pm top mgr-x1
need run-d exec-exit-code && step exec-exit-code 5 '' pm exec mgr-x1 sh -c 'exit 5'
need run-d exec-stdin && step exec-stdin 0 '^piped-in$' sh -c "echo piped-in | timeout -k 10 $STEP_TIMEOUT ${PM[*]} exec -i mgr-x1 cat"
need run-d exec-user && step exec-user 0 '^65534$' pm exec --user 65534 mgr-x1 id -u
need run-d rm-force && step rm-force 0 '' pm rm --force --time 0 mgr-x1
# sh as PID 1 with a TERM trap: "stop" must deliver TERM (exit 0), not wait for KILL (137)
step run-d-term 0 '' pm run -d --name mgr-x2 localhost/bb sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
need run-d-term stop-term && step stop-term 0 '' stop_term
need run-d-term rm-2 && step rm-2 0 '' pm rm mgr-x2
step run-d-kill 0 '' pm run -d --name mgr-x3 localhost/bb sleep 1000
need run-d-kill kill && step kill 0 '' kill_c
need run-d-kill rm-3 && step rm-3 0 '' pm rm mgr-x3
argv_step
mgr_finish
