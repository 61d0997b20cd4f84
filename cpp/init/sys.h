// Small system-call helpers shared by the steps of hako-init: whole-file reads and
// writes that survive EINTR and short writes, and the quoting used in error messages.
#pragma once

#include <string>
#include <string_view>

#include "init/step.h"

namespace hako {

// s in double quotes, with '"', '\\' and control bytes escaped (as Go's %q does for
// ASCII), so a message names a path exactly: `mount "proc" on "/proc"`. A value longer
// than kMaxShownValue is shown as its first kShownPrefix bytes and its length:
// `"/aaaa... (52428800 bytes)"` (as clip_message shows a quoted value).
std::string quote(std::string_view s);

// Values in messages: longer than any path (PATH_MAX) or mount data (a page) is cut to a
// readable prefix; a whole message beyond kMaxMessage is cut too. The same limits as
// clipMessage in src/input-limits.ts, which the parent applies again.
inline constexpr size_t kMaxShownValue = 4096;
inline constexpr size_t kShownPrefix = 256;
inline constexpr size_t kMaxMessage = 64 * 1024;

// message with every run of more than kMaxShownValue bytes without whitespace or '"' cut
// to its first kShownPrefix bytes and "... (N bytes)", then cut at kMaxMessage.
std::string clip_message(std::string_view message);

// strerror(err) as Go spells it ("no such file or directory"): runc's messages, which
// callers match, are made of these.
std::string go_strerror(int err);

// A StepError carrying the current errno.
StepError errno_error(std::string step, std::string message);

// Writes all of data to fd. Returns 0 or the errno of the failure.
int write_all(int fd, std::string_view data);

// Opens path O_WRONLY and writes data in one write(2) where the kernel takes it
// (procfs files want a single write). Returns 0 or the errno of the failure.
int write_file(const char* path, std::string_view data);

// Reads a whole (small, usually /proc) file. Returns 0 or the errno of the failure.
int read_file(const char* path, std::string* out);

}  // namespace hako
