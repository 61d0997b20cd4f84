// The container's root filesystem: prepare_rootfs, enter_rootfs, finalize_rootfs.
// Behaviour follows runc's libcontainer/rootfs_linux.go; every path in the container is
// resolved by pathrs.h and mounted onto by fd.
#include "init/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "init/devices.h"
#include "init/idmap.h"
#include "init/mount_util.h"
#include "init/namespaces.h"
#include "init/pathrs.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x00000070
#endif

namespace hako {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

bool is_bind(const Mount& m) {
  return (m.ext & MOUNT_EXT_BIND) != 0 || (m.flags & MS_BIND) != 0 || m.type == "bind";
}

std::string mount_type(const Mount& m) {
  if (!m.type.empty()) return m.type;
  return is_bind(m) ? "bind" : "none";
}

// mount "<source>" (<type>) on "<destination>"
std::string describe(const Mount& m) {
  return "mount " + quoted(m.source) + " (" + mount_type(m) + ") on " + quoted(m.destination) + idmap_where(m);
}

Result mount_error(int err, const Mount& m, const std::string& detail = {}) {
  return step_error(err, "mount", describe(m) + detail);
}

// Paths under /proc that may be mounted over: what lxcfs emulates (as runc allows).
constexpr const char* kProcAllowList[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",    "/proc/stat",
    "/proc/swaps",   "/proc/uptime",    "/proc/loadavg",    "/proc/slabinfo",
    "/proc/sys/kernel/ns_last_pid",     "/proc/sys/crypto/fips_enabled",
};

// CVE-2019-16884: only a real procfs goes on /proc (a new proc mount, or a bind of a
// procfs), and nothing else goes under it. `real` is where the destination resolved to.
Result check_proc(const Mount& m, const std::string& real, bool bind, int src) {
  bool ok = true;
  if (real == "/proc") {
    if (bind) {
      struct statfs st;
      ok = ::fstatfs(src, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
    } else {
      ok = m.type == "proc";
    }
  } else if (real.compare(0, 6, "/proc/") == 0) {
    ok = false;
    for (const char* allowed : kProcAllowList) {
      if (real == allowed) ok = true;
    }
  }
  if (ok) return std::nullopt;
  std::string where = quoted(m.destination);
  if (clean_path(m.destination) != real) where += " (resolved to " + quoted(real) + ")";
  return step_error(0, "mount",
                    "refusing to mount " + quoted(mount_type(m)) + " on " + where + ": /proc must be a real procfs");
}

// CVE-2019-16884, as runc: a procfs or sysfs goes on an ordinary directory of the rootfs,
// never through a symlink in its place (nor onto a file). A destination not there yet
// is created as a directory.
Result check_ordinary_dir(const Root& root, const Mount& m, const std::string& dest) {
  size_t slash = dest.rfind('/');
  if (slash == std::string::npos || slash + 1 == dest.size()) return std::nullopt;
  InRoot parent;
  if (resolve_in_root(root, slash == 0 ? "/" : dest.substr(0, slash), Create::kNone, &parent)) return std::nullopt;
  struct stat st;
  if (::fstatat(parent.fd.get(), dest.c_str() + slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
    return std::nullopt;
  }
  return mount_error(0, m, ": filesystem " + quoted(mount_type(m)) + " must be mounted on ordinary directory");
}

// After mount(2) onto dst.fd, dst.fd still names the directory underneath; the new mount
// is what a lookup of the same name in the same parent finds now.
Result open_new_mount(const InRoot& dst, const Mount& m, unique_fd* out) {
  out->reset(::openat(dst.parent.get(), dst.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!*out) return mount_error(errno, m, ": reopen the new mount");
  std::optional<uint64_t> below = mount_id_of(dst.fd.get());
  std::optional<uint64_t> top = mount_id_of(out->get());
  if (below && top && *below == *top) return mount_error(EXDEV, m, ": the new mount is not where it was made");
  return std::nullopt;
}

// A bind mount of src (a tree from clone_tree, or a plain fd) onto dst, then the flags.
Result bind_onto(const Mount& m, unique_fd src, bool is_tree, const InRoot& dst, unsigned long flags,
                 unique_fd* handle) {
  const bool rec = (flags & MS_REC) != 0;
  if (int err = attach_bind(src.get(), is_tree, dst.fd.get(), rec)) return mount_error(err, m);
  if (is_tree) {
    *handle = std::move(src);
  } else if (Result r = open_new_mount(dst, m, handle)) {
    return r;
  }
  // A bind keeps the source's flags; only a remount applies the requested ones
  // (skipped when the options neither set nor cleared any, as runc does).
  if ((flags & ~static_cast<unsigned long>(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || (m.ext & MOUNT_EXT_REMOUNT) != 0) {
    if (int err = remount_bind(handle->get(), flags & ~static_cast<unsigned long>(MS_REC))) {
      return mount_error(err, m, ": remount with its options");
    }
  }
  return std::nullopt;
}

// tmpfs with MOUNT_EXT_TMPCOPYUP: what the rootfs had there is copied into the new tmpfs,
// read through an fd of the directory underneath taken before mounting.
Result mount_tmpcopyup(const Mount& m, const InRoot& dst, unsigned long flags, const std::string& data,
                       unique_fd* handle) {
  unique_fd under(::openat(dst.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!under) return mount_error(errno, m, ": open the directory to copy");
  struct stat ust;
  if (::fstat(under.get(), &ust) < 0) return mount_error(errno, m, ": open the directory to copy");
  if (mount_onto_fd(m.source.c_str(), dst.fd.get(), "tmpfs", flags, data.empty() ? nullptr : data.c_str()) < 0) {
    return mount_error(errno, m);
  }
  if (Result r = open_new_mount(dst, m, handle)) return r;
  unique_fd top(::openat(handle->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top) return mount_error(errno, m, ": open the new tmpfs");
  std::string where;
  if (int err = copy_tree(under.get(), top.get(), &where)) {
    return mount_error(err, m, ": copy up " + quoted(clean_path(m.destination + where)));
  }
  // The tmpfs root takes the directory's owner (best effort: the mode came from mode=).
  if (::fchown(top.get(), ust.st_uid, ust.st_gid) < 0) {
    // an id unmapped in a user namespace; the copy itself succeeded
  }
  return std::nullopt;
}

Result mount_entry(const Root& root, const Mount& m, size_t index) {
  const bool bind = is_bind(m);
  const std::string type = mount_type(m);
  const std::string dest = clean_path(m.destination);
  // A relative destination is taken from "/", as runc does (the spec asks for absolute).
  if (m.destination.empty()) return mount_error(EINVAL, m, ": no destination");

  // The source of a bind, held by fd from here on: a detached copy of its mount tree.
  unique_fd src;
  bool is_tree = false;
  Create create = Create::kDir;
  if (bind && m.idmap) {
    src = take_idmapped_tree(index);  // made by stage 0 (idmap.h)
    is_tree = true;
    if (!src) return mount_error(EBADF, m, ": the id-mapped tree was not prepared");
  } else if (bind) {
    src = clone_tree(AT_FDCWD, m.source.c_str(), (m.flags & MS_REC) != 0, &is_tree);
    if (!src) return mount_error(errno, m);
  }
  if (bind) {
    struct stat st;
    if (::fstat(src.get(), &st) < 0) return mount_error(errno, m);
    if (!S_ISDIR(st.st_mode)) create = Create::kFile;
  }

  // Refuse before creating anything when the destination is plainly in /proc; the
  // resolved path is checked again below.
  if (Result r = check_proc(m, dest, bind, src.get())) return r;
  if (!bind && (type == "proc" || type == "sysfs")) {
    if (Result r = check_ordinary_dir(root, m, dest)) return r;
  }
  InRoot dst;
  if (Result r = resolve_in_root(root, dest, create, &dst)) return r;
  std::optional<std::string> real = path_in_root(root, dst.fd.get());
  if (!real) return mount_error(EXDEV, m, ": the destination is outside the root filesystem");
  if (*real == "/") return mount_error(EINVAL, m, ": refusing to mount over the root filesystem itself");
  if (Result r = check_proc(m, *real, bind, src.get())) return r;

  struct stat dst_st;
  if (::fstat(dst.fd.get(), &dst_st) < 0) return mount_error(errno, m);
  if ((type == "proc" || type == "sysfs") && !S_ISDIR(dst_st.st_mode)) {
    return mount_error(0, m, ": filesystem " + quoted(type) + " must be mounted on ordinary directory");
  }

  std::string data = m.data;
  unsigned long flags = m.flags;
  if (!bind && type == "tmpfs" && !dst.created) {
    // A tmpfs over an existing directory keeps its mode unless the options say otherwise.
    char mode[24];
    snprintf(mode, sizeof(mode), "mode=%04o", static_cast<unsigned>(dst_st.st_mode & 07777));
    data = data.empty() ? std::string(mode) : std::string(mode) + "," + data;
  }
  // tmpfs and /dev stay writable until finalize_rootfs: devices, links and mounts go in.
  if (!bind && (type == "tmpfs" || dest == "/dev")) flags &= ~static_cast<unsigned long>(MS_RDONLY);

  unique_fd handle;  // the new mount, once something needs it
  if (bind) {
    if (Result r = bind_onto(m, std::move(src), is_tree, dst, flags, &handle)) return r;
  } else if (type == "tmpfs" && (m.ext & MOUNT_EXT_TMPCOPYUP) != 0) {
    if (Result r = mount_tmpcopyup(m, dst, flags, data, &handle)) return r;
  } else if (mount_onto_fd(m.source.c_str(), dst.fd.get(), type.c_str(), flags,
                           data.empty() ? nullptr : data.c_str()) < 0) {
    int err = errno;
    if (type != "cgroup2" || (err != EPERM && err != EBUSY)) return mount_error(err, m);
    // A user namespace without its own cgroup namespace cannot mount cgroup2: bind the
    // host's hierarchy instead, as runc does.
    src = clone_tree(AT_FDCWD, "/sys/fs/cgroup", false, &is_tree);
    if (!src) return mount_error(errno, m, ": bind \"/sys/fs/cgroup\" instead");
    if (Result r = bind_onto(m, std::move(src), is_tree, dst, flags | MS_BIND, &handle)) {
      r->message += " (a bind of \"/sys/fs/cgroup\" instead)";
      return r;
    }
  }

  if (!bind && m.idmap) {
    if (!handle) {
      if (Result r = open_new_mount(dst, m, &handle)) return r;
    }
    if (Result r = idmap_in_place(m, index, dst.fd.get(), &handle)) return r;
  }

  uint64_t attr_set = m.attr_set, attr_clr = m.attr_clr;
  if (m.ext & MOUNT_EXT_RRO) attr_set |= MOUNT_ATTR_RDONLY;
  if (m.ext & MOUNT_EXT_RRW) attr_clr |= MOUNT_ATTR_RDONLY;
  if (attr_set & MOUNT_ATTR__ATIME) attr_clr |= MOUNT_ATTR__ATIME;  // an atime mode replaces the old one
  if (!handle && (m.propagation != 0 || attr_set != 0 || attr_clr != 0)) {
    if (Result r = open_new_mount(dst, m, &handle)) return r;
  }
  if (m.propagation != 0 && mount_onto_fd(nullptr, handle.get(), nullptr, m.propagation, nullptr) < 0) {
    return mount_error(errno, m, ": set its propagation");
  }
  if ((attr_set | attr_clr) != 0 &&
      sys_mount_setattr(handle.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, attr_set, attr_clr, 0) < 0) {
    return mount_error(errno, m, ": set its attributes recursively");
  }
  return std::nullopt;
}

// The mount that holds path must not be shared: pivot_root refuses a shared parent, and
// the bind of the rootfs would propagate out. EINVAL means "not a mount point": go up.
Result make_parent_private(const std::string& rootfs, uint64_t root_propagation) {
  unsigned long flags = (root_propagation & MS_SLAVE) ? MS_SLAVE : MS_PRIVATE;
  std::string path = clean_path(rootfs);
  for (;;) {
    if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) == 0) return std::nullopt;
    if (errno != EINVAL || path == "/") break;
    size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return step_error(errno, "mount", "set propagation of " + quoted(path));
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// /proc/self/mountinfo fields are escaped as \ooo (space, tab, newline, backslash).
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct MountInfo {
  std::string root, mount_point, fs_type;
};

bool read_mountinfo(std::vector<MountInfo>* out) {
  unique_fd fd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
      size_t j = line.find(' ', i);
      if (j == std::string_view::npos) j = line.size();
      fields.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    size_t sep = 6;
    while (sep < fields.size() && fields[sep] != "-") sep++;
    if (fields.size() < 5 || sep + 1 >= fields.size()) continue;
    out->push_back({unescape_mountinfo(fields[3]), unescape_mountinfo(fields[4]), std::string(fields[sep + 1])});
  }
  return true;
}

bool is_under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// --no-pivot: MS_MOVE the rootfs onto "/" and chroot. First every full procfs and sysfs
// mount of the host is detached (or covered), as runc does: the kernel allows a new
// procfs/sysfs mount only where a full one is visible, and with chroot the host's would
// still be in this mount namespace.
Result move_root(const std::string& rootfs_real) {
  const std::string what = "pivot_root " + quoted(rootfs_real);
  std::vector<MountInfo> mounts;
  if (!read_mountinfo(&mounts)) return step_error(errno, "pivot_root", what + ": read /proc/self/mountinfo");
  for (const MountInfo& mi : mounts) {
    if (mi.root != "/" || (mi.fs_type != "proc" && mi.fs_type != "sysfs") || is_under(mi.mount_point, rootfs_real)) {
      continue;
    }
    const char* p = mi.mount_point.c_str();
    if (::mount(nullptr, p, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // under something detached already
      return step_error(errno, "pivot_root", what + ": make " + quoted(mi.mount_point) + " a slave");
    }
    if (::umount2(p, MNT_DETACH) < 0) {
      if (errno != EINVAL && errno != EPERM) {
        return step_error(errno, "pivot_root", what + ": unmount " + quoted(mi.mount_point));
      }
      if (::mount("tmpfs", p, "tmpfs", 0, nullptr) < 0) {
        return step_error(errno, "pivot_root", what + ": cover " + quoted(mi.mount_point));
      }
    }
  }
  // The cwd is the rootfs (fchdir by the caller).
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return step_error(errno, "pivot_root", what + ": move it to \"/\"");
  if (::chroot(".") < 0) return step_error(errno, "pivot_root", what + ": chroot");
  if (::chdir("/") < 0) return step_error(errno, "pivot_root", what + ": chdir \"/\"");
  return std::nullopt;
}

// pivot_root(".", "."): the rootfs becomes "/", the old root stays stacked under it
// (and is our cwd) until it is detached.
Result pivot(int rootfd, const std::string& rootfs) {
  const std::string what = "pivot_root " + quoted(rootfs);
  unique_fd oldroot(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!oldroot) return step_error(errno, "pivot_root", what + ": open \"/\"");
  if (::fchdir(rootfd) < 0) return step_error(errno, "pivot_root", what + ": chdir");
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return step_error(errno, "pivot_root", what);
  if (::fchdir(oldroot.get()) < 0) return step_error(errno, "pivot_root", what + ": chdir to the old root");
  // rslave first, so that detaching the old root does not propagate to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    return step_error(errno, "pivot_root", what + ": make the old root a slave");
  }
  if (::umount2(".", MNT_DETACH) < 0) return step_error(errno, "pivot_root", what + ": detach the old root");
  if (::chdir("/") < 0) return step_error(errno, "pivot_root", what + ": chdir \"/\"");
  return std::nullopt;
}

bool is_dev_null(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3); }

// fds 0-2 that are the host's /dev/null become the container's (checked to be 1:3).
Result reopen_dev_null() {
  unique_fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return step_error(errno, "open", "open \"/dev/null\"");
  struct stat st;
  if (::fstat(null.get(), &st) < 0 || !is_dev_null(st)) {
    return step_error(0, "open", "open \"/dev/null\": it is not the null device (1:3)");
  }
  for (int fd = 0; fd < 3; fd++) {
    if (::fstat(fd, &st) < 0) continue;  // closed: leave it
    if (is_dev_null(st) && ::dup3(null.get(), fd, 0) < 0) return step_error(errno, "open", "reopen \"/dev/null\"");
  }
  return std::nullopt;
}

// A path after pivot: resolved in the new root ("/"), nullopt-like ENOENT reported as
// *missing rather than an error.
Result resolve_existing(const Root& root, const std::string& path, const char* step, InRoot* out, bool* missing) {
  *missing = false;
  if (Result r = resolve_in_root(root, path, Create::kNone, out)) {
    if (r->err == ENOENT) {
      *missing = true;
      return std::nullopt;
    }
    return step_error(r->err, step, std::string(step) + " " + quoted(path));
  }
  return std::nullopt;
}

// Masked directory: an empty read-only tmpfs as small as the kernel allows.
int mask_dir(int fd) {
  static const char* const kData[] = {"nr_blocks=1,nr_inodes=1", "nr_blocks=1,nr_inodes=2", nullptr};
  int err = 0;
  for (const char* data : kData) {
    if (mount_onto_fd("tmpfs", fd, "tmpfs", MS_RDONLY, data) == 0) return 0;
    err = errno;
    if (err != EINVAL) break;
  }
  return err;
}

Result mask_paths(const Root& root, const std::vector<std::string>& paths) {
  unique_fd dev_null;  // the container's /dev/null, checked, opened when first needed
  std::vector<std::string> done;
  for (const std::string& path : paths) {
    const std::string what = "mask " + quoted(path);
    std::string clean = clean_path(path);
    bool seen = false;
    for (const std::string& d : done) seen = seen || d == clean;
    if (seen) continue;
    done.push_back(clean);

    InRoot t;
    bool missing = false;
    if (Result r = resolve_existing(root, path, "mask", &t, &missing)) return r;
    if (missing) continue;
    struct stat st;
    if (::fstat(t.fd.get(), &st) < 0) return step_error(errno, "mask", what);
    if (S_ISDIR(st.st_mode)) {
      if (int err = mask_dir(t.fd.get())) return step_error(err, "mask", what);
      continue;
    }
    // CVE-2025-31133: the /dev/null bound over the path must be the null device, checked
    // on the fd that is then mounted (a symlink or a file in its place is refused).
    if (!dev_null) {
      InRoot n;
      if (Result r = resolve_in_root(root, "/dev/null", Create::kNone, &n)) {
        return step_error(r->err, "mask", what + ": open \"/dev/null\"");
      }
      dev_null = std::move(n.fd);
    }
    bool is_tree = false;
    unique_fd src = clone_tree(dev_null.get(), "", false, &is_tree);
    if (!src) return step_error(errno, "mask", what + ": open \"/dev/null\"");
    struct stat nst;
    if (::fstat(src.get(), &nst) < 0 || !is_dev_null(nst)) {
      return step_error(0, "mask", what + ": \"/dev/null\" is not the null device (1:3)");
    }
    if (int err = attach_bind(src.get(), is_tree, t.fd.get(), false)) return step_error(err, "mask", what);
  }
  return std::nullopt;
}

Result readonly_paths(const Root& root, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    const std::string what = "remount " + quoted(path) + " read-only";
    InRoot t;
    bool missing = false;
    if (Result r = resolve_existing(root, path, "readonly", &t, &missing)) return r;
    if (missing) continue;
    bool is_tree = false;
    unique_fd src = clone_tree(t.fd.get(), "", true, &is_tree);
    if (!src) return step_error(errno, "readonly", what);
    if (int err = attach_bind(src.get(), is_tree, t.fd.get(), true)) return step_error(err, "readonly", what);
    unique_fd handle;
    if (is_tree) {
      handle = std::move(src);
    } else {
      handle.reset(::openat(t.parent.get(), t.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!handle) return step_error(errno, "readonly", what);
    }
    struct statfs sfs;
    if (::fstatfs(handle.get(), &sfs) < 0) return step_error(errno, "readonly", what);
    unsigned long keep = statfs_to_mount_flags(sfs) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (int err = remount_bind(handle.get(), keep | MS_RDONLY)) return step_error(err, "readonly", what);
  }
  return std::nullopt;
}

// tmpfs mounts (and /dev) were mounted writable; make the read-only ones read-only now.
Result remount_readonly_tmpfs(const Root& root, const Plan& plan) {
  for (const Mount& m : plan.mounts) {
    if ((m.flags & MS_RDONLY) == 0) continue;
    if (mount_type(m) != "tmpfs" && clean_path(m.destination) != "/dev") continue;
    const std::string what = "remount " + quoted(m.destination) + " read-only";
    InRoot t;
    if (Result r = resolve_in_root(root, m.destination, Create::kNone, &t)) {
      return step_error(r->err, "mount", what);
    }
    int err = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
      if (mount_onto_fd(nullptr, t.fd.get(), nullptr, m.flags | MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0) {
        err = 0;
        break;
      }
      err = errno;
      if (err != EBUSY) break;
      struct timespec pause = {0, 100 * 1000 * 1000};
      ::nanosleep(&pause, nullptr);
    }
    if (err != 0) return step_error(err, "mount", what);
  }
  return std::nullopt;
}

}  // namespace

Result prepare_rootfs(const Plan& plan) {
  const std::string self_bind = "mount " + quoted(plan.rootfs) + " (bind) on " + quoted(plan.rootfs);
  if (has_mount_ns(plan)) {
    unsigned long propagation = plan.root_propagation != 0 ? plan.root_propagation : MS_SLAVE | MS_REC;
    if (::mount(nullptr, "/", nullptr, propagation, nullptr) < 0) {
      return step_error(errno, "mount", "set propagation of \"/\"");
    }
    if (Result r = make_parent_private(plan.rootfs, plan.root_propagation)) return r;
    if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), "bind", MS_BIND | MS_REC, nullptr) < 0) {
      return step_error(errno, "mount", self_bind);
    }
  } else {
    // No mount namespace: the mounts land in hako's, so the host's propagation is left
    // alone and everything goes under a bind of the rootfs onto itself made private at
    // once (nothing under it propagates); delete detaches that bind, and all under it.
    if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), "bind", MS_BIND | MS_REC, nullptr) < 0) {
      return step_error(errno, "mount", self_bind);
    }
    if (::mount(nullptr, plan.rootfs.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr) < 0) {
      return step_error(errno, "mount", self_bind + ": make it private");
    }
  }

  unique_fd rootfd;
  Root root;
  if (Result r = open_root(plan.rootfs, &rootfd, &root)) return r;
  for (size_t i = 0; i < plan.mounts.size(); i++) {
    if (Result r = mount_entry(root, plan.mounts[i], i)) return r;
  }
  if (Result r = create_devices(root, plan.devices)) return r;
  return create_symlinks(root, plan.symlinks);
}

