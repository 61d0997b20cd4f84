// Seccomp filters compiled with libseccomp, in the parent: the init only loads the bytes.
//
// libseccomp is not needed to build hako: the few functions used here are declared below
// (their ABI is libseccomp.so.2's, stable since 2.0) and looked up with dlopen the first
// time a config asks for seccomp or `features` runs. TypeScript (src/plan/seccomp.ts)
// has already turned the profile into numbers (actions, operators, argument values) and
// split it into rules; this file only makes the libseccomp calls and exports the BPF.
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "errors.h"
#include "seccomp.h"

namespace hako {
namespace {

// ---------------------------------------------------------------- libseccomp.so.2's ABI

using scmp_filter_ctx = void*;

struct scmp_arg_cmp {
  unsigned int arg;
  int op;  // enum scmp_compare: SCMP_CMP_NE 1 .. SCMP_CMP_MASKED_EQ 7
  uint64_t datum_a;
  uint64_t datum_b;
};

struct scmp_version {
  unsigned int major, minor, micro;
};

constexpr int SCMP_FLTATR_CTL_OPTIMIZE = 8;  // enum scmp_filter_attr (libseccomp >= 2.5)
constexpr int NR_SCMP_ERROR = -1;            // __NR_SCMP_ERROR: an unknown syscall name

struct Libseccomp {
  void* handle = nullptr;
  std::string error;  // why it could not be loaded
  scmp_filter_ctx (*init)(uint32_t def_action) = nullptr;
  void (*release)(scmp_filter_ctx ctx) = nullptr;
  uint32_t (*arch_resolve_name)(const char* name) = nullptr;
  int (*arch_add)(scmp_filter_ctx ctx, uint32_t arch_token) = nullptr;
  int (*attr_set)(scmp_filter_ctx ctx, int attr, uint32_t value) = nullptr;
  int (*syscall_resolve_name)(const char* name) = nullptr;
  int (*syscall_resolve_name_arch)(uint32_t arch_token, const char* name) = nullptr;
  int (*rule_add_array)(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
                        const scmp_arg_cmp* arg_array) = nullptr;
  int (*export_bpf)(scmp_filter_ctx ctx, int fd) = nullptr;
  const scmp_version* (*version)() = nullptr;
  unsigned int (*api_get)() = nullptr;
};

template <typename F>
bool bind(Libseccomp& lib, F*& fn, const char* name) {
  fn = reinterpret_cast<F*>(::dlsym(lib.handle, name));
  if (!fn) lib.error = std::string("symbol ") + name + " missing";
  return fn != nullptr;
}

// Loaded once per process; nullptr (with the reason in *why) when it cannot be.
const Libseccomp* libseccomp(std::string* why) {
  static Libseccomp lib;
  static bool tried = false;
  if (!tried) {
    tried = true;
    lib.handle = ::dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
      const char* e = ::dlerror();
      lib.error = e ? e : "dlopen failed";
    } else if (!(bind(lib, lib.init, "seccomp_init") && bind(lib, lib.release, "seccomp_release") &&
                 bind(lib, lib.arch_resolve_name, "seccomp_arch_resolve_name") &&
                 bind(lib, lib.arch_add, "seccomp_arch_add") && bind(lib, lib.attr_set, "seccomp_attr_set") &&
                 bind(lib, lib.syscall_resolve_name, "seccomp_syscall_resolve_name") &&
                 bind(lib, lib.syscall_resolve_name_arch, "seccomp_syscall_resolve_name_arch") &&
                 bind(lib, lib.rule_add_array, "seccomp_rule_add_array") &&
                 bind(lib, lib.export_bpf, "seccomp_export_bpf") && bind(lib, lib.version, "seccomp_version") &&
                 bind(lib, lib.api_get, "seccomp_api_get"))) {
      ::dlclose(lib.handle);
      lib.handle = nullptr;
    }
  }
  if (!lib.handle) {
    *why = lib.error;
    return nullptr;
  }
  return &lib;
}

// Throws "seccomp: libseccomp.so.2 not found: <reason>" and returns nullptr when missing.
const Libseccomp* need_libseccomp(Napi::Env env) {
  std::string why;
  const Libseccomp* lib = libseccomp(&why);
  if (!lib) {
    Napi::Error e = Napi::Error::New(env, "seccomp: libseccomp.so.2 not found: " + why);
    e.Set("code", Napi::String::New(env, "ELIBSECCOMP"));
    e.ThrowAsJavaScriptException();
  }
  return lib;
}

class FilterCtx {
 public:
  FilterCtx(const Libseccomp* lib, scmp_filter_ctx ctx) : lib_(lib), ctx_(ctx) {}
  FilterCtx(const FilterCtx&) = delete;
  FilterCtx& operator=(const FilterCtx&) = delete;
  ~FilterCtx() {
    if (ctx_) lib_->release(ctx_);
  }
  scmp_filter_ctx get() const { return ctx_; }

