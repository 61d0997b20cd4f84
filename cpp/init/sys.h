// Small system-call helpers shared by the steps of hako-init: whole-file reads and
// writes that survive EINTR and short writes, and the quoting used in error messages.
#pragma once

#include <string>
#include <string_view>

#include "init/step.h"

namespace hako {

// s in double quotes, with '"', '\\' and control bytes escaped (as Go's %q does for
// ASCII), so a message names a path exactly: `mount "proc" on "/proc"`.
std::string quote(std::string_view s);

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
