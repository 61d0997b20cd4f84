// Small mount helpers for hako-init: the new mount API through raw system calls (so
// ENOSYS can pick a fallback), mounting onto a file descriptor, bind remounts that keep
// the locked flags, and the tree copy behind tmpfs "tmpcopyup".
#pragma once

#include <stdint.h>
#include <sys/statfs.h>

#include <optional>
#include <string>

#include "common/unique_fd.h"

// The new mount API's flags, for a libc whose headers predate them.
#include <fcntl.h>
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

namespace hako {

// "/proc/self/fd/<fd>", the path through which the kernel reaches exactly that file.
class ProcFdPath {
 public:
  explicit ProcFdPath(int fd);
  const char* c_str() const { return buf_; }

 private:
  char buf_[32];
};

// Raw system calls; -1 and errno on failure (ENOSYS on kernels without them).
int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve);
int sys_open_tree(int dirfd, const char* path, unsigned int flags);
int sys_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                   unsigned int flags);
int sys_mount_setattr(int dirfd, const char* path, unsigned int flags, uint64_t attr_set,
                      uint64_t attr_clr, uint64_t propagation);
// mount_setattr(MOUNT_ATTR_IDMAP) of the detached tree `tree` with the mappings of the
// user namespace userns_fd; recursive: every mount of the tree, else its top only.
int sys_mount_setattr_idmap(int tree, bool recursive, int userns_fd);

// mount(2) with the target given by fd (through /proc/self/fd).
int mount_onto_fd(const char* source, int target_fd, const char* type, unsigned long flags,
                  const char* data);

// The id of the mount fd is on (statx STATX_MNT_ID); nullopt when the kernel cannot say.
std::optional<uint64_t> mount_id_of(int fd);

// A detached copy of the mount tree at path (or at fd itself when path is ""), with
// open_tree(OPEN_TREE_CLONE); recursive copies the mounts below too. When the kernel has
// no open_tree, returns an O_PATH fd of the same file instead and sets *is_tree false.
unique_fd clone_tree(int dirfd, const char* path, bool recursive, bool* is_tree);

// Attaches src (from clone_tree) onto target_fd. A tree is moved with move_mount and
// stays usable as the handle of the new mount; a plain O_PATH fd is bind-mounted with
// mount(2) and the caller must find the new mount itself. 0 or an errno.
int attach_bind(int src, bool is_tree, int target_fd, bool recursive);

// The MS_* flags statfs(2) reports for a mount (ST_* -> MS_*; MS_STRICTATIME when no
// other atime flag is set), as runc computes them.
unsigned long statfs_to_mount_flags(const struct statfs& st);

// MS_REMOUNT|MS_BIND of the mount handle refers to, with `flags`. When the kernel
// refuses (EPERM: flags locked because the mount came from a more privileged user
// namespace), retries with the locked flags the mount already has; fails when the
// caller asked for a different atime mode than the locked one. 0 or an errno.
int remount_bind(int handle, unsigned long flags);
// The same for a path ("/" for the root after pivot_root).
int remount_bind_at(const char* target, unsigned long flags);

// Copies the contents of directory src into directory dst (both fds): directories,
// regular files, symlinks, device nodes and fifos, with their modes and owners. Sockets
// are skipped, hard links become copies. 0 or an errno; *where names the entry that
// failed, relative to src.
int copy_tree(int src, int dst, std::string* where);

}  // namespace hako
