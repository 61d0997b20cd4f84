// cgroup v2 has no devices.allow/deny: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
// the cgroup decides each access. The program is made from the state the v1 rules leave
// (src/cgroups/devices.ts applyDeviceRules: a default and its exceptions), so a container
// gets the same answers on v1 and v2, as the kernel gives them on v1:
//   - a default-deny state allows an access when one allow exception covers every bit
//     of it (type, major and minor matching, -1 matching any);
//   - a default-allow state denies an access when a deny exception shares any bit of it.
// The first exception that decides wins; none deciding gives the default.
//
// Context (struct bpf_cgroup_dev_ctx): access_type = access << 16 | type, major, minor.
// Registers: r2 type, r3 access, r4 major, r5 minor, r1 scratch, r0 the answer (1 allow).
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "errors.h"

namespace hako {
namespace {

constexpr const char kProgName[] = "hako_devices";

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn ldx_w(uint8_t dst, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, 1, off, 0); }
bpf_insn alu32_k(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov64_r(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
// 32-bit compares (the context fields are u32); the offset is patched once the block's length is known.
bpf_insn jmp_k(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_JMP32 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

struct Exception {
  int type;  // BPF_DEVCG_DEV_*
  int64_t major, minor;  // -1: any
  int access;  // BPF_DEVCG_ACC_* bits
};

int access_bits(const std::string& access) {
  int bits = 0;
  for (char c : access) {
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
  }
  return bits;
}

std::vector<bpf_insn> build_program(bool default_allow, const std::vector<Exception>& exceptions) {
  std::vector<bpf_insn> p;
  p.push_back(ldx_w(2, 0));
  p.push_back(alu32_k(BPF_AND, 2, 0xffff));
  p.push_back(ldx_w(3, 0));
  p.push_back(alu32_k(BPF_RSH, 3, 16));
  p.push_back(ldx_w(4, 4));
  p.push_back(ldx_w(5, 8));
  for (const Exception& e : exceptions) {
    std::vector<size_t> jumps;  // to the next block
    if (e.type != 0) {
      jumps.push_back(p.size());
      p.push_back(jmp_k(BPF_JNE, 2, e.type));
    }
    if (e.major >= 0) {
      jumps.push_back(p.size());
      p.push_back(jmp_k(BPF_JNE, 4, static_cast<int32_t>(e.major)));
    }
    if (e.minor >= 0) {
      jumps.push_back(p.size());
      p.push_back(jmp_k(BPF_JNE, 5, static_cast<int32_t>(e.minor)));
    }
    p.push_back(mov64_r(1, 3));
    if (default_allow) {
      // a deny exception: decides when the access shares a bit with it
      p.push_back(alu32_k(BPF_AND, 1, e.access));
      jumps.push_back(p.size());
      p.push_back(jmp_k(BPF_JEQ, 1, 0));
    } else {
      // an allow exception: decides when it covers every bit of the access
      p.push_back(alu32_k(BPF_AND, 1, ~e.access & 0xffff));
      jumps.push_back(p.size());
      p.push_back(jmp_k(BPF_JNE, 1, 0));
    }
    p.push_back(alu32_k(BPF_MOV, 0, default_allow ? 0 : 1));
    p.push_back(exit_insn());
    for (size_t j : jumps) p[j].off = static_cast<int16_t>(p.size() - j - 1);
  }
  p.push_back(alu32_k(BPF_MOV, 0, default_allow ? 1 : 0));
  p.push_back(exit_insn());
  return p;
}

// The state from JS: {defaultAllow, exceptions: [{type: 'c'|'b', major, minor, access}]}.
// Returns false (a JS exception pending) when it is malformed.
bool read_state(Napi::Env env, Napi::Value v, bool* default_allow, std::vector<Exception>* out) {
  if (!v.IsObject()) {
    Napi::TypeError::New(env, "device state: an object expected").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  *default_allow = o.Get("defaultAllow").ToBoolean();
  Napi::Value ex = o.Get("exceptions");
  if (!ex.IsArray()) {
    Napi::TypeError::New(env, "device state: exceptions must be an array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array arr = ex.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) {
      Napi::TypeError::New(env, "device state: each exception must be an object").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Object r = item.As<Napi::Object>();
    std::string type = r.Get("type").ToString().Utf8Value();
    Exception e{};
    if (type == "c") e.type = BPF_DEVCG_DEV_CHAR;
    else if (type == "b") e.type = BPF_DEVCG_DEV_BLOCK;
    else if (type == "a") e.type = 0;
    else {
      Napi::TypeError::New(env, "device state: type must be a, b or c").ThrowAsJavaScriptException();
      return false;
    }
    e.major = r.Get("major").ToNumber().Int64Value();
    e.minor = r.Get("minor").ToNumber().Int64Value();
    if (e.major > UINT32_MAX || e.minor > UINT32_MAX) {
      Napi::RangeError::New(env, "device state: major or minor out of range").ThrowAsJavaScriptException();
      return false;
    }
    e.access = access_bits(r.Get("access").ToString().Utf8Value());
    out->push_back(e);
  }
  return true;
}

// deviceProgram(state) -> Buffer of struct bpf_insn (no privilege needed: tests read it).
Napi::Value DeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool default_allow = false;
  std::vector<Exception> exceptions;
  if (!read_state(env, info[0], &default_allow, &exceptions)) return env.Undefined();
  std::vector<bpf_insn> p = build_program(default_allow, exceptions);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(p.data()), p.size() * sizeof(bpf_insn));
}

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

// The ids of the programs attached to the cgroup for BPF_CGROUP_DEVICE.
bool query_programs(int cgfd, std::vector<uint32_t>* ids) {
  for (uint32_t cap = 16;; cap *= 4) {
    ids->assign(cap, 0);
    bpf_attr a{};
    a.query.target_fd = static_cast<uint32_t>(cgfd);
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = reinterpret_cast<uintptr_t>(ids->data());
    a.query.prog_cnt = cap;
    if (bpf(BPF_PROG_QUERY, &a) == 0) {
      ids->resize(a.query.prog_cnt);
      return true;
    }
    if (errno != ENOSPC || cap > 4096) return false;
  }
}

// The programs hako attached before (named kProgName), as fds.
bool hako_programs(int cgfd, std::vector<unique_fd>* out) {
  std::vector<uint32_t> ids;
  if (!query_programs(cgfd, &ids)) return false;
  for (uint32_t id : ids) {
    bpf_attr a{};
    a.prog_id = id;
    unique_fd fd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &a)));
    if (!fd) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return false;
    }
    bpf_prog_info pi{};
    bpf_attr q{};
    q.info.bpf_fd = static_cast<uint32_t>(fd.get());
    q.info.info_len = sizeof(pi);
    q.info.info = reinterpret_cast<uintptr_t>(&pi);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, &q) != 0) return false;
    if (strncmp(pi.name, kProgName, sizeof(pi.name)) == 0) out->push_back(std::move(fd));
  }
  return true;
}