 private:
  const Libseccomp* lib_;
  scmp_filter_ctx ctx_;
};

// An Error naming the failed libseccomp call; `at` says which part of the request it was
// about ("rule" or "arch" -> index), so TypeScript can name the JSON pointer.
void throw_seccomp(Napi::Env env, const std::string& what, int rc, const char* at = nullptr, uint32_t index = 0) {
  int err = rc < 0 ? -rc : EINVAL;
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  if (at) e.Set(at, Napi::Number::New(env, index));
  e.ThrowAsJavaScriptException();
}

uint64_t to_u64(Napi::Value v) {
  if (v.IsBigInt()) {
    bool lossless = false;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
}

bool read_all(int fd, std::vector<uint8_t>* out) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = ::pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// ---------------------------------------------------------------- the ENOSYS stub

constexpr uint32_t RET_ERRNO_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;
constexpr uint32_t X32_SYSCALL_BIT = 0x40000000;
constexpr uint32_t SCMP_ARCH_X32_TOKEN = EM_X86_64 | __AUDIT_ARCH_LE;  // libseccomp's own value: x32 has no AUDIT_ARCH
constexpr uint32_t OFFSET_NR = 0;                                     // struct seccomp_data
constexpr uint32_t OFFSET_ARCH = 4;

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

// One test within an architecture: the x86_64 and x32 ABIs share AUDIT_ARCH_X86_64 and
// differ by X32_SYSCALL_BIT in the number.
struct StubCheck {
  enum Mode { kAny, kBitClear, kBitSet } mode;
  uint32_t highest;
};

// A syscall number above the highest the profile names on its architecture gets ENOSYS;
// everything else goes on to libseccomp's program, which starts with its own loads.
// Per architecture (in the order given):
//   ld [arch]; jeq ARCH, 0, <past this section>; ld [nr];
//   [s390: jeq 0 -> ret]                 setup(2) multiplexes numbers the kernel lacks
//   [jset X32_SYSCALL_BIT, skip the check when the ABI is the other one]
//   jgt HIGHEST -> ret ...; ja <the program>; ret ERRNO(ENOSYS)
// Every conditional jump stays inside its section; only `ja` (32 bits) goes far.
std::vector<sock_filter> enosys_stub(const std::vector<std::pair<uint32_t, std::vector<StubCheck>>>& arches) {
  std::vector<std::vector<sock_filter>> sections;
  for (const auto& [audit, checks] : arches) {
    std::vector<sock_filter> body;  // after the jeq, up to the ret
    body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, OFFSET_NR));
    std::vector<size_t> to_ret;  // indexes of jumps whose jt goes to the ret
    if (audit == AUDIT_ARCH_S390 || audit == AUDIT_ARCH_S390X) {
      to_ret.push_back(body.size());
      body.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0));
    }
    for (const StubCheck& c : checks) {
      if (c.mode == StubCheck::kBitClear) body.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 1, 0));
      if (c.mode == StubCheck::kBitSet) body.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 0, 1));
      to_ret.push_back(body.size());
      body.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, c.highest, 0, 0));
    }
    body.push_back(stmt(BPF_JMP | BPF_JA, 0));  // to the program: filled in below
    const size_t ret = body.size();
    body.push_back(stmt(BPF_RET | BPF_K, RET_ERRNO_ENOSYS));
    for (size_t i : to_ret) body[i].jt = static_cast<uint8_t>(ret - i - 1);
    std::vector<sock_filter> section;
    section.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, OFFSET_ARCH));
    section.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, static_cast<uint8_t>(body.size())));
    section.insert(section.end(), body.begin(), body.end());
    sections.push_back(std::move(section));
  }
  std::vector<sock_filter> out;
  size_t total = 0;
  for (const auto& s : sections) total += s.size();
  for (auto& s : sections) {
    for (sock_filter& insn : s) {
      if (insn.code == (BPF_JMP | BPF_JA)) insn.k = static_cast<uint32_t>(total - (out.size() + 1));
      out.push_back(insn);
    }
  }
  return out;
}

