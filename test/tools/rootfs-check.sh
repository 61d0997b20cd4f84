#!/bin/bash
# Checks cpp/init/rootfs.cc with test/tools/rootfs-harness.cc: every scenario runs in a
# fresh copy of the cached test rootfs (test/helpers/rootfs.ts builds it), and the
# output, exit code and host side are asserted. Needs root. A development tool, not
# part of `npm test`:
#
#   sudo test/tools/rootfs-check.sh [rootfs-dir]
#
# Every copy, mount and process is gone afterwards (asserted at the end).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${1:-$(ls -d "${HAKO_TEST_CACHE:-/tmp/hako-test-cache}"/rootfs-* 2>/dev/null | head -1)}
[ "$(id -u)" = 0 ] || { echo "rootfs-check: needs root"; exit 0; }
[ -d "$SRC" ] || { echo "rootfs-check: no test rootfs (run the integration tests once)"; exit 1; }

WORK=$(mktemp -d /tmp/hako-rootfs-check.XXXXXX)
HOSTSRC=$WORK/locked-src
ESCAPE=/tmp/hako-escape-$$
cleanup() {
  mountpoint -q "$HOSTSRC" && umount "$HOSTSRC"
  rm -rf "$WORK" "$ESCAPE"
}
trap cleanup EXIT

g++ -std=c++20 -O1 -Wall -Wextra -Werror -fno-exceptions -I "$REPO/cpp" -static -o "$WORK/harness" \
  "$REPO/test/tools/rootfs-harness.cc" "$REPO"/cpp/init/{rootfs,pathrs,mount_util,devices}.cc \
  "$REPO/cpp/common/plan.cc" || exit 1

pass=0
fail=0
# run <name> <want-rc> <setup (in the rootfs)> <scenario> [harness args...]: the output,
# with the rootfs path removed, in $OUT; the rootfs copy in $HOST until done_.
run() {
  local name=$1 want=$2 setup=$3 scenario=$4
  shift 4
  local dir rc
  dir=$(mktemp -d "$WORK/run.XXXX")
  cp -a "$SRC" "$dir/rootfs"
  (cd "$dir/rootfs" && eval "$setup")
  "$WORK/harness" "$scenario" "$dir/rootfs" "$@" >"$dir/out" 2>&1 </dev/null
  rc=$?
  OUT=$(sed "s|$dir/rootfs||g" "$dir/out")
  HOST=$dir/rootfs
  CUR=$name
  CUR_FAILED=
  [ "$rc" = "$want" ] || bad "exit $rc, want $want"
  if grep -q "$dir" /proc/self/mountinfo; then bad "mounts left on the host"; fi
}
bad() {
  echo "not ok $CUR: $1"
  echo "$OUT" | sed 's/^/    /'
  fail=$((fail + 1))
  CUR_FAILED=1
}
has() { grep -qF -- "$1" <<<"$OUT" || bad "no \"$1\" in the output"; }
hasnt() { ! grep -qF -- "$1" <<<"$OUT" || bad "\"$1\" in the output"; }
done_() {
  if [ -z "${CUR_FAILED:-}" ]; then echo "ok $CUR"; pass=$((pass + 1)); fi
  rm -rf "$(dirname "$HOST")"
}

SH='cat /proc/self/mountinfo; ls -la /dev'
for mode in "" --userns --old-kernel; do
  run "default $mode" 0 '' default $mode -- /bin/sh -c "$SH"
  has ' / ro,relatime'
  has ' /proc rw,relatime - proc proc'
  has ' /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755'
  has ' /dev/pts rw,nosuid,noexec,relatime - devpts devpts'
  has ' /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k'
  has ' /sys ro,nosuid,nodev,noexec,relatime'
  has ' /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755'
  has '/sys /proc/sys ro,relatime - proc proc'
  has ' /proc/acpi ro,relatime - tmpfs'
  has '/null /proc/keys '
  has ' /sys/firmware ro,relatime - tmpfs'
  has 'ptmx -> pts/ptmx'
  has 'stdin -> /proc/self/fd/0'
  has '1,   3'
  [ "$mode" = --userns ] && has '/null /dev/null rw,relatime - devtmpfs'
  done_
done

run nopivot 0 '' nopivot -- /bin/sh -c "$SH"
has ' /proc rw,relatime - proc proc'
has '/null /proc/keys '
done_

run "nopivot --userns" 0 '' nopivot --userns -- /bin/sh -c "$SH"
has ' /proc rw,relatime - proc proc'
done_

# Symlinks in the image that point out of it land inside it.
escape_setup="ln -s / evil; ln -s ../../../$ESCAPE evil2; ln -s /etc/../.. evil3; ln -s /nonexistent/deep dangling"
for mode in "" --old-kernel; do
  run "escape $mode" 0 "$escape_setup" escape $mode -- /bin/cat /proc/self/mountinfo
  has ' /mnt-a rw,relatime - tmpfs'
  has " $ESCAPE/mnt-b rw,relatime - tmpfs"
  has "/etc/hostname $ESCAPE/deeper/file rw"
  has '/etc/hostname /file ro,relatime'
  has ' /nonexistent/deep/sub rw,relatime - tmpfs'
  [ -e "$ESCAPE" ] && bad "$ESCAPE was made on the host"
  [ -f "$HOST/$ESCAPE/deeper/file" ] || bad "no $ESCAPE/deeper/file in the rootfs"
  done_
