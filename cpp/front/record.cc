// Reading the container record (schemas/container-record.schema.json). Parsed with
// nlohmann/json (Debian's nlohmann-json3-dev: header-only, widely used and fuzzed, exact
// about UTF-8 and numbers) after two checks of our own: a regular file of at most 32 MiB,
// nested at most 528 deep: src/input-limits.ts's MAX_RECORD_BYTES and MAX_RECORD_DEPTH, the
// limits the brain writes records within (a config may nest 512 deep, one level down). Anything else wrong is a clear
// "corrupt state" error naming the file and the field, never a crash.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "front/front.h"

namespace hako::front {

using ojson = nlohmann::ordered_json;

namespace {

constexpr off_t kMaxRecordBytes = 32 << 20;
constexpr int kMaxDepth = 528;

// What a record that is not a regular file is, in the brain's words (src/input-limits.ts).
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Failure corrupt(const std::string& file, const std::string& why) {
  return Failure{file + ": corrupt state: " + why, 1, true};
}

// The deepest nesting of [ and { outside strings.
int nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return deepest;
}

struct Reader {
  const std::string& file;

  const ojson& need(const ojson& obj, const char* key, const std::string& at) const {
    auto it = obj.find(key);
    if (it == obj.end()) throw corrupt(file, at + "/" + key + ": missing");
    return *it;
  }
  std::string str(const ojson& v, const std::string& at) const {
    if (!v.is_string()) throw corrupt(file, at + ": must be a string");
    return v.get<std::string>();
  }
  std::string str(const ojson& obj, const char* key, const std::string& at) const {
    return str(need(obj, key, at), at + "/" + key);
  }
  std::vector<std::string> strings(const ojson& v, const std::string& at) const {
    if (!v.is_array()) throw corrupt(file, at + ": must be an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); i++) out.push_back(str(v[i], at + "/" + std::to_string(i)));
    return out;
  }
  std::string abs_path(const ojson& v, const std::string& at) const {
    std::string p = str(v, at);
    if (p.empty() || p[0] != '/' || p.find("/../") != std::string::npos || p.ends_with("/..")) {
      throw corrupt(file, at + ": must be an absolute path without ..");
    }
    return p;
  }

  std::vector<Hook> hooks(const ojson& v, const std::string& at) const {
    if (!v.is_array()) throw corrupt(file, at + ": must be an array");
    std::vector<Hook> out;
    for (size_t i = 0; i < v.size(); i++) {
      std::string here = at + "/" + std::to_string(i);
      const ojson& h = v[i];
      if (!h.is_object()) throw corrupt(file, here + ": must be an object");
      Hook hook;
      hook.path = str(h, "path", here);
      if (h.contains("args")) hook.args = strings(h["args"], here + "/args");
      if (h.contains("env")) hook.env = strings(h["env"], here + "/env");
      if (h.contains("timeout")) {
        if (!h["timeout"].is_number_integer()) throw corrupt(file, here + "/timeout: must be an integer");
        hook.has_timeout = true;
        hook.timeout = static_cast<double>(h["timeout"].get<int64_t>());
      }
      out.push_back(std::move(hook));
    }
    return out;
  }

  CgroupInfo cgroup(const ojson& v) const {
    if (!v.is_object()) throw corrupt(file, "/cgroup: must be an object");
    CgroupInfo cg;
    std::string driver = str(v, "driver", "/cgroup");
    if (driver != "v1" && driver != "v2") throw corrupt(file, "/cgroup/driver: must be \"v1\" or \"v2\"");
    cg.v2 = driver == "v2";
    const ojson& dirs = need(v, "dirs", "/cgroup");
    if (!dirs.is_array() || dirs.empty()) throw corrupt(file, "/cgroup/dirs: must be a non-empty array");
    for (size_t i = 0; i < dirs.size(); i++) cg.dirs.push_back(abs_path(dirs[i], "/cgroup/dirs/" + std::to_string(i)));
    cg.probe = abs_path(need(v, "probe", "/cgroup"), "/cgroup/probe");
    if (v.contains("freezer")) cg.freezer = abs_path(v["freezer"], "/cgroup/freezer");
    return cg;
  }
};

}  // namespace

bool valid_container_id(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  for (unsigned char c : id) {
    if (!(isalnum(c) || c == '_' || c == '+' || c == '.' || c == '-')) return false;
  }
  return true;
}

std::string container_dir(const std::string& root, const std::string& id) {
  return root == "/" ? "/" + id : root + "/" + id;
}

Record read_record(const std::string& root, const std::string& id) {
  if (!valid_container_id(id)) throw Failure{"invalid container ID format"};
  Record rec;
  rec.dir = container_dir(root, id);
  rec.file = rec.dir + "/" + kStateFile;
  const std::string& file = rec.file;

  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Failure{"container does not exist"};
    if (errno == ELOOP) throw corrupt(file, "not a regular file (a symbolic link)");
    throw system_failure("open", file, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw system_failure("fstat", file, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw corrupt(file, std::string("not a regular file (") + file_kind(st.st_mode) + ")");
  }
  if (st.st_size > kMaxRecordBytes) {
    ::close(fd);
    throw corrupt(file, "larger than 32 MiB");
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw system_failure("read", file, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxRecordBytes)) {
      ::close(fd);
      throw corrupt(file, "larger than 32 MiB");
    }
  }
  ::close(fd);

  if (nesting_depth(text) > kMaxDepth) throw corrupt(file, "nested more than " + std::to_string(kMaxDepth) + " deep");
  ojson doc;
  try {
    doc = ojson::parse(text);
  } catch (const ojson::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at ...": the part after the tag
    size_t close = what.find("] ");
    throw corrupt(file, close == std::string::npos ? what : what.substr(close + 2));
  }
  if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number()) {
    throw corrupt(file, "not a hako container record (no version)");
  }
  if (!doc["version"].is_number_integer() || doc["version"].get<int64_t>() != kRecordVersion) {
    throw Handover{file + ": a container record of version " + doc["version"].dump() + ", which this hako does not read (it reads version " +
                   std::to_string(kRecordVersion) + ")"};
  }

