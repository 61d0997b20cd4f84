// A container without a mount namespace (none in linux.namespaces, so it shares hako's)
// has its mounts in the host's mount table: hako-init binds the rootfs onto itself, makes
// that bind private and mounts everything under it. Releasing the container detaches
// that bind and, with it, every mount under it (runc 1.1.5 leaves them all). Only a bind
// of the rootfs onto itself is detached, never a manager's own mount at the rootfs.
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "front/front.h"

namespace hako::front {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// posix join of a root and a relative path that starts with "/".
std::string join_root(const std::string& root, const std::string& rel) {
  if (root == "/") return rel;
  return root + rel;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> f;
    size_t p = start;
    while (p < end && f.size() < 5) {
      size_t sp = text.find(' ', p);
      if (sp == std::string::npos || sp > end) sp = end;
      f.push_back(text.substr(p, sp - p));
      p = sp + 1;
    }
    if (f.size() == 5) {
      MountEntry m;
      m.id = std::strtol(f[0].c_str(), nullptr, 10);
      m.parent = std::strtol(f[1].c_str(), nullptr, 10);
      m.dev = f[2];
      m.root = unescape_octal(f[3]);
      m.mount_point = unescape_octal(f[4]);
      // After the optional fields and " - ": the file system type, the source, the super options.
      size_t dash = text.find(" - ", p - 1);
      if (dash != std::string::npos && dash < end) {
        std::vector<std::string> tail;
        for (size_t at = dash + 3; at < end && tail.size() < 3;) {
          size_t sp = std::min(text.find(' ', at), end);
          tail.push_back(text.substr(at, sp - at));
          at = sp + 1;
        }
        if (!tail.empty()) m.fstype = tail[0];
        if (tail.size() == 3) m.super_options = tail[2];
      }
      out.push_back(m);
    }
    start = end + 1;
  }
  return out;
}

bool top_is_self_bind(const std::string& mountinfo, const std::string& path) {
  std::vector<MountEntry> mounts = parse_mountinfo(mountinfo);
  const MountEntry* top = nullptr;
  for (const MountEntry& m : mounts) {
    if (m.mount_point != path) continue;
    bool covered = false;
    for (const MountEntry& other : mounts) covered = covered || (other.mount_point == path && other.parent == m.id);
    if (!covered) top = &m;
  }
  if (top == nullptr) return false;
  const MountEntry* below = nullptr;
  for (const MountEntry& m : mounts) {
    if (m.id == top->parent) below = &m;
  }
  if (below == nullptr) return false;
  std::string root = below->root;
  if (below->mount_point != path) {
    std::string rel = below->mount_point == "/" ? path : path.substr(std::min(path.size(), below->mount_point.size()));
    if (rel.empty() || rel[0] != '/') return false;
    root = join_root(below->root, rel);
  }
  return top->dev == below->dev && top->root == root;
}

void release_host_rootfs(const std::string& rootfs) {
  if (rootfs.empty() || rootfs == "/") return;
  std::string text;
  int err = 0;
  if (!read_file("/proc/self/mountinfo", text, err)) throw system_failure("open", "/proc/self/mountinfo", err);
  if (!top_is_self_bind(text, rootfs)) return;
  if (::umount2(rootfs.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) throw system_failure("umount2", rootfs, errno);
}

}  // namespace hako::front
