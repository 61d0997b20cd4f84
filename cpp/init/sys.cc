#include "init/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace hako {

std::string quote(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string o;
  o.reserve(s.size() + 2);
  o += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          o += "\\x";
          o += hex[c >> 4];
          o += hex[c & 0xf];
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  o += '"';
  return o;
}

std::string go_strerror(int err) {
  std::string s = strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

StepError errno_error(std::string step, std::string message) {
  int err = errno;
  return step_error(err, std::move(step), std::move(message));
}

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

int write_file(const char* path, std::string_view data) {
  unique_fd fd(::open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno;
  int err = write_all(fd.get(), data);
  if (err != 0) return err;
  if (::close(fd.release()) < 0 && errno != EINTR) return errno;
  return 0;
}

int read_file(const char* path, std::string* out) {
  out->clear();
  unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace hako
