// Namespace operations of stage 0: join the plan's namespace paths, create the user
// namespace (the parent writes its id maps), unshare the rest, set time offsets.
#pragma once

#include <stdint.h>

#include <string>

#include "common/plan.h"
#include "common/unique_fd.h"
#include "init/step.h"
#include "init/sync_io.h"

namespace hako {

// "mount, uts, net" for the CLONE_NEW* bits in flags.
std::string ns_names(uint64_t flags);

// True when the container runs in a user namespace, new or joined.
bool uses_user_ns(const Plan& plan);

// True when the container has a mount namespace of its own, created or joined by path.
bool has_mount_ns(const Plan& plan);

// A namespace opened by stage 0 (by its host path) and joined by the cloned process.
struct LateNamespace {
  unique_fd fd;
  std::string path;
};

// Opens every plan.join_ns path first (they are host paths, and opening them needs the
// host credentials), then setns()es them in order. After joining a user namespace the
// process becomes root in it. With cgroup_ns_later, the cgroup namespace is only opened:
// the cloned process joins it (join_late_namespace) once it is in its cgroup.
Result join_namespaces(const Plan& plan, LateNamespace* cgroup_ns_later = nullptr);

// setns() into the cgroup namespace join_namespaces left for later (none: nothing to do).
Result join_late_namespace(LateNamespace& ns);

// unshare(CLONE_NEWUSER); with FLAG_USERNS_MAPS, sends MSG_NEED_MAPS, waits for
// MSG_MAPS_WRITTEN and becomes root in the new namespace.
Result create_user_ns(const Plan& plan, SyncSocket& sync);

// Unshares the mount, uts, ipc, net, cgroup and time namespaces of plan.clone_flags in
// one call (CLONE_NEWPID is left to the clone of the init, CLONE_NEWUSER to
// create_user_ns, and the CLONE_NEW* bits of left_to_clone to the clone too), then (with
// a new time namespace) writes plan.time_offsets; must run before any child exists.
Result unshare_namespaces(const Plan& plan, uint64_t left_to_clone = 0);

// True in an init made by a rootless hako that joins no namespace by path: it is to be
// dumpable while it waits for `start`, so the user's `hako exec` may open its namespaces
// (create_user_ns; runc's init is dumpable then too).
bool rootless_dumpable();

}  // namespace hako