// attachDeviceProgram(cgroupDir, program): load it, attach it to the cgroup (ALLOW_MULTI,
// in place of the program hako attached before, if any) and detach any other of hako's.
Napi::Value AttachDeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> prog = info[1].As<Napi::Buffer<uint8_t>>();
  if (prog.Length() == 0 || prog.Length() % sizeof(bpf_insn) != 0) {
    Napi::TypeError::New(env, "attachDeviceProgram: not a BPF program").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  unique_fd cgfd(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!cgfd) {
    throw_errno(env, errno, "open", dir.c_str());
    return env.Undefined();
  }
  static char license[] = "Apache";
  std::vector<char> log(65536, 0);
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uintptr_t>(prog.Data());
  a.insn_cnt = static_cast<uint32_t>(prog.Length() / sizeof(bpf_insn));
  a.license = reinterpret_cast<uintptr_t>(license);
  a.log_buf = reinterpret_cast<uintptr_t>(log.data());
  a.log_size = static_cast<uint32_t>(log.size());
  a.log_level = 1;
  memcpy(a.prog_name, kProgName, sizeof(kProgName));
  unique_fd pfd(static_cast<int>(bpf(BPF_PROG_LOAD, &a)));
  if (!pfd && errno == ENOSPC) {
    // the verifier's log did not fit: load again without it
    a.log_buf = 0;
    a.log_size = 0;
    a.log_level = 0;
    pfd.reset(static_cast<int>(bpf(BPF_PROG_LOAD, &a)));
  }
  // The verifier gives up with EAGAIN when a signal is pending (a child's SIGCHLD will
  // do): the program is fine, load it again.
  for (int tries = 0; !pfd && errno == EAGAIN && tries < 5; tries++) {
    if (log.size() > 0) log[0] = '\0';
    pfd.reset(static_cast<int>(bpf(BPF_PROG_LOAD, &a)));
  }
  if (!pfd) {
    int err = errno;
    std::string what = "bpf(BPF_PROG_LOAD)";
    if (log[0]) what += " (verifier: " + std::string(log.data()) + ")";
    throw_errno(env, err, what.c_str(), dir.c_str());
    return env.Undefined();
  }
  std::vector<unique_fd> old;
  if (!hako_programs(cgfd.get(), &old)) {
    throw_errno(env, errno, "bpf(BPF_PROG_QUERY)", dir.c_str());
    return env.Undefined();
  }
  bpf_attr at{};
  at.target_fd = static_cast<uint32_t>(cgfd.get());
  at.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  size_t replaced = 0;
  if (!old.empty()) {
    at.attach_flags |= BPF_F_REPLACE;
    at.replace_bpf_fd = static_cast<uint32_t>(old[0].get());
    replaced = 1;
  }
  if (bpf(BPF_PROG_ATTACH, &at) != 0) {
    throw_errno(env, errno, "bpf(BPF_PROG_ATTACH)", dir.c_str());
    return env.Undefined();
  }
  for (size_t i = replaced; i < old.size(); i++) {
    bpf_attr d{};
    d.target_fd = static_cast<uint32_t>(cgfd.get());
    d.attach_bpf_fd = static_cast<uint32_t>(old[i].get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &d) != 0 && errno != ENOENT) {
      throw_errno(env, errno, "bpf(BPF_PROG_DETACH)", dir.c_str());
      return env.Undefined();
    }
  }
  return env.Undefined();
}

// deviceProgramCount(cgroupDir) -> how many of hako's device programs the cgroup has.
Napi::Value DeviceProgramCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  unique_fd cgfd(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!cgfd) {
    throw_errno(env, errno, "open", dir.c_str());
    return env.Undefined();
  }
  std::vector<unique_fd> progs;
  if (!hako_programs(cgfd.get(), &progs)) {
    throw_errno(env, errno, "bpf(BPF_PROG_QUERY)", dir.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(progs.size()));
}

}  // namespace

void RegisterDevices(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceProgram", Napi::Function::New(env, DeviceProgram, "deviceProgram"));
  exports.Set("attachDeviceProgram", Napi::Function::New(env, AttachDeviceProgram, "attachDeviceProgram"));
  exports.Set("deviceProgramCount", Napi::Function::New(env, DeviceProgramCount, "deviceProgramCount"));
}

}  // namespace hako
