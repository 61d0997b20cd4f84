// Paths inside the container's root, resolved by file descriptor.
//
// Every path hako-init touches in the container's root filesystem (mount destinations,
// device nodes, symlinks, masked and read-only paths) is resolved here, with the root
// acting as "/" for every symlink and ".." on the way (openat2 RESOLVE_IN_ROOT), and
// the result is an O_PATH descriptor that the caller mounts onto through
// /proc/self/fd/N. Nothing is ever re-resolved from a string after it was checked
// (CVE-2021-30465).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "init/step.h"

namespace hako {

// The root a path is resolved in: an O_PATH directory fd and where it is, as the
// kernel names it (readlink of /proc/self/fd/N), to tell a resolved fd's path inside it.
struct Root {
  int fd = -1;
  std::string real;  // "/" after pivot_root
};

// Opens `path` (absolute, on the host or in the current root) as a Root.
Result open_root(const std::string& path, unique_fd* fd, Root* root);

// "/a//b/./c/../d/" -> "/a/b/d"; ".." never climbs above "/". The result is absolute.
std::string clean_path(std::string_view path);

// Splits a clean absolute path into its components ("/" -> none).
std::vector<std::string> path_components(std::string_view clean);

enum class Create {
  kNone,  // the path must exist (ENOENT otherwise)
  kDir,   // create missing components, the last one as a directory (0755)
  kFile,  // create missing parents as directories, the last one as an empty file (0644)
};

// The result of a resolution: the final component, held by O_PATH fds.
struct InRoot {
  unique_fd parent;   // the directory that holds it (O_PATH)
  std::string name;   // its name in parent ("" when the path is the root itself)
  unique_fd fd;       // the final component itself (O_PATH, symlinks followed)
  bool created = false;
};

// Resolves `path` inside `root`: every symlink (also the last component) is followed as
// if root were "/", magic links of procfs are refused (ELOOP), missing components are
// created when asked, each one with mkdirat/openat relative to the fd of its parent.
// On failure the error's step is "open" or "mkdir" and its message names the path
// inside the root.
Result resolve_in_root(const Root& root, std::string_view path, Create create, InRoot* out);

// Where fd is, as a path inside root ("/" for the root itself); nullopt when it is not
// inside root (or /proc/self/fd cannot tell).
std::optional<std::string> path_in_root(const Root& root, int fd);

// readlink("/proc/self/fd/<fd>").
std::optional<std::string> fd_path(int fd);

}  // namespace hako
