#include "init/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace hako {

namespace {

// At most n bytes of s, not ending inside a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) n--;
  return s.substr(0, n);
}

std::string cut_note(size_t size) { return "... (" + std::to_string(size) + " bytes)"; }

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string clip_message(std::string_view message) {
  if (message.size() <= kMaxShownValue) return std::string(message);
  std::string out;
  size_t i = 0;
  while (i < message.size() && out.size() <= kMaxMessage) {
    if (is_space(message[i]) || message[i] == '"') {
      out += message[i++];
      continue;
    }
    size_t end = i;
    while (end < message.size() && !is_space(message[end]) && message[end] != '"') end++;
    std::string_view run = message.substr(i, end - i);
    // Punctuation after a value (`stat /x: ...`) is not part of it.
    std::string_view tail;
    if (!run.empty() && (run.back() == ':' || run.back() == ';' || run.back() == ',')) {
      tail = run.substr(run.size() - 1);
      run.remove_suffix(1);
    }
    if (run.size() > kMaxShownValue) {
      out.append(utf8_prefix(run, kShownPrefix));
      out += cut_note(run.size());
      out.append(tail);
    } else {
      out.append(run);
      out.append(tail);
    }
    i = end;
  }
  if (out.size() > kMaxMessage) {
    out = std::string(utf8_prefix(out, kMaxMessage)) + "... (message of " + std::to_string(message.size()) + " bytes cut)";
  }
  return out;
}

std::string quote(std::string_view full) {
  static const char hex[] = "0123456789abcdef";
  std::string_view s = full.size() > kMaxShownValue ? utf8_prefix(full, kShownPrefix) : full;
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
  if (s.size() != full.size()) o += cut_note(full.size());
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
