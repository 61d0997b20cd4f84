// Errors in the brain's words, and the few file helpers the verbs share.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "front/front.h"

namespace hako::front {

// libuv's uv_strerror() texts (what the brain's Node errors say), for the errnos a verb meets.
std::string errno_text(int err) {
  switch (err) {
    case EPERM: return "operation not permitted";
    case ENOENT: return "no such file or directory";
    case ESRCH: return "no such process";
    case EINTR: return "interrupted system call";
    case EIO: return "i/o error";
    case ENXIO: return "no such device or address";
    case E2BIG: return "argument list too long";
    case ENOEXEC: return "exec format error";
    case EBADF: return "bad file descriptor";
    case EAGAIN: return "resource temporarily unavailable";
    case ENOMEM: return "not enough memory";
    case EACCES: return "permission denied";
    case EFAULT: return "bad address in system call argument";
    case EBUSY: return "resource busy or locked";
    case EEXIST: return "file already exists";
    case ENODEV: return "no such device";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "illegal operation on a directory";
    case EINVAL: return "invalid argument";
    case EMFILE: return "too many open files";
    case ETXTBSY: return "text file is busy";
    case ENOSPC: return "no space left on device";
    case EROFS: return "read-only file system";
    case EPIPE: return "broken pipe";
    case ENAMETOOLONG: return "name too long";
    case ENOTEMPTY: return "directory not empty";
    case ELOOP: return "too many symbolic links encountered";
    case ENOTSOCK: return "socket operation on non-socket";
    case EADDRINUSE: return "address already in use";
    case ECONNRESET: return "connection reset by peer";
    case ECONNREFUSED: return "connection refused";
    default: {
      std::string s = strerror(err);
      for (auto& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
      return s;
    }
  }
}

Failure system_failure(const char* syscall, const std::string& path, int err) {
  std::string msg = syscall;
  if (!path.empty()) msg += " " + path;
  return Failure{msg + ": " + errno_text(err)};
}

bool read_file(const std::string& path, std::string& out, int& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return false;
  }
  out.clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

std::optional<std::string> read_trimmed(const std::string& path) {
  std::string text;
  int err = 0;
  if (!read_file(path, text, err)) return std::nullopt;
  size_t b = text.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return std::string();
  size_t e = text.find_last_not_of(" \t\n\r\f\v");
  return text.substr(b, e - b + 1);
}

bool path_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// JSON.stringify of a string: \" \\ \b \f \n \r \t, other controls as \u00xx, the rest as is.
std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

int move_fd_high(int fd, int from, bool inherit) {
  for (int at : {from, 64, 3}) {
    int moved = ::fcntl(fd, inherit ? F_DUPFD : F_DUPFD_CLOEXEC, at);
    if (moved >= 0) {
      ::close(fd);
      return moved;
    }
  }
  return fd;
}

}  // namespace hako::front
