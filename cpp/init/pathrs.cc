#include "init/pathrs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "init/mount_util.h"

namespace hako {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

std::string join_components(const std::vector<std::string>& comps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; i++) {
    out += '/';
    out += comps[i];
  }
  return out.empty() ? "/" : out;
}

std::optional<std::string> read_link_at(int dirfd, const char* name) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dirfd, name, buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result fail(int err, const char* step, const std::string& path) {
  return step_error(err, step, std::string(step) + " \"" + path + "\"");
}

}  // namespace

std::string clean_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    size_t j = i;
    while (j < path.size() && path[j] != '/') j++;
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
      // nothing
    } else if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(part);
    }
    i = j;
  }
  std::string out;
  for (std::string_view p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

std::vector<std::string> path_components(std::string_view clean) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < clean.size()) {
    while (i < clean.size() && clean[i] == '/') i++;
    size_t j = i;
    while (j < clean.size() && clean[j] != '/') j++;
    if (j > i) out.emplace_back(clean.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::string> fd_path(int fd) {
  ProcFdPath link(fd);
  return read_link_at(AT_FDCWD, link.c_str());
}

std::optional<std::string> path_in_root(const Root& root, int fd) {
  std::optional<std::string> full = fd_path(fd);
  if (!full || full->empty() || (*full)[0] != '/') return std::nullopt;
  if (root.real == "/") return full;
  if (*full == root.real) return std::string("/");
  if (full->size() > root.real.size() && full->compare(0, root.real.size(), root.real) == 0 &&
      (*full)[root.real.size()] == '/') {
    return full->substr(root.real.size());
  }
  return std::nullopt;
}

Result open_root(const std::string& path, unique_fd* fd, Root* root) {
  fd->reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!*fd) return fail(errno, "open", path);
  std::optional<std::string> real = fd_path(fd->get());
  if (!real || real->empty() || (*real)[0] != '/') return fail(errno ? errno : ENOENT, "open", path);
  root->fd = fd->get();
  root->real = std::move(*real);
  return std::nullopt;
}

Result resolve_in_root(const Root& root, std::string_view path, Create create, InRoot* out) {
  std::string want = clean_path(path);
  int links = 0;
  for (;;) {
    std::vector<std::string> comps = path_components(want);
    if (comps.empty()) {
      out->parent.reset(::fcntl(root.fd, F_DUPFD_CLOEXEC, 0));
      out->fd.reset(::fcntl(root.fd, F_DUPFD_CLOEXEC, 0));
      out->name.clear();
      out->created = false;
      if (!out->parent || !out->fd) return fail(errno, "open", "/");
      return std::nullopt;
    }

    // The deepest existing parent directory, resolved by the kernel with root as "/".
    // Usually the whole parent exists and this is one openat2 call.
    size_t have = comps.size() - 1;
    unique_fd cur;
    for (;;) {
      if (have == 0) {
        cur.reset(::fcntl(root.fd, F_DUPFD_CLOEXEC, 0));
        if (!cur) return fail(errno, "open", "/");
        break;
      }
      std::string prefix = join_components(comps, 0, have);
      int fd = sys_openat2(root.fd, prefix.c_str() + 1, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      if (fd >= 0) {
        cur.reset(fd);
        break;
      }
      if (errno != ENOENT || create == Create::kNone) return fail(errno, "open", prefix);
      have--;
    }

    // The rest, one component at a time from the fd of its parent: open it without
    // following a symlink; create it when missing; a symlink restarts the resolution
    // with its target spliced in (as the kernel would, root being "/").
    bool restarted = false;
    for (size_t i = have; i < comps.size(); i++) {
      const bool last = i + 1 == comps.size();
      const char* name = comps[i].c_str();
      bool created = false;
      unique_fd fd(::openat(cur.get(), name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        if (errno != ENOENT || create == Create::kNone) {
          return fail(errno, "open", join_components(comps, 0, i + 1));
        }
        if (!last || create == Create::kDir) {
          if (::mkdirat(cur.get(), name, 0755) < 0 && errno != EEXIST) {
            return fail(errno, "mkdir", join_components(comps, 0, i + 1));
          }
        } else {
          int w = ::openat(cur.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (w < 0 && errno != EEXIST) return fail(errno, "open", join_components(comps, 0, i + 1));
          if (w >= 0) ::close(w);
        }
        created = true;
        fd.reset(::openat(cur.get(), name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return fail(errno, "open", join_components(comps, 0, i + 1));
      }
      struct stat st;
      if (::fstat(fd.get(), &st) < 0) return fail(errno, "open", join_components(comps, 0, i + 1));

      if (S_ISLNK(st.st_mode)) {
        struct statfs sfs;
        if (++links > kMaxSymlinks ||
            (::fstatfs(cur.get(), &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC)) {
          // Too many links, or a procfs link (the magic ones lead anywhere).
          return fail(ELOOP, "open", join_components(comps, 0, i + 1));
        }
        std::optional<std::string> target = read_link_at(cur.get(), name);
        if (!target) return fail(errno, "open", join_components(comps, 0, i + 1));
        std::string base;
        if (target->empty() || (*target)[0] != '/') {
          std::optional<std::string> dir = path_in_root(root, cur.get());
          if (!dir) return fail(EXDEV, "open", join_components(comps, 0, i + 1));
          base = std::move(*dir);
        }
        std::string next = base + "/" + *target;
        if (!last) next += join_components(comps, i + 1, comps.size());
        want = clean_path(next);
        restarted = true;
        break;
      }
      if (!last) {
        if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "open", join_components(comps, 0, i + 1));
        cur = std::move(fd);
        continue;
      }
      out->parent = std::move(cur);
      out->name = comps[i];
      out->fd = std::move(fd);
      out->created = created;
      return std::nullopt;
    }
    if (!restarted) return fail(EINVAL, "open", want);  // not reached
  }
}

}  // namespace hako
