#include "init/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "init/mount_util.h"
#include "init/sys.h"


namespace hako {
namespace {

// Filled by stage 0, read by the init (a copy of stage 0's memory and fds after the clone).
std::vector<unique_fd> g_trees;   // by mount index: the bind trees
std::vector<int> g_userns;        // by mount index: the user namespace fd (owned by g_userns_by_map)
std::map<std::string, unique_fd> g_userns_by_map;

bool is_bind(const Mount& m) { return (m.ext & MOUNT_EXT_BIND) != 0 || (m.flags & MS_BIND) != 0 || m.type == "bind"; }

std::string describe(const Mount& m) {
  return "mount " + quote(m.source) + " (" + (m.type.empty() ? std::string(is_bind(m) ? "bind" : "none") : m.type) +
         ") on " + quote(m.destination) + idmap_where(m);
}

// Why mount_setattr(MOUNT_ATTR_IDMAP) said no, in words.
std::string refusal(int err) {
  switch (err) {
    case EINVAL: return ": id-map it: the kernel refuses (the filesystem cannot be id-mapped, or the mapping is the filesystem's own)";
    case EPERM: return ": id-map it: not permitted (it needs CAP_SYS_ADMIN over the filesystem: root on the host)";
    case ENOSYS: return ": id-map it: the kernel has no mount_setattr (Linux 5.12 or later)";
    default: return ": id-map it with mount_setattr(MOUNT_ATTR_IDMAP)";
  }
}

// A user namespace with the mount's mappings: a child cloned into a new user namespace
// waits on a pipe while its maps are written and its namespace opened, then leaves.
Result make_userns(const Mount& m, unique_fd* out) {
  const MountIdmap& im = *m.idmap;
  int fds[2], ready_fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return errno_error("mount", describe(m) + ": a pipe for the mapping's user namespace");
  unique_fd hold_read(fds[0]), hold_write(fds[1]);
  if (::pipe2(ready_fds, O_CLOEXEC) < 0) return errno_error("mount", describe(m) + ": a pipe for the mapping's user namespace");
  unique_fd ready_read(ready_fds[0]), ready_write(ready_fds[1]);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(CLONE_NEWUSER | SIGCHLD), nullptr, nullptr, nullptr, 0UL));
  if (pid < 0) return errno_error("mount", describe(m) + ": clone a process into a user namespace for the mapping");
  if (pid == 0) {
    hold_write.reset();
    ready_read.reset();
    // hako-init is not dumpable, which makes its /proc files root's on the host: the
    // parent, in the container's user namespace, could not write the maps.
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    while (::write(ready_write.get(), "1", 1) < 0 && errno == EINTR) {
    }
    char byte;
    while (::read(hold_read.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  hold_read.reset();
  ready_write.reset();
  char byte;
  while (::read(ready_read.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  Result result;
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  auto write = [&](const char* name, const std::string& text) -> bool {
    std::string path = proc + name;
    int err = write_file(path.c_str(), text);
    if (err == 0) return true;
    std::string field = std::string(name) == "uid_map" ? "uidMappings" : "gidMappings";
    result = step_error(err, "mount", describe(m) + ": write the mount's " + field + " to " + quote(path));
    return false;
  };
  // "deny" lets an unprivileged writer set a gid map; for root it changes nothing here.
  if (write("setgroups", "deny") && write("uid_map", im.uid_map) && write("gid_map", im.gid_map)) {
    out->reset(::open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!*out) result = errno_error("mount", describe(m) + ": open " + quote(proc + "ns/user"));
  }
  hold_write.reset();
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return result;
}

Result userns_for(const Mount& m, int* fd) {
  const MountIdmap& im = *m.idmap;
  const std::string key = im.userns_path.empty() ? std::to_string(im.flags & MOUNT_IDMAP_IN_CONTAINER) + "maps:" + im.uid_map + "|" + im.gid_map : "path:" + im.userns_path;
  auto it = g_userns_by_map.find(key);
  if (it != g_userns_by_map.end()) {
    *fd = it->second.get();
    return std::nullopt;
  }
  unique_fd ns;
  if (!im.userns_path.empty()) {
    ns.reset(::open(im.userns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return errno_error("mount", describe(m) + ": open the user namespace " + quote(im.userns_path));
  } else if (Result r = make_userns(m, &ns)) {
    return r;
  }
  *fd = ns.get();
  g_userns_by_map.emplace(key, std::move(ns));
  return std::nullopt;
}

Result set_idmap(const Mount& m, int tree, int userns) {
  const bool recursive = (m.idmap->flags & MOUNT_IDMAP_RECURSIVE) != 0;
  if (sys_mount_setattr_idmap(tree, recursive, userns) < 0) {
    int err = errno;
    return step_error(err, "mount", describe(m) + refusal(err));
  }
  return std::nullopt;
}

}  // namespace

std::string idmap_where(const Mount& m) { return m.idmap && !m.idmap->pointer.empty() ? " (" + m.idmap->pointer + ")" : ""; }

Result prepare_idmapped_mounts(const Plan& plan, bool in_container) {
  if (g_userns.size() != plan.mounts.size()) {
    g_trees.clear();
    g_trees.resize(plan.mounts.size());
    g_userns.assign(plan.mounts.size(), -1);
  }
  for (size_t i = 0; i < plan.mounts.size(); i++) {
    const Mount& m = plan.mounts[i];
    if (!m.idmap || ((m.idmap->flags & MOUNT_IDMAP_IN_CONTAINER) != 0) != in_container) continue;
    if (Result r = userns_for(m, &g_userns[i])) return r;
    if (!is_bind(m)) continue;
    unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m.flags & MS_REC) ? AT_RECURSIVE : 0);
    unique_fd tree(sys_open_tree(AT_FDCWD, m.source.c_str(), flags));
    if (!tree) return errno_error("mount", describe(m) + ": open_tree(OPEN_TREE_CLONE) of the source");
    if (Result r = set_idmap(m, tree.get(), g_userns[i])) return r;
    g_trees[i] = std::move(tree);
  }
  return std::nullopt;
}

unique_fd take_idmapped_tree(size_t index) {
  if (index >= g_trees.size()) return unique_fd();
  return std::move(g_trees[index]);
}

Result idmap_in_place(const Mount& m, size_t index, int under, unique_fd* handle) {
  if (index >= g_userns.size() || g_userns[index] < 0) {
    return step_error(0, "mount", describe(m) + ": no user namespace was prepared for its mapping");
  }
  const bool recursive = (m.idmap->flags & MOUNT_IDMAP_RECURSIVE) != 0;
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  unique_fd tree(sys_open_tree(handle->get(), "", flags));
  if (!tree) return errno_error("mount", describe(m) + ": open_tree(OPEN_TREE_CLONE) of the new mount");
  if (Result r = set_idmap(m, tree.get(), g_userns[index])) return r;
  ProcFdPath old(handle->get());
  if (::umount2(old.c_str(), MNT_DETACH) < 0) return errno_error("mount", describe(m) + ": detach the mount before the id-mapped copy goes in");
  if (sys_move_mount(tree.get(), "", under, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    return errno_error("mount", describe(m) + ": move the id-mapped copy in place");
  }
  *handle = std::move(tree);
  return std::nullopt;
}

}  // namespace hako
