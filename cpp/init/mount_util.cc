#include "init/mount_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

namespace hako {
namespace {

// struct mount_attr of <linux/mount.h> (its first published size, 32 bytes).
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

constexpr unsigned long kAtimeEnum = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
constexpr unsigned long kAtimeFlags = kAtimeEnum | MS_NODIRATIME;
// The flags a mount inherited from a more privileged user namespace has locked
// (MNT_LOCK_* in the kernel).
constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | kAtimeFlags;

int copy_data(int src, int dst) {
  for (;;) {
    ssize_t n = ::sendfile(dst, src, nullptr, 1 << 30);
    if (n == 0) return 0;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    break;  // sendfile cannot do these two: plain read/write
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(src, buf.data(), buf.size());
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(dst, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      off += w;
    }
  }
}

// Owner and mode of an fd opened for the copy (mode after chown, which clears set-id bits).
int set_owner_mode(int fd, const struct stat& st) {
  if (::fchown(fd, st.st_uid, st.st_gid) < 0) return errno;
  if (::fchmod(fd, st.st_mode & 07777) < 0) return errno;
  return 0;
}

int copy_dir(int src, int dst, const std::string& rel, std::string* where) {
  int dup_fd = ::fcntl(src, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    *where = rel;
    return errno;
  }
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup_fd);
    *where = rel;
    return err;
  }
  int result = 0;
  for (;;) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (de == nullptr) {
      if (errno != 0) {
        result = errno;
        *where = rel;
      }
      break;
    }
    const char* name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    std::string path = rel + "/" + name;
    struct stat st;
    int err = 0;
    if (::fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      err = errno;
    } else if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst, name, 0700) < 0) {
        err = errno;
      } else {
        unique_fd s(::openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        unique_fd d(::openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s || !d) {
          err = errno;
        } else {
          err = copy_dir(s.get(), d.get(), path, where);
          if (err != 0) {
            result = err;
            break;
          }
          err = set_owner_mode(d.get(), st);
        }
      }
    } else if (S_ISREG(st.st_mode)) {
      unique_fd s(::openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      unique_fd d;
      if (s) d.reset(::openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!s || !d) {
        err = errno;
      } else {
        err = copy_data(s.get(), d.get());
        if (err == 0) err = set_owner_mode(d.get(), st);
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(src, name, target.data(), target.size());
      if (n < 0) {
        err = errno;
      } else {
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), dst, name) < 0 ||
            ::fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
          err = errno;
        }
      }
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(dst, name, st.st_mode & (S_IFMT | 0777), st.st_rdev) < 0 ||
          ::fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
          ::fchmodat(dst, name, st.st_mode & 07777, 0) < 0) {
        err = errno;
      }
    }
    // Sockets are skipped: a copy of one is not the socket.
    if (err != 0) {
      result = err;
      if (where->empty()) *where = path;
      break;
    }
  }
  ::closedir(dir);
  return result;
}

}  // namespace

ProcFdPath::ProcFdPath(int fd) { snprintf(buf_, sizeof(buf_), "/proc/self/fd/%d", fd); }

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how = {};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  for (;;) {
    long r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    // EAGAIN: a rename or mount raced with RESOLVE_IN_ROOT; the kernel asks to retry.
    if (r < 0 && errno == EAGAIN) continue;
    return static_cast<int>(r);
  }
}

int sys_open_tree(int dirfd, const char* path, unsigned int flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}

int sys_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                   unsigned int flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

int sys_mount_setattr(int dirfd, const char* path, unsigned int flags, uint64_t attr_set,
                      uint64_t attr_clr, uint64_t propagation) {
  MountAttr attr = {attr_set, attr_clr, propagation, 0};
  return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof(attr)));
}

int sys_mount_setattr_idmap(int tree, bool recursive, int userns_fd) {
  constexpr uint64_t kMountAttrIdmap = 0x00100000;  // MOUNT_ATTR_IDMAP
  MountAttr attr = {kMountAttrIdmap, 0, 0, static_cast<uint64_t>(userns_fd)};
  unsigned int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  return static_cast<int>(::syscall(SYS_mount_setattr, tree, "", flags, &attr, sizeof(attr)));
}

int mount_onto_fd(const char* source, int target_fd, const char* type, unsigned long flags,
                  const char* data) {
  ProcFdPath target(target_fd);
  return ::mount(source, target.c_str(), type, flags, data);
}

std::optional<uint64_t> mount_id_of(int fd) {
  struct statx stx = {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0) return std::nullopt;
  if ((stx.stx_mask & STATX_MNT_ID) == 0) return std::nullopt;
  return stx.stx_mnt_id;
}

unique_fd clone_tree(int dirfd, const char* path, bool recursive, bool* is_tree) {
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
  if (recursive) flags |= AT_RECURSIVE;
  if (path[0] == '\0') flags |= AT_EMPTY_PATH;
  int fd = sys_open_tree(dirfd, path, flags);
  if (fd >= 0 || errno != ENOSYS) {
    *is_tree = true;
    return unique_fd(fd);
  }
  *is_tree = false;
  if (path[0] == '\0') return unique_fd(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  return unique_fd(::openat(dirfd, path, O_PATH | O_CLOEXEC));
}

int attach_bind(int src, bool is_tree, int target_fd, bool recursive) {
  if (is_tree) {
    if (sys_move_mount(src, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
      return errno;
    }
    return 0;
  }
  ProcFdPath from(src);
  unsigned long flags = MS_BIND | (recursive ? MS_REC : 0);
  if (mount_onto_fd(from.c_str(), target_fd, nullptr, flags, nullptr) < 0) return errno;
  return 0;
}

unsigned long statfs_to_mount_flags(const struct statfs& st) {
  static constexpr struct {
    unsigned long st, ms;
  } kMap[] = {
      {ST_RDONLY, MS_RDONLY},       {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},       {ST_MANDLOCK, MS_MANDLOCK},     {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
      {ST_NOATIME, MS_NOATIME},     {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
      {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
  };
  unsigned long flags = 0;
  for (const auto& m : kMap) {
    if ((static_cast<unsigned long>(st.f_flags) & m.st) == m.st) flags |= m.ms;
  }
  // MS_STRICTATIME is not stored: a mount with no other atime mode is strictatime.
  if ((flags & kAtimeEnum) == 0) flags |= MS_STRICTATIME;
  return flags;
}

int remount_bind(int handle, unsigned long flags) {
  ProcFdPath target(handle);
  return remount_bind_at(target.c_str(), flags);
}

int remount_bind_at(const char* target, unsigned long flags) {
  unsigned long want = flags | MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, target, nullptr, want, nullptr) == 0) return 0;
  int err = errno;
  if (err != EPERM) return err;
  struct statfs st;
  if (::statfs(target, &st) < 0) return err;
  unsigned long have = statfs_to_mount_flags(st);
  // An atime mode other than the locked one cannot be had: fail rather than ignore it.
  if ((flags & kAtimeFlags) != 0 && (flags & kAtimeFlags) != (have & kAtimeFlags)) return err;
  want |= have & kLockableFlags;
  if (::mount(nullptr, target, nullptr, want, nullptr) == 0) return 0;
  return errno;
}

int copy_tree(int src, int dst, std::string* where) {
  where->clear();
  return copy_dir(src, dst, "", where);
}

}  // namespace hako
