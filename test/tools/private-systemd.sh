#!/bin/bash
# A real systemd as PID 1 of private namespaces, for the tests of the systemd cgroup
# driver (test/helpers/private-systemd.ts starts it, finds its pid, kills and cleans up).
#
#   private-systemd.sh <legacy|hybrid|unified> <cgroup dir>...
#
# Each <cgroup dir> is a new, empty cgroup (one per hierarchy of the host) this shell
# moves itself into first, so the cgroup namespace made below is rooted there and the
# systemd's units stay inside it.
#
# Before systemd starts, inside a private mount namespace (nothing propagates to the
# host): the host's cgroup mounts are replaced by an empty tmpfs (systemd mounts its own
# hierarchies, rooted at the namespace's root), and /tmp, /var/tmp, /run, /var/log and
# /var/lib/systemd get fresh tmpfs: at boot systemd empties /tmp, which once wiped the
# host's. The shell checks that each is a new mount before it execs systemd, and exits
# otherwise. basic.target only (the default target starts every service installed);
# `container=` makes systemd behave as in a container (no udev) and read its "kernel
# command line" from its own: there the hierarchy mode, and the units of basic.target that
# would change the host's kernel settings, modules, /dev or root mount, or start services
# on a timer, are masked; /proc/sys is read-only besides.
set -euo pipefail

mode=$1
shift
case "$mode" in
  legacy) hierarchy="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1" ;;
  hybrid) hierarchy="systemd.unified_cgroup_hierarchy=0" ;;
  unified) hierarchy="systemd.unified_cgroup_hierarchy=1" ;;
  *) echo "private-systemd.sh: unknown mode $mode" >&2; exit 2 ;;
esac

for dir in "$@"; do
  echo $$ > "$dir/cgroup.procs"
done

# The world dies with the test: setpriv makes unshare get SIGKILL when its parent (the
# test) dies, and --kill-child passes that on to systemd, whose death ends the namespace.
exec setpriv --pdeathsig KILL unshare --kill-child=SIGKILL --pid --fork --mount --cgroup --uts --ipc --propagation private --mount-proc \
  /usr/bin/env -i container=hako-test PATH=/usr/sbin:/usr/bin:/sbin:/bin HIERARCHY="$hierarchy" \
  /bin/bash -c '
set -euo pipefail
fresh() {
  local where=$1 mode=$2 before
  before=$(stat -c %d "$where")
  mount -t tmpfs -o "mode=$mode" hako-private-systemd "$where"
  if [ "$(stat -c %d "$where")" = "$before" ]; then
    echo "private-systemd.sh: $where is not a new mount" >&2
    exit 1
  fi
}
umount -R /sys/fs/cgroup
fresh /sys/fs/cgroup 755
fresh /tmp 1777
fresh /var/tmp 1777
fresh /run 755
fresh /var/log 755
mkdir -p /var/lib/systemd
fresh /var/lib/systemd 755
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
hostname hako-private-systemd
masks=
for unit in timers.target systemd-sysctl.service systemd-modules-load.service systemd-remount-fs.service \
  systemd-tmpfiles-setup-dev.service systemd-binfmt.service systemd-update-utmp.service systemd-random-seed.service \
  systemd-journal-flush.service docker.socket podman.socket systemd-ask-password-console.path; do
  masks="$masks systemd.mask=$unit"
done
exec /lib/systemd/systemd --system --unit=basic.target $HIERARCHY $masks
'
