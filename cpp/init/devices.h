// Device nodes and symlinks in the container's root (plan.devices, plan.symlinks),
// created by prepare_rootfs after the mounts.
#pragma once

#include "common/plan.h"
#include "init/pathrs.h"
#include "init/step.h"

namespace hako {

// mknod each device (mode, owner; an existing node is left alone), or, when Device.bind
// is set or mknod is not permitted (user namespace), bind-mount the host's node of the
// same path onto an empty file. The node's type and numbers are checked on the fd.
Result create_devices(const Root& root, const std::vector<Device>& devices);

// symlinkat(target, link); an existing link with the same target is fine, and an
// existing non-directory at /dev/ptmx is replaced (the image or a device entry may
// have one; the pts/ptmx link is what works with a new devpts instance).
Result create_symlinks(const Root& root, const std::vector<Symlink>& symlinks);

}  // namespace hako