// The stub for req.enosys ({arches, names}), or nothing. A name unknown on an architecture
// (or only a pseudo-syscall there, a negative number) does not count.
std::vector<sock_filter> stub_for(const Libseccomp* lib, Napi::Object req) {
  Napi::Value v = req.Get("enosys");
  if (!v.IsObject()) return {};
  Napi::Object en = v.As<Napi::Object>();
  Napi::Array arches = en.Get("arches").As<Napi::Array>();
  Napi::Array names = en.Get("names").As<Napi::Array>();
  std::vector<std::string> list;
  for (uint32_t i = 0; i < names.Length(); i++) list.push_back(names.Get(i).As<Napi::String>().Utf8Value());
  std::vector<std::pair<uint32_t, std::vector<StubCheck>>> plan;
  for (uint32_t i = 0; i < arches.Length(); i++) {
    uint32_t token = lib->arch_resolve_name(arches.Get(i).As<Napi::String>().Utf8Value().c_str());
    if (token == 0) continue;  // refused by the compile already
    int64_t highest = -1;
    for (const std::string& name : list) {
      int nr = lib->syscall_resolve_name_arch(token, name.c_str());
      if (nr >= 0 && nr > highest) highest = nr;
    }
    if (highest <= 0) continue;
    const bool x32 = token == SCMP_ARCH_X32_TOKEN;
    const uint32_t audit = x32 ? AUDIT_ARCH_X86_64 : token;
    StubCheck::Mode mode = audit != AUDIT_ARCH_X86_64 ? StubCheck::kAny : x32 ? StubCheck::kBitSet : StubCheck::kBitClear;
    auto it = plan.begin();
    while (it != plan.end() && it->first != audit) ++it;
    if (it == plan.end()) it = plan.insert(plan.end(), {audit, {}});
    it->second.push_back({mode, static_cast<uint32_t>(highest)});
  }
  return enosys_stub(plan);
}

// seccompCompile({defaultAction, arches: string[], optimize, rules: [{name, action, args:
// [{index, op, value, valueTwo}]}], enosys?: {arches, names}}) -> {program: Buffer, skipped: number[]}
// With enosys, the ENOSYS stub goes in front of libseccomp's program.
// arches are libseccomp's names ("x86_64"); the native one is always in the filter.
// skipped lists the rules whose syscall name libseccomp does not know (runc skips them).
Napi::Value Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Libseccomp* lib = need_libseccomp(env);
  if (!lib) return env.Undefined();
  Napi::Object req = info[0].As<Napi::Object>();

  uint32_t def_action = req.Get("defaultAction").As<Napi::Number>().Uint32Value();
  FilterCtx ctx(lib, lib->init(def_action));
  if (!ctx.get()) {
    throw_seccomp(env, "seccomp_init: default action " + std::to_string(def_action) + " refused", -EINVAL);
    return env.Undefined();
  }

  Napi::Array arches = req.Get("arches").As<Napi::Array>();
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).As<Napi::String>().Utf8Value();
    uint32_t token = lib->arch_resolve_name(name.c_str());
    if (token == 0) {
      throw_seccomp(env, "seccomp: architecture \"" + name + "\" is not known to libseccomp", -EINVAL, "arch", i);
      return env.Undefined();
    }
    int rc = lib->arch_add(ctx.get(), token);
    if (rc < 0 && rc != -EEXIST) {
      throw_seccomp(env, "seccomp_arch_add(" + name + ")", rc, "arch", i);
      return env.Undefined();
    }
  }
  // A binary tree of syscalls for long profiles (as runc, above 32 rules); older libraries
  // without the attribute keep the linear list.
  if (req.Get("optimize").ToBoolean()) lib->attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  Napi::Array rules = req.Get("rules").As<Napi::Array>();
  Napi::Array skipped = Napi::Array::New(env);
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object rule = rules.Get(i).As<Napi::Object>();
    std::string name = rule.Get("name").As<Napi::String>().Utf8Value();
    int nr = lib->syscall_resolve_name(name.c_str());
    if (nr == NR_SCMP_ERROR) {
      skipped.Set(skipped.Length(), Napi::Number::New(env, i));
      continue;
    }
    uint32_t action = rule.Get("action").As<Napi::Number>().Uint32Value();
    Napi::Array args = rule.Get("args").As<Napi::Array>();
    std::vector<scmp_arg_cmp> cmps(args.Length());
    for (uint32_t k = 0; k < args.Length(); k++) {
      Napi::Object a = args.Get(k).As<Napi::Object>();
      cmps[k].arg = a.Get("index").As<Napi::Number>().Uint32Value();
      cmps[k].op = a.Get("op").As<Napi::Number>().Int32Value();
      cmps[k].datum_a = to_u64(a.Get("value"));
      cmps[k].datum_b = to_u64(a.Get("valueTwo"));
    }
    if (env.IsExceptionPending()) return env.Undefined();
    int rc = lib->rule_add_array(ctx.get(), action, nr, static_cast<unsigned int>(cmps.size()), cmps.data());
    if (rc < 0) {
      throw_seccomp(env, "seccomp_rule_add(" + name + ")", rc, "rule", i);
      return env.Undefined();
    }
  }

  unique_fd out(::memfd_create("hako-seccomp", MFD_CLOEXEC));
  if (!out) {
    throw_errno(env, errno, "memfd_create");
    return env.Undefined();
  }
  int rc = lib->export_bpf(ctx.get(), out.get());
  if (rc < 0) {
    throw_seccomp(env, "seccomp_export_bpf", rc);
    return env.Undefined();
  }
  std::vector<uint8_t> program;
  if (!read_all(out.get(), &program)) {
    throw_errno(env, errno ? errno : EIO, "read", "the exported seccomp program");
    return env.Undefined();
  }
  std::vector<sock_filter> stub = stub_for(lib, req);
  if (env.IsExceptionPending()) return env.Undefined();
  if (!stub.empty()) {
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(stub.data());
    program.insert(program.begin(), bytes, bytes + stub.size() * sizeof(sock_filter));
  }
  if (program.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    throw_seccomp(env, "seccomp: the program has " + std::to_string(program.size() / sizeof(sock_filter)) +
                           " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS), -E2BIG);
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("program", Napi::Buffer<uint8_t>::Copy(env, program.data(), program.size()));
  result.Set("skipped", skipped);
  return result;
}

// seccompLibrary() -> {version: "2.5.4", api: 6, path: "/lib/.../libseccomp.so.2.5.4"};
// throws when libseccomp.so.2 cannot be loaded.
Napi::Value Library(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Libseccomp* lib = need_libseccomp(env);
  if (!lib) return env.Undefined();
  const scmp_version* v = lib->version();
  Napi::Object result = Napi::Object::New(env);
  std::string version = v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) : "";
  result.Set("version", Napi::String::New(env, version));
  result.Set("api", Napi::Number::New(env, lib->api_get()));
  Dl_info where;
  if (::dladdr(reinterpret_cast<void*>(lib->version), &where) != 0 && where.dli_fname) {
    result.Set("path", Napi::String::New(env, where.dli_fname));
  }
  return result;
}

