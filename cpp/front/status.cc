// A container's status, derived from the live system on every call (never stored), in
// runc's order after one of hako's own (a record in its early form: creating while its
// creator lives, else stopped): a frozen cgroup: paused; the init gone, a zombie or another process at its
// pid (start time differs): stopped; exec.fifo present: created; else running.
#include "front/front.h"

namespace hako::front {

const char* status_name(Status s) {
  switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
  }
  return "unknown";
}

std::vector<std::string> proc_stat_fields(int64_t pid, size_t count) {
  std::string text;
  int err = 0;
  if (pid <= 0 || !read_file("/proc/" + std::to_string(pid) + "/stat", text, err)) return {};
  // comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return {};
  std::vector<std::string> fields;
  size_t at = close + 2;
  while (at <= text.size() && fields.size() < count) {
    size_t sp = text.find(' ', at);
    if (sp == std::string::npos) sp = text.size();
    fields.push_back(text.substr(at, sp - at));
    at = sp + 1;
  }
  if (fields.size() < count) return {};
  return fields;
}

bool process_alive(int64_t pid, const std::string& start_time) {
  std::vector<std::string> fields = proc_stat_fields(pid, 20);
  if (fields.empty()) return false;
  const std::string& state = fields[0];
  if (fields[19] != start_time) return false;
  return state != "Z" && state != "X" && state != "x";
}

bool init_alive(const Record& rec) { return process_alive(rec.pid, rec.init_start_time); }

Status live_status(const Record& rec) {
  // A record in its early form: being created while its creator lives; once the creator
  // is gone, interrupted, so stopped (as runc reports a container whose init died).
  if (rec.creating) return process_alive(rec.creator_pid, rec.creator_start_time) ? Status::Creating : Status::Stopped;
  if (rec.cgroup && cgroup_frozen(*rec.cgroup)) return Status::Paused;
  if (!init_alive(rec)) return Status::Stopped;
  return path_exists(rec.dir + "/" + kExecFifo) ? Status::Created : Status::Running;
}

}  // namespace hako::front
