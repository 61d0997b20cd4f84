#include "init/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init/mount_util.h"

namespace hako {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// The directory that will hold path's last component (created as needed, inside root)
// and that component's name.
Result open_parent(const Root& root, const std::string& path, const char* step, unique_fd* dir,
                   std::string* name) {
  std::string clean = clean_path(path);
  size_t slash = clean.rfind('/');
  *name = clean.substr(slash + 1);
  if (name->empty()) return step_error(EINVAL, step, std::string(step) + " " + quoted(path));
  InRoot parent;
  if (Result r = resolve_in_root(root, clean.substr(0, slash), Create::kDir, &parent)) return r;
  struct stat st;
  if (::fstat(parent.fd.get(), &st) < 0) return step_error(errno, "open", "open " + quoted(path));
  if (!S_ISDIR(st.st_mode)) {
    return step_error(ENOTDIR, "mkdir", "mkdir " + quoted(clean.substr(0, slash)));
  }
  *dir = std::move(parent.fd);
  return std::nullopt;
}

mode_t file_type(uint32_t type) {
  switch (type) {
    case 'c': case 'u': return S_IFCHR;
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: return 0;
  }
}

bool same_node(const struct stat& st, const Device& d) {
  mode_t want = file_type(d.type);
  if ((st.st_mode & S_IFMT) != want) return false;
  return want == S_IFIFO || st.st_rdev == makedev(d.major, d.minor);
}

std::string describe_node(const Device& d) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%c %u:%u", static_cast<char>(d.type), d.major, d.minor);
  return buf;
}

// Bind the host's node at d.path onto an empty file at dir/name.
Result bind_device(int dir, const std::string& name, const Device& d) {
  std::string what = "bind " + quoted(d.path) + " on " + quoted(d.path);
  bool is_tree = false;
  unique_fd src = clone_tree(AT_FDCWD, d.path.c_str(), false, &is_tree);
  if (!src) return step_error(errno, "mount", what);
  struct stat st;
  if (::fstat(src.get(), &st) < 0) return step_error(errno, "mount", what);
  if (!same_node(st, d)) {
    return step_error(0, "mount", what + ": the host's node is not " + describe_node(d));
  }
  // mknod of a regular file needs no privilege; an existing file or node is reused.
  if (::mknodat(dir, name.c_str(), S_IFREG | 0, 0) < 0 && errno != EEXIST) {
    return step_error(errno, "mknod", "mknod " + quoted(d.path));
  }
  unique_fd dst(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) return step_error(errno, "open", "open " + quoted(d.path));
  if (::fstat(dst.get(), &st) < 0) return step_error(errno, "open", "open " + quoted(d.path));
  if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) {
    return step_error(S_ISDIR(st.st_mode) ? EISDIR : ELOOP, "mount", what);
  }
  if (int err = attach_bind(src.get(), is_tree, dst.get(), false)) return step_error(err, "mount", what);
  return std::nullopt;
}

Result create_device(const Root& root, const Device& d) {
  if (d.path.empty()) return std::nullopt;  // a cgroup-only entry
  std::string what = "mknod " + quoted(d.path);
  mode_t type = file_type(d.type);
  if (type == 0) return step_error(EINVAL, "mknod", what + ": unknown device type " + describe_node(d));
  unique_fd dir;
  std::string name;
  if (Result r = open_parent(root, d.path, "mknod", &dir, &name)) return r;
  if (d.bind) return bind_device(dir.get(), name, d);

  dev_t dev = type == S_IFIFO ? 0 : makedev(d.major, d.minor);
  if (::mknodat(dir.get(), name.c_str(), type | (d.mode & 07777), dev) < 0) {
    if (errno == EEXIST) return std::nullopt;
    if (errno == EPERM) return bind_device(dir.get(), name, d);
    return step_error(errno, "mknod", what);
  }
  // Check what we made before changing it: type and numbers, then mode (umask) and owner.
  unique_fd node(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node) return step_error(errno, "mknod", what);
  struct stat st;
  if (::fstat(node.get(), &st) < 0) return step_error(errno, "mknod", what);
  if (!same_node(st, d)) return step_error(0, "mknod", what + ": the new node is not " + describe_node(d));
  ProcFdPath path(node.get());
  if (::fchmodat(AT_FDCWD, path.c_str(), d.mode & 07777, 0) < 0) return step_error(errno, "mknod", "chmod " + quoted(d.path));
  if (::fchownat(node.get(), "", d.uid, d.gid, AT_EMPTY_PATH) < 0) {
    return step_error(errno, "mknod", "chown " + quoted(d.path));
  }
  return std::nullopt;
}

bool link_points_to(int dir, const std::string& name, const std::string& target) {
  std::string buf(target.size() + 2, '\0');
  ssize_t n = ::readlinkat(dir, name.c_str(), buf.data(), buf.size());
  return n >= 0 && static_cast<size_t>(n) == target.size() && buf.compare(0, target.size(), target) == 0;
}

Result create_symlink(const Root& root, const Symlink& s) {
  std::string what = "symlink " + quoted(s.link) + " -> " + quoted(s.target);
  unique_fd dir;
  std::string name;
  if (Result r = open_parent(root, s.link, "symlink", &dir, &name)) return r;
  if (::symlinkat(s.target.c_str(), dir.get(), name.c_str()) == 0) return std::nullopt;
  if (errno != EEXIST) return step_error(errno, "symlink", what);
  if (link_points_to(dir.get(), name, s.target)) return std::nullopt;
  if (clean_path(s.link) == "/dev/ptmx") {
    struct stat st;
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
        ::unlinkat(dir.get(), name.c_str(), 0) == 0 &&
        ::symlinkat(s.target.c_str(), dir.get(), name.c_str()) == 0) {
      return std::nullopt;
    }
  }
  return step_error(EEXIST, "symlink", what);
}

}  // namespace

Result create_devices(const Root& root, const std::vector<Device>& devices) {
  for (const Device& d : devices) {
    if (Result r = create_device(root, d)) return r;
  }
  return std::nullopt;
}

Result create_symlinks(const Root& root, const std::vector<Symlink>& symlinks) {
  for (const Symlink& s : symlinks) {
    if (Result r = create_symlink(root, s)) return r;
  }
  return std::nullopt;
}

}  // namespace hako