// seccompArchToken(name) -> libseccomp's token for "x86_64", "aarch64", ...; 0 if unknown.
Napi::Value ArchToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Libseccomp* lib = need_libseccomp(env);
  if (!lib) return env.Undefined();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, lib->arch_resolve_name(name.c_str()));
}

// seccompFlagSupported(flags) -> whether the kernel takes these SECCOMP_FILTER_FLAG_* bits.
// seccomp(SET_MODE_FILTER, flags, NULL) checks the flags first and then fails to read the
// program (EFAULT): nothing is installed, and no privilege is needed.
Napi::Value FlagSupported(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned int flags = info[0].As<Napi::Number>().Uint32Value();
  long rc = ::syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, nullptr);
  return Napi::Boolean::New(env, rc < 0 && errno == EFAULT);
}

// seccompSendToAgent(path, payload, fd): connects to the agent's unix socket at path and
// sends payload (the container process state, JSON) with fd as its one SCM_RIGHTS fd, in
// one sendmsg, as the runtime-spec's linux.seccomp.listenerPath asks.
Napi::Value SendToAgent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string payload = info[1].As<Napi::String>().Utf8Value();
  int fd = info[2].As<Napi::Number>().Int32Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw_errno(env, ENAMETOOLONG, "connect", path.c_str());
    return env.Undefined();
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    throw_errno(env, errno, "socket");
    return env.Undefined();
  }
  int rc;
  do rc = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    throw_errno(env, errno, "connect", path.c_str());
    return env.Undefined();
  }
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    throw_errno(env, errno, "sendmsg", path.c_str());
    return env.Undefined();
  }
  if (static_cast<size_t>(n) != payload.size()) {
    throw_errno(env, EMSGSIZE, "sendmsg", path.c_str());
    return env.Undefined();
  }
  return env.Undefined();
}

}  // namespace

void RegisterSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompCompile", Napi::Function::New(env, Compile, "seccompCompile"));
  exports.Set("seccompLibrary", Napi::Function::New(env, Library, "seccompLibrary"));
  exports.Set("seccompArchToken", Napi::Function::New(env, ArchToken, "seccompArchToken"));
  exports.Set("seccompSendToAgent", Napi::Function::New(env, SendToAgent, "seccompSendToAgent"));
  exports.Set("seccompFlagSupported", Napi::Function::New(env, FlagSupported, "seccompFlagSupported"));
}

}  // namespace hako