  try {
    Reader r{file};
    rec.id = r.str(doc, "id", "");
    if (rec.id != id) throw corrupt(file, "/id: \"" + rec.id + "\" is not the directory's name");
    rec.oci_version = r.str(doc, "ociVersion", "");
    const ojson& pid = r.need(doc, "pid", "");
    if (!pid.is_number_integer() || pid.get<int64_t>() < 0 || pid.get<int64_t>() > 0x7fffffff) {
      throw corrupt(file, "/pid: must be a pid");
    }
    rec.pid = pid.get<int64_t>();
    rec.init_start_time = r.str(doc, "initStartTime", "");
    rec.bundle = r.str(doc, "bundle", "");
    rec.rootfs = r.str(doc, "rootfs", "");
    rec.created = r.str(doc, "created", "");
    if (doc.contains("annotations")) {
      const ojson& a = doc["annotations"];
      if (!a.is_object()) throw corrupt(file, "/annotations: must be an object");
      for (auto it = a.begin(); it != a.end(); ++it) {
        r.str(it.value(), "/annotations/" + it.key());
        rec.annotations.emplace_back(it.key(), it.value().get<std::string>());
      }
    }
    const ojson& own = r.need(doc, "ownPidNamespace", "");
    if (!own.is_boolean()) throw corrupt(file, "/ownPidNamespace: must be a boolean");
    rec.own_pid_namespace = own.get<bool>();
    if (doc.contains("cgroup")) rec.cgroup = r.cgroup(doc["cgroup"]);
    if (doc.contains("hooks")) {
      const ojson& h = doc["hooks"];
      if (!h.is_object()) throw corrupt(file, "/hooks: must be an object");
      if (h.contains("poststart")) rec.poststart = r.hooks(h["poststart"], "/hooks/poststart");
      if (h.contains("poststop")) rec.poststop = r.hooks(h["poststop"], "/hooks/poststop");
    }
    if (doc.contains("notifySocket")) rec.notify_socket = r.abs_path(doc["notifySocket"], "/notifySocket");
    if (doc.contains("hostRootfsBind")) rec.host_rootfs_bind = r.abs_path(doc["hostRootfsBind"], "/hostRootfsBind");
    if (doc.contains("systemd")) {
      const ojson& sd = doc["systemd"];
      if (!sd.is_object()) throw corrupt(file, "/systemd: must be an object");
      rec.systemd_unit = r.str(sd, "unit", "/systemd");
      if (rec.systemd_unit.empty() || rec.systemd_unit.find('/') != std::string::npos) throw corrupt(file, "/systemd/unit: must be a unit name");
      if (sd.contains("cgroup")) rec.systemd_cgroup = r.abs_path(sd["cgroup"], "/systemd/cgroup");
    }
    if (doc.contains("creating")) {
      const ojson& c = doc["creating"];
      if (!c.is_object()) throw corrupt(file, "/creating: must be an object");
      const ojson& creator = r.need(c, "creator", "/creating");
      if (!creator.is_object()) throw corrupt(file, "/creating/creator: must be an object");
      const ojson& cpid = r.need(creator, "pid", "/creating/creator");
      if (!cpid.is_number_integer() || cpid.get<int64_t>() < 1 || cpid.get<int64_t>() > 0x7fffffff) {
        throw corrupt(file, "/creating/creator/pid: must be a pid");
      }
      rec.creating = true;
      rec.creator_pid = cpid.get<int64_t>();
      rec.creator_start_time = r.str(creator, "startTime", "/creating/creator");
    }
  } catch (const ojson::exception& e) {
    throw corrupt(file, e.what());
  }
  return rec;
}

}  // namespace hako::front
