// --debug lines from hako-init to the brain (as runc's nsexec relays its stage logs
// through a log pipe): one line per step, "hako-init-<stage>[<pid>]: <what>", written to
// the pipe hako passed with --log-pipe; the brain writes each through its logger at debug
// level. Without --debug there is no pipe, and each call is one test of an int.
#pragma once

#include <string_view>

namespace hako {

// The pipe's write end (close-on-exec, non-blocking: a line that does not fit is dropped,
// the container never waits for its log); -1: none.
void set_debug_fd(int fd);
bool debug_enabled();
// Which stage this process is ("0": stage 0, "init", "exec").
void set_debug_stage(const char* stage);
void debug_log(std::string_view what);
// The last line, then the pipe closed (before the init waits for start or execs).
void close_debug_log(std::string_view last);

}  // namespace hako
