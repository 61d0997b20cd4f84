#!/bin/bash
# bench/managers.sh [RUNS]: wall time of a manager's "run --rm echo hi" with hako and
# with runc, alternating run by run, under podman, ctr and Docker; for CRI, a whole pod
# (the shared toolkit's cri-run.js: sandbox, container, two ExecSyncs, stop, remove).
# As root. Prints medians, the ratio of the medians and the median of the per-pair
# ratios for each manager (hako / runc; below 1 is faster).
#
# The managers are pointed once at $MGR_DIR/bin/rt, a symlink flipped between runs, so
# both runtimes are called exactly the same way with no wrapper in between. Daemons,
# images and configs come from the shared toolkit (../shared/tools/managers).
#   HAKO=/path/to/hako (default dist/hako)  RUNC=/path/to/runc  MGR_TOOLKIT=dir
set -u
RUNS=${1:-20}
REPO=$(cd "$(dirname "$0")/.." && pwd -P)
HAKO=${HAKO:-$REPO/dist/hako}
RUNC=${RUNC:-$(command -v runc)}
MGR_TOOLKIT=${MGR_TOOLKIT:-$(cd "$REPO/../shared/tools/managers" 2> /dev/null && pwd -P || echo /work/shared/tools/managers)}
export MGR_DIR=${MGR_DIR:-/tmp/hako-bench-mgr} MGR_WRAP=0
mkdir -p "$MGR_DIR/bin"
RT=$MGR_DIR/bin/rt
use() { ln -sfn "$1" "$RT.new" && mv -T "$RT.new" "$RT"; }
use "$HAKO"
export RUNTIME=$RT
MGR=bench
. "$MGR_TOOLKIT/lib.sh"
mgr_env
mkdir -p "$LOGS"
LOG=$LOGS/bench.log
: > "$LOG"
"$MGR_TOOLKIT/setup.sh" > "$LOGS/setup.log" 2>&1 || die "setup.sh failed: see $LOGS/setup.log"

CTR_SOCK=$MGR_DIR/containerd/containerd.sock
CRI_SOCK=$MGR_DIR/cri/containerd.sock
export CONTAINERS_CONF=$MGR_DIR/podman/containers.conf CONTAINERS_STORAGE_CONF=$MGR_DIR/podman/storage.conf
# not exported: podman reads DOCKER_CONFIG too
dk() { DOCKER_HOST=unix://$MGR_DIR/docker/docker.sock DOCKER_CONFIG=$MGR_DIR/docker/cli docker "$@"; }
daemons=(
  "$MGR_DIR/containerd/containerd.pid|$MGR_DIR/containerd/config.toml"
  "$MGR_DIR/cri/containerd.pid|$MGR_DIR/cri/config.toml"
  "$MGR_DIR/docker/launch.pid|$MGR_DIR/docker/daemon.json"
)
# The cgroup parents the managers name (/docker, /libpod_parent, /k8s.io, ...) are made
# by the runtimes and left, as runc leaves them: the empty ones this run made go at the end.
cgroup_dirs() { find /sys/fs/cgroup -mindepth 1 -type d 2> /dev/null | sort; }
cgroups_before=$(mktemp)
cgroup_dirs > "$cgroups_before"
stop_all() {
  local d
  podman rm --force --all --time 0 > /dev/null 2>&1
  for d in "${daemons[@]}"; do stop_daemon "${d%%|*}" "${d#*|}"; done
  umount_under "$MGR_DIR" || echo "warning: mounts left under $MGR_DIR" >&2
  cgroup_dirs | comm -13 "$cgroups_before" - | sort -r | while read -r d; do
    rmdir "$d" 2> /dev/null || echo "warning: cgroup left: $d" >&2
  done
  rm -f "$cgroups_before"
}
trap stop_all EXIT
start_daemon "${daemons[0]%%|*}" "${daemons[0]#*|}" "$MGR_DIR/containerd/containerd.log" containerd --config "$MGR_DIR/containerd/config.toml"
start_daemon "${daemons[1]%%|*}" "${daemons[1]#*|}" "$MGR_DIR/cri/containerd.log" containerd --config "$MGR_DIR/cri/config.toml"
rm -f "$MGR_DIR/docker/dockerd.pid"
start_daemon "${daemons[2]%%|*}" "${daemons[2]#*|}" "$MGR_DIR/docker/dockerd.log" dockerd --config-file "$MGR_DIR/docker/daemon.json"
wait_for 30 ctr --address "$CTR_SOCK" version || die "containerd (ctr) did not start"
wait_for 30 ctr --address "$CRI_SOCK" version || die "containerd (CRI) did not start"
wait_for 30 dk version || die "dockerd did not start"
podman image exists localhost/bb:latest || podman load -i "$IMAGES/bb-image.tar" >> "$LOG" 2>&1
ctr -a "$CTR_SOCK" -n bench image import "$IMAGES/bb-image.tar" >> "$LOG" 2>&1
for i in pause bb; do ctr -a "$CRI_SOCK" -n k8s.io image import "$IMAGES/$i-image.tar" >> "$LOG" 2>&1; done
dk image inspect localhost/bb:latest > /dev/null 2>&1 || dk load -i "$IMAGES/bb-image.tar" >> "$LOG" 2>&1

n=0
case_podman() { podman --runtime custom run --rm localhost/bb echo hi; }
case_ctr() { n=$((n + 1)); ctr -a "$CTR_SOCK" -n bench run --runc-binary "$RT" --runc-root "$MGR_DIR/containerd/runc" --rm localhost/bb:latest "b$n" echo hi; }
case_docker() { dk run --runtime custom --network none --rm localhost/bb echo hi; }
case_cri() { node "$MGR_DIR/cri-client/cri-run.js" --socket "$CRI_SOCK" --handler custom --log-dir "$MGR_DIR/cri/pod-logs"; }

# time_case CASE: milliseconds, or "fail"
time_case() {
  local t0 t1
  t0=$(date +%s%N)
  if "case_$1" >> "$LOG" 2>&1; then
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
  else
    echo fail
  fi
}

results=$MGR_DIR/bench-results.txt
: > "$results"
for c in podman ctr docker cri; do
  time_case "$c" > /dev/null   # warm caches (images, seccomp program cache, page cache)
  for ((i = 0; i < RUNS; i++)); do
    if ((i % 2 == 0)); then order="hako runc"; else order="runc hako"; fi
    for r in $order; do
      if [ "$r" = hako ]; then use "$HAKO"; else use "$RUNC"; fi
      echo "$c $i $r $(time_case "$c")" >> "$results"
      sleep 0.2
    done
  done
done
use "$HAKO"

python3 - "$results" "$RUNS" <<'EOF'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(f"manager  runs  hako ms  runc ms  ratio of medians  median pair ratio  failures")
for c in ["podman", "ctr", "docker", "cri"]:
    got = {}
    fails = 0
    for m, i, r, v in (x for x in rows if x[0] == c):
        if v == "fail":
            fails += 1
            continue
        got.setdefault(i, {})[r] = int(v)
    pairs = [p for p in got.values() if len(p) == 2]
    if not pairs:
        print(f"{c:8} no complete pair ({fails} failures)")
        continue
    h = statistics.median(p["hako"] for p in pairs)
    rc = statistics.median(p["runc"] for p in pairs)
    pr = statistics.median(p["hako"] / p["runc"] for p in pairs)
    print(f"{c:8} {len(pairs):4}  {h:7.0f}  {rc:7.0f}  {h / rc:16.2f}  {pr:17.2f}  {fails:8}")
EOF
