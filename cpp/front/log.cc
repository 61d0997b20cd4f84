// The front's logger (one for dist/hako and for the verbs the brain runs through the
// addon): logrus lines as runc writes them and src/cli/log.ts does, text
// (time="…" level=… msg="…") or JSON (keys sorted), to --log (append) or stderr; or, in
// the addon, collected for the brain's logger to write.
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "front/front.h"

namespace hako::front {

std::string log_time() {
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// logrus quotes a value unless it is made only of safe characters.
std::string quote_text(const std::string& v) {
  bool safe = !v.empty();
  for (unsigned char c : v) {
    if (!(isalnum(c) || strchr("-._/@^+", c))) safe = false;
  }
  return safe ? v : json_quote(v);
}

}  // namespace

std::string log_line(bool json, const char* level, const std::string& msg, const std::string& time) {
  if (json) return "{\"level\":" + json_quote(level) + ",\"msg\":" + json_quote(msg) + ",\"time\":" + json_quote(time) + "}";
  return "time=" + quote_text(time) + " level=" + level + " msg=" + quote_text(msg);
}

void Logger::write(const char* level, const std::string& msg) const {
  if (collect != nullptr) {
    collect->push_back({level, msg});
    return;
  }
  write_all(fd, log_line(json, level, msg, log_time()) + "\n");
}

}  // namespace hako::front
