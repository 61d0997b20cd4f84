#include "common/plan.h"

#include <string.h>

namespace hako {
namespace {

// Reads fields out of one payload; any overrun marks it failed.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }

  uint16_t u16() { return fixed<uint16_t>(); }
  uint32_t u32() { return fixed<uint32_t>(); }
  int32_t i32() { return static_cast<int32_t>(fixed<uint32_t>()); }
  uint64_t u64() { return fixed<uint64_t>(); }
  int64_t i64() { return static_cast<int64_t>(fixed<uint64_t>()); }

  std::string_view bytes(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }

  // A length-prefixed string inside a struct.
  std::string str() {
    uint32_t n = u32();
    return std::string(bytes(n));
  }

 private:
  template <typename T>
  T fixed() {
    std::string_view b = bytes(sizeof(T));
    if (!ok_) return 0;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); i++) v |= static_cast<T>(static_cast<uint8_t>(b[i])) << (8 * i);
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool decode_record(uint16_t tag, std::string_view payload, Plan* p) {
  Reader r(payload);
  switch (tag) {
    case TAG_CONTAINER_ID: p->container_id = std::string(payload); return true;
    case TAG_ROOTFS: p->rootfs = std::string(payload); return true;
    case TAG_FLAGS: p->flags = r.u64(); break;
    case TAG_CLONE_FLAGS: p->clone_flags = r.u64(); break;
    case TAG_JOIN_NS: {
      JoinNs j;
      j.clone_flag = r.u64();
      j.path = r.str();
      p->join_ns.push_back(std::move(j));
      break;
    }
    case TAG_ROOT_PROPAGATION: p->root_propagation = r.u64(); break;
    case TAG_MOUNT: {
      Mount m;
      m.flags = r.u64();
      m.propagation = r.u64();
      m.attr_set = r.u64();
      m.attr_clr = r.u64();
      m.ext = r.u32();
      m.source = r.str();
      m.destination = r.str();
      m.type = r.str();
      m.data = r.str();
      p->mounts.push_back(std::move(m));
      break;
    }
    case TAG_DEVICE: {
      Device d;
      d.type = r.u32();
      d.major = r.u32();
      d.minor = r.u32();
      d.mode = r.u32();
      d.uid = r.u32();
      d.gid = r.u32();
      d.bind = r.u32();
      d.path = r.str();
      p->devices.push_back(std::move(d));
      break;
    }
    case TAG_SYMLINK: {
      Symlink s;
      s.target = r.str();
      s.link = r.str();
      p->symlinks.push_back(std::move(s));
      break;
    }
    case TAG_MASKED_PATH: p->masked_paths.emplace_back(payload); return true;
    case TAG_READONLY_PATH: p->readonly_paths.emplace_back(payload); return true;
    case TAG_HOSTNAME: p->hostname = std::string(payload); return true;
    case TAG_DOMAINNAME: p->domainname = std::string(payload); return true;
    case TAG_TIME_OFFSET: {
      TimeOffset t;
      t.clock = r.u32();
      t.secs = r.i64();
      t.nanos = r.u32();
      p->time_offsets.push_back(t);
      break;
    }
    case TAG_SYSCTL: {
      Sysctl s;
      s.key = r.str();
      s.value = r.str();
      p->sysctls.push_back(std::move(s));
      break;
    }
    case TAG_ARG: p->args.emplace_back(payload); return true;
    case TAG_ENV: p->env.emplace_back(payload); return true;
    case TAG_CWD: p->cwd = std::string(payload); return true;
    case TAG_USER:
      p->uid = r.u32();
      p->gid = r.u32();
      p->umask = r.u32();
      break;
    case TAG_ADDITIONAL_GID: p->additional_gids.push_back(r.u32()); break;
    case TAG_RLIMIT: {
      Rlimit l;
      l.resource = r.u32();
      l.soft = r.u64();
      l.hard = r.u64();
      p->rlimits.push_back(l);
      break;
    }
    case TAG_OOM_SCORE_ADJ: p->oom_score_adj = r.i64(); break;
    case TAG_CONSOLE_SIZE: {
      ConsoleSize c;
      c.rows = r.u32();
      c.cols = r.u32();
      p->console_size = c;
      break;
    }
    case TAG_CAPABILITIES: {
      Capabilities c;
      c.bounding = r.u64();
      c.effective = r.u64();
      c.permitted = r.u64();
      c.inheritable = r.u64();
      c.ambient = r.u64();
      p->capabilities = c;
      break;
    }
    case TAG_SECCOMP: {
      Seccomp sc;
      sc.flags = r.u32();
      sc.listener_socket = r.i32();
      sc.program = r.str();
      size_t n = sc.program.size();
      if (n == 0 || n % 8 != 0 || n / 8 > SECCOMP_MAX_INSNS) return false;
      p->seccomp = std::move(sc);
      break;
    }
    case TAG_HOOK: {
      Hook h;
      h.kind = r.u32();
      h.timeout = r.u32();
      h.has_env = r.u32();
      h.path = r.str();
      for (uint32_t n = r.u32(); r.ok() && n > 0; n--) h.args.push_back(r.str());
      for (uint32_t n = r.u32(); r.ok() && n > 0; n--) h.env.push_back(r.str());
      if (h.kind > HOOK_START_CONTAINER) return false;
      p->hooks.push_back(std::move(h));
      break;
    }
    case TAG_HOOK_STATE: {
      HookState s;
      s.kind = r.u32();
      s.head = r.str();
      s.tail = r.str();
      if (s.kind > HOOK_START_CONTAINER) return false;
      p->hook_states.push_back(std::move(s));
      break;
    }
    case TAG_SCHEDULER: {
      Scheduler sc;
      sc.policy = r.u32();
      sc.flags = r.u64();
      sc.nice = r.i32();
      sc.priority = r.u32();
      sc.runtime = r.u64();
      sc.deadline = r.u64();
      sc.period = r.u64();
      p->scheduler = sc;
      break;
    }
    case TAG_IO_PRIORITY: {
      IoPriority io;
      io.io_class = r.u32();
      io.priority = r.u32();
      if (io.io_class < 1 || io.io_class > 3 || io.priority > 7) return false;
      p->io_priority = io;
      break;
    }
    case TAG_CPU_AFFINITY: {
      std::vector<uint32_t> cpus;
      uint32_t n = r.u32();
      if (n == 0 || n > CPU_SETSIZE_MAX) return false;
      for (; r.ok() && n > 0; n--) {
        uint32_t cpu = r.u32();
        if (cpu >= CPU_SETSIZE_MAX) return false;
        cpus.push_back(cpu);
      }
      p->cpu_affinity = std::move(cpus);
      break;
    }
    case TAG_PERSONALITY: p->personality = r.u32(); break;
    case TAG_MEMORY_POLICY: {
      MemoryPolicy m;
      m.mode = r.u32();
      m.flags = r.u32();
      uint32_t n = r.u32();
      if (n > CPU_SETSIZE_MAX) return false;
      for (; r.ok() && n > 0; n--) {
        uint32_t node = r.u32();
        if (node >= CPU_SETSIZE_MAX) return false;
        m.nodes.push_back(node);
      }
      p->memory_policy = std::move(m);
      break;
    }
    case TAG_CGROUP2_DIR: p->cgroup2_dir = std::string(payload); return true;
    case TAG_MOUNT_IDMAP: {
      if (p->mounts.empty() || p->mounts.back().idmap) return false;
      MountIdmap m;
      m.flags = r.u32();
      m.uid_map = r.str();
      m.gid_map = r.str();
      m.userns_path = r.str();
      m.pointer = r.str();
      p->mounts.back().idmap = std::move(m);
      break;
    }
    case TAG_FDS:
      p->fds.console_socket = r.i32();
      p->fds.exec_fifo = r.i32();
      p->fds.preserved = r.u32();
      break;
    default:
      return false;
  }
  return r.ok() && r.done();
}

}  // namespace

