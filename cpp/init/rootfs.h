// The root filesystem of the container: everything hako-init does in the container's
// mount namespace. Called by the init (stage 2) in this order:
//   prepare_rootfs  -> (parent runs prestart/createRuntime hooks) -> enter_rootfs
//   -> console, hostname, sysctls (init.cc) -> finalize_rootfs
#pragma once

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// Already in the container's mount namespace (when there is one): make "/" MS_SLAVE|MS_REC
// (or plan.root_propagation), bind the rootfs onto itself (without a mount namespace: the
// bind only, made MS_PRIVATE|MS_REC, "/" left alone), perform every plan.mounts entry
// (each destination resolved inside the rootfs, never through a symlink out of it;
// mountpoints created as a directory or a file to match the source), then, with
// FLAG_SETUP_DEV, the devices (mknod, or a bind of the host node when Device.bind) and
// plan.symlinks. Nothing is pivoted yet.
Result prepare_rootfs(const Plan& plan);

// pivot_root into the rootfs and detach the old root (or MS_MOVE + chroot with
// FLAG_NO_PIVOT, or plain chroot without a mount namespace); chdir("/").
Result enter_rootfs(const Plan& plan);

// After pivot: masked paths (/dev/null bind for files, read-only tmpfs for directories),
// read-only paths (bind + remount ro), and with FLAG_ROOT_READONLY remount "/" read-only.
Result finalize_rootfs(const Plan& plan);

}  // namespace hako