done

# CVE-2019-16884: only a real procfs on /proc, nothing else in it.
for s in proc-sys tmpfs-proc bind-proc; do
  run "$s refused" 3 '' "$s"
  has '/proc must be a real procfs'
  done_
done
run "symlink-proc refused" 3 'ln -s /proc/sys fakeproc' symlink-proc
has 'refusing to mount "tmpfs" on "/fakeproc" (resolved to "/proc/sys"): /proc must be a real procfs'
done_
run bind-hostproc 0 '' bind-hostproc -- /bin/cat /proc/self/mountinfo
has ' /proc rw,relatime - proc proc'
done_
run "lxcfs allowed" 0 '' lxcfs -- /bin/cat /proc/self/mountinfo
has '/etc/hostname /proc/uptime rw'
done_

# CVE-2025-31133: masking with a /dev/null that is not the null device is refused.
for setup in 'ln -s /etc/passwd dev/null' 'touch dev/null' 'ln -s /proc/self/fd/0 dev/null'; do
  run "bad /dev/null: $setup" 5 "rm -rf dev/null; $setup" devnull-symlink -- /bin/echo ran
  has 'harness: mask: mask "/proc/keys"'
  hasnt ran
  done_
done
run "good /dev/null" 0 'rm -rf dev/null; mknod dev/null c 1 3' devnull-symlink -- /bin/cat /proc/self/mountinfo
has '/dev/null /proc/keys rw'
done_

features_setup='mknod dev/null c 1 3; mkdir -p etc/sub; echo hi > etc/sub/f; chmod 0640 etc/sub/f; chown 1000:100 etc/sub/f; ln -s ../passwd etc/sub/lnk; mkfifo etc/fifo; chmod 1750 etc/sub; chown 1000:1000 etc/sub; chmod 0711 etc'
features_sh='cat /proc/self/mountinfo; ls -ln /etc /etc/sub /data; readlink /etc/sub/lnk; cat /etc/sub/f; touch /etc/new /data/cg-ro/x /data/cg-rro/cpu/x /data/new /data/shared/new; wc -c < /data/hostname'
for mode in "" --old-kernel; do
  run "features $mode" 0 "$features_setup" features $mode -- /bin/sh -c "$features_sh"
  has ' /etc ro,nosuid,relatime - tmpfs tmpfs rw,size=1024k,mode=711'   # tmpcopyup, mode kept, ro at the end
  has 'drwxr-x--T    2 1000     1000'                                    # copied dir: mode, owner
  has '-rw-r-----    1 1000     100 '                                    # copied file
  has 'prw-r--r--'                                                       # copied fifo
  has '../passwd'                                                        # copied symlink
  has 'prw-------    1 1000     1000 '                                   # plan device (fifo) with owner
  has 'link -> hostname'
  has ' /data/cg-ro ro,nosuid,relatime'                                  # bind remounted with its options
  has ' /data/cg-rro/cpu ro,relatime - cgroup'                           # rro reaches submounts
  has ' /data/shared rw,nosuid,noexec,relatime shared:'                  # attr_set + propagation
  has "/etc/new: Read-only file system"
  has "/data/cg-ro/x: Read-only file system"
  has "/data/cg-rro/cpu/x: Read-only file system"
  has "/data/new: Read-only file system"                                 # readonly path
  has ' /data/shared ro,relatime shared:'                                # masked directory
  has '/dev/null /data/hostname rw'                                      # masked file
  done_
done

mkdir -p "$HOSTSRC" && mount -t tmpfs -o nosuid,nodev,noexec,noatime tmpfs "$HOSTSRC"
export HARNESS_SRC=$HOSTSRC
run "locked flags kept in a user namespace" 0 '' locked --userns -- /bin/cat /proc/self/mountinfo
has ' /data/cpu ro,nosuid,nodev,noexec,noatime - tmpfs'
has '/zero /dev/zero rw'                                                 # mknod refused: bind
done_
run "flags not locked without one" 0 '' locked -- /bin/cat /proc/self/mountinfo
has ' /data/cpu ro,noatime - tmpfs'
done_
run "locked atime cannot change" 3 '' locked-atime --userns
has 'remount with its options: Operation not permitted'
done_
unset HARNESS_SRC
umount "$HOSTSRC"

run "missing bind source" 3 '' missing-source
has 'harness: mount: mount "/nonexistent/src" (bind) on "/data/x": No such file or directory'
done_
run "dangling resolv.conf link" 0 'ln -s ../run/resolv.conf etc/resolv.conf' resolv -- /bin/cat /proc/self/mountinfo
has '/etc/hostname /run/resolv.conf ro'
done_
run "rshared root" 0 '' rshared -- /bin/sh -c 'head -1 /proc/self/mountinfo'
has ' / ro,relatime shared:'
done_

CUR=leftovers
OUT=$(grep -E "hako-rootfs-check|$ESCAPE" /proc/self/mountinfo)
[ -z "$OUT" ] || bad "mounts left on the host"
echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