bool decode_plan(std::string_view bytes, Plan* out, std::string* error) {
  Reader r(bytes);
  std::string_view magic = r.bytes(sizeof(PLAN_MAGIC));
  if (!r.ok() || memcmp(magic.data(), PLAN_MAGIC, sizeof(PLAN_MAGIC)) != 0) {
    *error = "not a launch plan (bad magic)";
    return false;
  }
  uint32_t version = r.u32();
  if (version != PLAN_VERSION) {
    *error = "launch plan version " + std::to_string(version) + ", hako-init speaks " + std::to_string(PLAN_VERSION);
    return false;
  }
  uint32_t count = r.u32();
  for (uint32_t i = 0; i < count; i++) {
    uint16_t tag = r.u16();
    r.u16();
    uint32_t len = r.u32();
    std::string_view payload = r.bytes(len);
    if (!r.ok()) {
      *error = "launch plan truncated in record " + std::to_string(i);
      return false;
    }
    if (!decode_record(tag, payload, out)) {
      *error = "launch plan record " + std::to_string(i) + " (tag " + std::to_string(tag) + ") is malformed or unknown";
      return false;
    }
  }
  if (!r.done()) {
    *error = "launch plan has trailing bytes";
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ JSON (for tests)

namespace {

void json_str(std::string& o, std::string_view s) {
  o += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          static const char hex[] = "0123456789abcdef";
          o += "\\u00";
          o += hex[c >> 4];
          o += hex[c & 0xf];
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  o += '"';
}

// 64-bit values travel as decimal strings: JavaScript numbers cannot hold them all.
void json_u64(std::string& o, uint64_t v) { json_str(o, std::to_string(v)); }
void json_i64(std::string& o, int64_t v) { json_str(o, std::to_string(v)); }
void json_num(std::string& o, int64_t v) { o += std::to_string(v); }
void json_hex(std::string& o, std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  o += '"';
  for (unsigned char c : bytes) {
    o += digits[c >> 4];
    o += digits[c & 0xf];
  }
  o += '"';
}

class Obj {
 public:
  explicit Obj(std::string& o) : o_(o) { o_ += '{'; }
  ~Obj() { o_ += '}'; }
  std::string& key(std::string_view k) {
    if (!first_) o_ += ',';
    first_ = false;
    json_str(o_, k);
    o_ += ':';
    return o_;
  }

 private:
  std::string& o_;
  bool first_ = true;
};

template <typename T, typename F>
void json_list(std::string& o, const std::vector<T>& items, F each) {
  o += '[';
  for (size_t i = 0; i < items.size(); i++) {
    if (i) o += ',';
    each(items[i]);
  }
  o += ']';
}

}  // namespace

static void write_plan_json(std::string& o, const Plan& p);

std::string plan_to_json(const Plan& p) {
  std::string o;
  write_plan_json(o, p);
  return o;
}

static void write_plan_json(std::string& o, const Plan& p) {
  Obj root(o);
  json_str(root.key("containerId"), p.container_id);
  json_str(root.key("rootfs"), p.rootfs);
  json_u64(root.key("flags"), p.flags);
  json_u64(root.key("cloneFlags"), p.clone_flags);
  json_list(root.key("joinNamespaces"), p.join_ns, [&](const JoinNs& j) {
    Obj x(o);
    json_u64(x.key("cloneFlag"), j.clone_flag);
    json_str(x.key("path"), j.path);
  });
  json_u64(root.key("rootPropagation"), p.root_propagation);
  json_list(root.key("mounts"), p.mounts, [&](const Mount& m) {
    Obj x(o);
    json_u64(x.key("flags"), m.flags);
    json_u64(x.key("propagation"), m.propagation);
    json_u64(x.key("attrSet"), m.attr_set);
    json_u64(x.key("attrClr"), m.attr_clr);
    json_num(x.key("ext"), m.ext);
    json_str(x.key("source"), m.source);
    json_str(x.key("destination"), m.destination);
    json_str(x.key("type"), m.type);
    json_str(x.key("data"), m.data);
    if (m.idmap) {
      x.key("idmap");
      Obj i(o);
      json_num(i.key("flags"), m.idmap->flags);
      json_str(i.key("uidMap"), m.idmap->uid_map);
      json_str(i.key("gidMap"), m.idmap->gid_map);
      json_str(i.key("usernsPath"), m.idmap->userns_path);
      json_str(i.key("pointer"), m.idmap->pointer);
    }
  });
  json_list(root.key("devices"), p.devices, [&](const Device& d) {
    Obj x(o);
    json_num(x.key("type"), d.type);
    json_num(x.key("major"), d.major);
    json_num(x.key("minor"), d.minor);
    json_num(x.key("mode"), d.mode);
    json_num(x.key("uid"), d.uid);
    json_num(x.key("gid"), d.gid);
    json_num(x.key("bind"), d.bind);
    json_str(x.key("path"), d.path);
  });
  json_list(root.key("symlinks"), p.symlinks, [&](const Symlink& s) {
    Obj x(o);
    json_str(x.key("target"), s.target);
    json_str(x.key("link"), s.link);
  });
  json_list(root.key("maskedPaths"), p.masked_paths, [&](const std::string& s) { json_str(o, s); });
  json_list(root.key("readonlyPaths"), p.readonly_paths, [&](const std::string& s) { json_str(o, s); });
  if (p.hostname) json_str(root.key("hostname"), *p.hostname);
  if (p.domainname) json_str(root.key("domainname"), *p.domainname);
  json_list(root.key("timeOffsets"), p.time_offsets, [&](const TimeOffset& t) {
    Obj x(o);
    json_num(x.key("clock"), t.clock);
    json_i64(x.key("secs"), t.secs);
    json_num(x.key("nanos"), t.nanos);
  });
  json_list(root.key("sysctls"), p.sysctls, [&](const Sysctl& s) {
    Obj x(o);
    json_str(x.key("key"), s.key);
    json_str(x.key("value"), s.value);
  });
  json_list(root.key("args"), p.args, [&](const std::string& s) { json_str(o, s); });
  json_list(root.key("env"), p.env, [&](const std::string& s) { json_str(o, s); });
  json_str(root.key("cwd"), p.cwd);
  json_num(root.key("uid"), p.uid);
  json_num(root.key("gid"), p.gid);
  json_num(root.key("umask"), p.umask);
  json_list(root.key("additionalGids"), p.additional_gids, [&](uint32_t g) { json_num(o, g); });
  json_list(root.key("rlimits"), p.rlimits, [&](const Rlimit& l) {
    Obj x(o);
    json_num(x.key("resource"), l.resource);
    json_u64(x.key("soft"), l.soft);
    json_u64(x.key("hard"), l.hard);
  });
  if (p.oom_score_adj) json_num(root.key("oomScoreAdj"), *p.oom_score_adj);
  if (p.console_size) {
    Obj x(root.key("consoleSize"));
    json_num(x.key("rows"), p.console_size->rows);
    json_num(x.key("cols"), p.console_size->cols);
  }
  if (p.capabilities) {
    Obj x(root.key("capabilities"));
    json_u64(x.key("bounding"), p.capabilities->bounding);
    json_u64(x.key("effective"), p.capabilities->effective);
    json_u64(x.key("permitted"), p.capabilities->permitted);
    json_u64(x.key("inheritable"), p.capabilities->inheritable);
    json_u64(x.key("ambient"), p.capabilities->ambient);
  }
  if (p.seccomp) {
    Obj x(root.key("seccomp"));
    json_num(x.key("flags"), p.seccomp->flags);
    json_num(x.key("listenerSocket"), p.seccomp->listener_socket);
    json_hex(x.key("program"), p.seccomp->program);
  }
  {
    Obj x(root.key("fds"));
    json_num(x.key("consoleSocket"), p.fds.console_socket);
    json_num(x.key("execFifo"), p.fds.exec_fifo);
    json_num(x.key("preserved"), p.fds.preserved);
  }
  json_list(root.key("hooks"), p.hooks, [&](const Hook& h) {
    Obj x(o);
    json_num(x.key("kind"), h.kind);
    json_num(x.key("timeout"), h.timeout);
    json_num(x.key("hasEnv"), h.has_env);
    json_str(x.key("path"), h.path);
    json_list(x.key("args"), h.args, [&](const std::string& s) { json_str(o, s); });
    json_list(x.key("env"), h.env, [&](const std::string& s) { json_str(o, s); });
  });
  json_list(root.key("hookStates"), p.hook_states, [&](const HookState& s) {
    Obj x(o);
    json_num(x.key("kind"), s.kind);
    json_str(x.key("head"), s.head);
    json_str(x.key("tail"), s.tail);
  });
  if (p.scheduler) {
    Obj x(root.key("scheduler"));
    json_num(x.key("policy"), p.scheduler->policy);
    json_u64(x.key("flags"), p.scheduler->flags);
    json_num(x.key("nice"), p.scheduler->nice);
    json_num(x.key("priority"), p.scheduler->priority);
    json_u64(x.key("runtime"), p.scheduler->runtime);
    json_u64(x.key("deadline"), p.scheduler->deadline);
    json_u64(x.key("period"), p.scheduler->period);
  }
  if (p.io_priority) {
    Obj x(root.key("ioPriority"));
    json_num(x.key("class"), p.io_priority->io_class);
    json_num(x.key("priority"), p.io_priority->priority);
  }
  if (p.cpu_affinity) json_list(root.key("cpuAffinity"), *p.cpu_affinity, [&](uint32_t c) { json_num(o, c); });
  if (p.personality) json_num(root.key("personality"), *p.personality);
  if (p.memory_policy) {
    Obj x(root.key("memoryPolicy"));
    json_num(x.key("mode"), p.memory_policy->mode);
    json_num(x.key("flags"), p.memory_policy->flags);
    json_list(x.key("nodes"), p.memory_policy->nodes, [&](uint32_t n) { json_num(o, n); });
  }
  if (p.cgroup2_dir) json_str(root.key("cgroup2Dir"), *p.cgroup2_dir);
}

}  // namespace hako
