// hako-init's sealed copy (the CVE-2019-5736 defence: the container's first process runs
// from a memfd nobody can change, never from the file on the host): one implementation for
// the addon (the brain's copy) and the front (a copy made while the brain starts).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/front.h"

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020  // Linux 6.3; older headers lack it
#endif

namespace hako::front {

namespace {
constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
}

const char* seal_copy(int fd) {
  if (::fchmod(fd, 0555) != 0) return "fchmod";
  if (::fcntl(fd, F_ADD_SEALS, kSeals | F_SEAL_EXEC) != 0 && (errno != EINVAL || ::fcntl(fd, F_ADD_SEALS, kSeals) != 0)) {
    return "fcntl(F_ADD_SEALS)";
  }
  return nullptr;
}

const char* copy_file(int memfd, const std::string& path) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return "open";
  struct stat st;
  const char* failed = nullptr;
  if (::fstat(in, &st) != 0) {
    failed = "fstat";
  } else if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    failed = "open";
  }
  off_t at = 0;
  while (!failed && at < st.st_size) {
    ssize_t n = ::sendfile(memfd, in, &at, static_cast<size_t>(st.st_size - at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      failed = "sendfile";
    }
  }
  int saved = errno;
  ::close(in);
  errno = saved;
  return failed;
}

const char* copy_file_sealed(int memfd, const std::string& path) {
  const char* failed = copy_file(memfd, path);
  return failed ? failed : seal_copy(memfd);
}

bool is_sealed_copy(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  struct stat st;
  return seals >= 0 && (seals & kSeals) == kSeals && ::fstat(fd, &st) == 0 && st.st_size > 0;
}

std::string only_init_file(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return "";
  std::string found;
  int count = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("hako-init-", 0) == 0) {
      found = name;
      count++;
    }
  }
  ::closedir(d);
  return count == 1 ? found : "";
}

}  // namespace hako::front