Result enter_rootfs(const Plan& plan) {
  if (!has_mount_ns(plan)) {
    // pivot_root would move hako's own root: chroot, as runc does.
    if (::chroot(plan.rootfs.c_str()) < 0) return step_error(errno, "pivot_root", "chroot " + quoted(plan.rootfs));
    if (::chdir("/") < 0) return step_error(errno, "pivot_root", "chdir \"/\"");
    if (plan.has(FLAG_SETUP_DEV)) return reopen_dev_null();
    return std::nullopt;
  }
  unique_fd rootfd(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return step_error(errno, "pivot_root", "pivot_root " + quoted(plan.rootfs) + ": open");

  if (plan.has(FLAG_NO_PIVOT)) {
    std::optional<std::string> real = fd_path(rootfd.get());
    if (!real) return step_error(errno, "pivot_root", "pivot_root " + quoted(plan.rootfs) + ": resolve");
    if (::fchdir(rootfd.get()) < 0) return step_error(errno, "pivot_root", "pivot_root " + quoted(plan.rootfs) + ": chdir");
    rootfd.reset();
    if (Result r = move_root(*real)) return r;
  } else {
    if (Result r = pivot(rootfd.get(), plan.rootfs)) return r;
    rootfd.reset();
  }

  // shared/unbindable root propagation applies to the new "/" (slave and private were
  // set on the whole tree in prepare_rootfs), as runc does.
  uint64_t rp = plan.root_propagation;
  if (rp != 0 && (rp & (MS_PRIVATE | MS_SLAVE)) == 0 && ::mount(nullptr, "/", nullptr, rp, nullptr) < 0) {
    return step_error(errno, "mount", "set propagation of \"/\"");
  }
  if (plan.has(FLAG_SETUP_DEV)) return reopen_dev_null();
  return std::nullopt;
}

Result finalize_rootfs(const Plan& plan) {
  // After pivot_root or chroot, "/" is the container's root (and /proc may be absent).
  unique_fd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return step_error(errno, "open", "open \"/\"");
  Root root;
  root.fd = rootfd.get();
  root.real.assign(1, '/');

  if (Result r = remount_readonly_tmpfs(root, plan)) return r;
  if (plan.has(FLAG_ROOT_READONLY)) {
    if (int err = remount_bind_at("/", MS_RDONLY)) return step_error(err, "readonly", "remount \"/\" read-only");
  }
  if (Result r = readonly_paths(root, plan.readonly_paths)) return r;
  return mask_paths(root, plan.masked_paths);
}

}  // namespace hako
