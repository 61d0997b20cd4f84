// Id-mapped mounts (runtime-spec 1.2 mounts[].uidMappings/gidMappings, "idmap"/"ridmap").
//
// mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN in the user namespace that owns the
// filesystem (the host's, for a host directory) and a mount nobody has seen yet (a
// detached tree). So stage 0, before it joins or creates any namespace, makes for each
// id-mapped mount a user namespace with the mount's mappings (a child that exists only
// to hold them, as runc 1.2 does) and, for a bind mount, the detached id-mapped copy of
// its source (open_tree(OPEN_TREE_CLONE)). The init inherits the fds and attaches the
// tree where the mount goes. A mount of another type is made by the init, cloned into a
// detached tree, id-mapped there and put in its place (where the filesystem allows it).
#pragma once

#include <stddef.h>

#include "common/plan.h"
#include "common/unique_fd.h"
#include "init/step.h"

namespace hako {

// In stage 0, with the host's credentials (in_container false, before any namespace is
// joined or made): the user namespaces and the bind trees of the mounts with an idmap.
// Then, once stage 0 is in the container's new user namespace (in_container true), the
// user namespaces of those marked MOUNT_IDMAP_IN_CONTAINER: children of the container's,
// which the init controls. An error names the mount ("/mounts/N") and what failed.
Result prepare_idmapped_mounts(const Plan& plan, bool in_container);

// The detached, id-mapped tree prepared for plan.mounts[index] (a bind mount): the
// caller owns it now. An empty fd when there is none.
unique_fd take_idmapped_tree(size_t index);

// For a mount that is not a bind: id-map the mount `handle` refers to, which stands on
// the directory `under`. It is cloned into a detached tree, the tree id-mapped, the mount
// detached and the tree moved in its place; *handle becomes the tree.
Result idmap_in_place(const Mount& m, size_t index, int under, unique_fd* handle);

// " (/mounts/N)" for messages about an id-mapped mount, "" for others.
std::string idmap_where(const Mount& m);

}  // namespace hako
