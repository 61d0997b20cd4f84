// The systemd cgroup driver's calls to systemd's manager (org.freedesktop.systemd1) over
// the system bus, with sd-bus from libsystemd: a well-kept client, not the protocol by
// hand. libsystemd0 ships no headers in the runtime package, so the few functions used are
// declared here as sd-bus.h declares them (a stable, documented C ABI) and resolved with
// dlopen on first use: a command without --systemd-cgroup never loads the library.
//
// A unit's job is waited for as runc does: the JobRemoved signal of the manager, matched
// (AddMatch, sent without waiting for its reply) before the call that makes the job, so
// the signal cannot be missed (no sender in the match: a direct connection to systemd
// carries none); the whole start is one round trip plus the job's time.
#include "systemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "front/front.h"

extern "C" {
typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_slot sd_bus_slot;
typedef struct {
  const char* name;
  const char* message;
  int _need_free;
} sd_bus_error;
typedef int (*sd_bus_message_handler_t)(sd_bus_message* m, void* userdata, sd_bus_error* ret_error);
}

namespace hako {
namespace {

constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kPrivateSocket = "/run/systemd/private";
constexpr uint64_t kJobTimeoutUsec = 30ull * 1000 * 1000;  // runc's 30 s

/** A failed call: the D-Bus error's name (empty for a local failure) and its text. */
struct BusError : std::runtime_error {
  std::string name;
  BusError(std::string n, const std::string& text) : std::runtime_error(text), name(std::move(n)) {}
};

struct SdBus {
  int (*open_system)(sd_bus**);
  int (*bus_new)(sd_bus**);
  int (*set_address)(sd_bus*, const char*);
  int (*start)(sd_bus*);
  sd_bus* (*flush_close_unref)(sd_bus*);
  int (*match_signal_async)(sd_bus*, sd_bus_slot**, const char*, const char*, const char*, const char*, sd_bus_message_handler_t,
                            sd_bus_message_handler_t, void*);
  int (*new_method_call)(sd_bus*, sd_bus_message**, const char*, const char*, const char*, const char*);
  int (*append_basic)(sd_bus_message*, char, const void*);
  int (*open_container)(sd_bus_message*, char, const char*);
  int (*close_container)(sd_bus_message*);
  int (*call)(sd_bus*, sd_bus_message*, uint64_t, sd_bus_error*, sd_bus_message**);
  int (*read)(sd_bus_message*, const char*, ...);
  int (*process)(sd_bus*, sd_bus_message**);
  int (*wait)(sd_bus*, uint64_t);
  sd_bus_message* (*message_unref)(sd_bus_message*);
  sd_bus_slot* (*slot_unref)(sd_bus_slot*);
  void (*error_free)(sd_bus_error*);
};

const SdBus& lib() {
  static SdBus sd;
  static bool loaded = false;
  if (loaded) return sd;
  void* h = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) throw BusError("", std::string("cannot load libsystemd for the systemd cgroup manager: ") + ::dlerror());
  auto sym = [&](auto& fn, const char* name) {
    void* p = ::dlsym(h, name);
    if (!p) throw BusError("", std::string("libsystemd.so.0 has no ") + name);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  sym(sd.open_system, "sd_bus_open_system");
  sym(sd.bus_new, "sd_bus_new");
  sym(sd.set_address, "sd_bus_set_address");
  sym(sd.start, "sd_bus_start");
  sym(sd.flush_close_unref, "sd_bus_flush_close_unref");
  sym(sd.match_signal_async, "sd_bus_match_signal_async");
  sym(sd.new_method_call, "sd_bus_message_new_method_call");
  sym(sd.append_basic, "sd_bus_message_append_basic");
  sym(sd.open_container, "sd_bus_message_open_container");
  sym(sd.close_container, "sd_bus_message_close_container");
  sym(sd.call, "sd_bus_call");
  sym(sd.read, "sd_bus_message_read");
  sym(sd.process, "sd_bus_process");
  sym(sd.wait, "sd_bus_wait");
  sym(sd.message_unref, "sd_bus_message_unref");
  sym(sd.slot_unref, "sd_bus_slot_unref");
  sym(sd.error_free, "sd_bus_error_free");
  loaded = true;
  return sd;
}

void check(int r, const char* what) {
  if (r < 0) throw BusError("", std::string(what) + ": " + strerror(-r));
}

/**
 * A D-Bus value of any type, by its signature (one complete type): a basic value, an
 * array's items, a struct's fields, a dict entry's key and value, or a variant's content.
 */
struct Value {
  std::string sig;
  uint64_t u = 0;  // y q u t, and b
  int64_t i = 0;   // n i x
  double d = 0;
  std::string s;   // s o g
  std::vector<Value> items;
};

/** One unit property: name and value (the value's signature is the variant's). */
struct Property {
  std::string name;
  Value value;
};

/** The manager's JobRemoved signals seen: job path -> result. */
struct JobWatch {
  std::map<std::string, std::string> removed;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  uint32_t id;
  const char *job, *unit, *result;
  if (lib().read(m, "uoss", &id, &job, &unit, &result) >= 0) static_cast<JobWatch*>(userdata)->removed[job] = result;
  return 0;
}

uint64_t now_usec() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

/** One connection to the system bus for the process, with the JobRemoved match installed. */
class Bus {
 public:
  static Bus& get() {
    static Bus bus;
    bus.open();
    return bus;
  }

  /** Calls Manager.<method>; append writes the arguments; returns the reply (caller unrefs). */
  template <typename Append>
  sd_bus_message* call(const char* method, Append append) {
    const SdBus& sd = lib();
    sd_bus_message* m = nullptr;
    check(sd.new_method_call(bus_, &m, kDestination, kPath, kManager, method), "sd_bus_message_new_method_call");
    sd_bus_message* reply = nullptr;
    sd_bus_error err{nullptr, nullptr, 0};
    int r;
    try {
      append(m);
      r = sd.call(bus_, m, 0, &err, &reply);
    } catch (...) {
      sd.message_unref(m);
      throw;
    }
    sd.message_unref(m);
    if (r < 0) {
      std::string name = err.name ? err.name : "";
      std::string text = err.message ? err.message : (name.empty() ? std::string(strerror(-r)) : name);
      sd.error_free(&err);
      throw BusError(name, text);
    }
    return reply;
  }

  /** Waits for the JobRemoved of `job`; its result ("done", "failed", ...), or "" on timeout. */
  std::string wait_job(const std::string& job) {
    const SdBus& sd = lib();
    uint64_t deadline = now_usec() + kJobTimeoutUsec;
    for (;;) {
      auto it = watch_.removed.find(job);
      if (it != watch_.removed.end()) {
        std::string result = it->second;
        watch_.removed.clear();
        return result;
      }
      int r = sd.process(bus_, nullptr);
      check(r, "sd_bus_process");
      if (r > 0) continue;
      uint64_t now = now_usec();
      if (now >= deadline) return "";
      r = sd.wait(bus_, deadline - now);
      if (r < 0 && r != -EINTR) check(r, "sd_bus_wait");
    }
  }

 private:
  // As root, systemd's own socket (as systemctl does: no bus daemon in between, no Hello,
  // and it works before D-Bus is up); else, or when that fails, the system bus. runc uses
  // both too (the bus first); when neither answers, the private socket's error is the one
  // reported, in runc's (Go's) words.
  // runc 1.1.5's words for any failed connection (libcontainer/cgroups/systemd/dbus.go), its
  // hint included: people search for it.
  static constexpr const char* kConnectFailed =
      "failed to connect to dbus (hint: for rootless containers, maybe you need to install dbus-user-session package, "
      "see https://github.com/opencontainers/runc/blob/master/docs/cgroup-v2.md): ";

  void open() {
    if (bus_) return;
    const SdBus& sd = lib();
    sd_bus* bus = nullptr;
    int private_err = 0;
    if (::geteuid() == 0) {
      private_err = open_private(&bus);
      if (private_err != 0) bus = nullptr;
    }
    if (!bus) {
      int r = sd.open_system(&bus);
      if (r < 0) {
        bus = nullptr;
        if (private_err == 0) private_err = -r;
        throw BusError("", std::string(kConnectFailed) + "dial unix " + kPrivateSocket + ": connect: " + front::errno_text(private_err));
      }
    }
    int r = sd.match_signal_async(bus, &slot_, nullptr, kPath, kManager, "JobRemoved", on_job_removed, nullptr, &watch_);
    if (r < 0) {
      sd.flush_close_unref(bus);
      check(r, "sd_bus_match_signal_async");
    }
    bus_ = bus;
  }

  static int open_private(sd_bus** out) {
    const SdBus& sd = lib();
    sd_bus* bus = nullptr;
    int r = sd.bus_new(&bus);
    if (r < 0) return -r;
    r = sd.set_address(bus, (std::string("unix:path=") + kPrivateSocket).c_str());
    if (r >= 0) r = sd.start(bus);
    if (r < 0) {
      sd.flush_close_unref(bus);
      return -r;
    }
    *out = bus;
    return 0;
  }

  sd_bus* bus_ = nullptr;
  sd_bus_slot* slot_ = nullptr;
  JobWatch watch_;
};

/** The end of the complete type that starts at sig[pos] (one past it), or npos when malformed. */
size_t type_end(const std::string& sig, size_t pos, int depth = 0) {
  if (pos >= sig.size() || depth > 32) return std::string::npos;
  char c = sig[pos];
  if (strchr("ynqiuxtdbsogv", c)) return pos + 1;
  if (c == 'a') return type_end(sig, pos + 1, depth + 1);
  char close = c == '(' ? ')' : c == '{' ? '}' : 0;
  if (!close) return std::string::npos;
  size_t at = pos + 1;
  int n = 0;
  while (at < sig.size() && sig[at] != close) {
    at = type_end(sig, at, depth + 1);
    if (at == std::string::npos) return at;
    n++;
  }
  if (at >= sig.size() || n == 0 || (close == '}' && n != 2)) return std::string::npos;
  return at + 1;
}

/** The complete types a container's signature holds ("(ss)" -> s, s). */
std::vector<std::string> member_types(const std::string& inner) {
  std::vector<std::string> out;
  for (size_t at = 0; at < inner.size();) {
    size_t end = type_end(inner, at);
    if (end == std::string::npos) throw BusError("", "malformed D-Bus signature " + inner);
    out.push_back(inner.substr(at, end - at));
    at = end;
  }
  return out;
}

void append_value(sd_bus_message* m, const Value& v) {
  const SdBus& sd = lib();
  const std::string& sig = v.sig;
  switch (sig[0]) {
    case 'y': { uint8_t x = static_cast<uint8_t>(v.u); check(sd.append_basic(m, 'y', &x), "append y"); return; }
    case 'q': { uint16_t x = static_cast<uint16_t>(v.u); check(sd.append_basic(m, 'q', &x), "append q"); return; }
    case 'u': { uint32_t x = static_cast<uint32_t>(v.u); check(sd.append_basic(m, 'u', &x), "append u"); return; }
    case 't': check(sd.append_basic(m, 't', &v.u), "append t"); return;
    case 'n': { int16_t x = static_cast<int16_t>(v.i); check(sd.append_basic(m, 'n', &x), "append n"); return; }
    case 'i': { int32_t x = static_cast<int32_t>(v.i); check(sd.append_basic(m, 'i', &x), "append i"); return; }
    case 'x': check(sd.append_basic(m, 'x', &v.i), "append x"); return;
    case 'd': check(sd.append_basic(m, 'd', &v.d), "append d"); return;
    case 'b': { int x = v.u ? 1 : 0; check(sd.append_basic(m, 'b', &x), "append b"); return; }
    case 's': case 'o': case 'g': check(sd.append_basic(m, sig[0], v.s.c_str()), "append string"); return;
    case 'a': case '(': case '{': case 'v': {
      char kind = sig[0] == 'a' ? 'a' : sig[0] == '(' ? 'r' : sig[0] == '{' ? 'e' : 'v';
      std::string contents = sig[0] == 'a' ? sig.substr(1) : sig[0] == 'v' ? v.items.at(0).sig : sig.substr(1, sig.size() - 2);
      check(sd.open_container(m, kind, contents.c_str()), "open container");
      for (auto& item : v.items) append_value(m, item);
      check(sd.close_container(m), "close container");
      return;
    }
    default: throw BusError("", "unsupported D-Bus type " + sig);
  }
}

void append_property(sd_bus_message* m, const Property& p) {
  const SdBus& sd = lib();
  check(sd.open_container(m, 'r', "sv"), "open (sv)");
  check(sd.append_basic(m, 's', p.name.c_str()), "append name");
  check(sd.open_container(m, 'v', p.value.sig.c_str()), "open variant");
  append_value(m, p.value);
  check(sd.close_container(m), "close variant");
  check(sd.close_container(m), "close (sv)");
}

void append_properties(sd_bus_message* m, const std::vector<Property>& props) {
  check(lib().open_container(m, 'a', "(sv)"), "open a(sv)");
  for (auto& p : props) append_property(m, p);
  check(lib().close_container(m), "close a(sv)");
}

std::string read_job(sd_bus_message* reply) {
  const char* job = nullptr;
  int r = lib().read(reply, "o", &job);
  std::string out = r >= 0 && job ? job : "";
  lib().message_unref(reply);
  check(r, "read the job");
  return out;
}

void reset_failed(const std::string& unit) {
  try {
    lib().message_unref(Bus::get().call("ResetFailedUnit", [&](sd_bus_message* m) { check(lib().append_basic(m, 's', unit.c_str()), "append"); }));
  } catch (const BusError&) {
    // runc only warns
  }
}

/** StartTransientUnit(unit, "replace", props, []) and its job: "started", or "exists" (UnitExists). */
std::string start_unit(const std::string& unit, const std::vector<Property>& props) {
  Bus& bus = Bus::get();
  sd_bus_message* reply;
  try {
    reply = bus.call("StartTransientUnit", [&](sd_bus_message* m) {
      check(lib().append_basic(m, 's', unit.c_str()), "append");
      check(lib().append_basic(m, 's', "replace"), "append");
      append_properties(m, props);
      check(lib().open_container(m, 'a', "(sa(sv))"), "open aux");
      check(lib().close_container(m), "close aux");
    });
  } catch (const BusError& e) {
    if (e.name == "org.freedesktop.systemd1.UnitExists") return "exists";
    throw;
  }
  std::string result = bus.wait_job(read_job(reply));
  if (result == "done") return "started";
  reset_failed(unit);
  if (result.empty()) throw BusError("", "Timeout waiting for systemd to create " + unit);
  throw BusError("", "error creating systemd unit `" + unit + "`: got `" + result + "`");
}

/**
 * A JS value as a D-Bus value of type `sig`: numbers or bigints for the integer types,
 * numbers for d, booleans, strings; arrays for arrays and structs (a dict: an array of
 * [key, value]); a variant: { signature, value }.
 */
Value value_from(const Napi::Value& js, const std::string& sig, const std::string& what) {
  if (sig.empty() || type_end(sig, 0) != sig.size()) throw BusError("", what + ": malformed D-Bus signature " + sig);
  Value v;
  v.sig = sig;
  auto bad = [&](const char* want) { return BusError("", what + ": a value of type " + sig + " must be " + want); };
  auto integer = [&](bool is_signed) {
    if (js.IsBigInt()) {
      bool lossless;
      if (is_signed) v.i = js.As<Napi::BigInt>().Int64Value(&lossless);
      else v.u = js.As<Napi::BigInt>().Uint64Value(&lossless);
    } else if (js.IsNumber()) {
      if (is_signed) v.i = js.As<Napi::Number>().Int64Value();
      else v.u = static_cast<uint64_t>(js.As<Napi::Number>().Int64Value());
    } else {
      throw bad("a number");
    }
  };
  switch (sig[0]) {
    case 'y': case 'q': case 'u': case 't': integer(false); break;
    case 'n': case 'i': case 'x': integer(true); break;
    case 'd':
      if (!js.IsNumber()) throw bad("a number");
      v.d = js.As<Napi::Number>().DoubleValue();
      break;
    case 'b':
      if (!js.IsBoolean()) throw bad("a boolean");
      v.u = js.As<Napi::Boolean>().Value() ? 1 : 0;
      break;
    case 's': case 'o': case 'g':
      if (!js.IsString()) throw bad("a string");
      v.s = js.As<Napi::String>().Utf8Value();
      break;
    case 'v': {
      if (!js.IsObject() || js.IsArray()) throw bad("{ signature, value }");
      Napi::Object o = js.As<Napi::Object>();
      Napi::Value inner = o.Get("signature");
      if (!inner.IsString()) throw bad("{ signature, value }");
      v.items.push_back(value_from(o.Get("value"), inner.As<Napi::String>().Utf8Value(), what));
      break;
    }
    default: {  // a ( {
      if (!js.IsArray()) throw bad("an array");
      Napi::Array arr = js.As<Napi::Array>();
      if (sig[0] == 'a') {
        std::string item = sig.substr(1);
        for (uint32_t j = 0; j < arr.Length(); j++) v.items.push_back(value_from(arr.Get(j), item, what));
      } else {
        std::vector<std::string> fields = member_types(sig.substr(1, sig.size() - 2));
        if (arr.Length() != fields.size()) throw bad("an array of its fields");
        for (uint32_t j = 0; j < fields.size(); j++) v.items.push_back(value_from(arr.Get(j), fields[j], what));
      }
    }
  }
  return v;
}

std::vector<Property> properties_from(const Napi::Value& v) {
  std::vector<Property> out;
  if (!v.IsArray()) throw BusError("", "unit properties must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Array e = arr.Get(i).As<Napi::Array>();
    Property p;
    p.name = e.Get(0u).As<Napi::String>().Utf8Value();
    p.value = value_from(e.Get(2u), e.Get(1u).As<Napi::String>().Utf8Value(), "unit property " + p.name);
    out.push_back(std::move(p));
  }
  return out;
}

Napi::Value throw_bus(Napi::Env env, const BusError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  if (!e.name.empty()) err.Set("dbusName", Napi::String::New(env, e.name));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// systemdStartUnit(unit, properties) -> "started" | "exists"
Napi::Value StartUnit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return Napi::String::New(env, start_unit(info[0].As<Napi::String>().Utf8Value(), properties_from(info[1])));
  } catch (const BusError& e) {
    return throw_bus(env, e);
  }
}

// systemdStopUnit(unit)
Napi::Value StopUnit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    systemd_stop_unit(info[0].As<Napi::String>().Utf8Value());
  } catch (const BusError& e) {
    return throw_bus(env, e);
  }
  return env.Undefined();
}

// systemdSetUnitProperties(unit, properties): runtime (not persisted), as runc.
Napi::Value SetUnitProperties(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    std::string unit = info[0].As<Napi::String>().Utf8Value();
    std::vector<Property> props = properties_from(info[1]);
    lib().message_unref(Bus::get().call("SetUnitProperties", [&](sd_bus_message* m) {
      check(lib().append_basic(m, 's', unit.c_str()), "append");
      int runtime = 1;
      check(lib().append_basic(m, 'b', &runtime), "append");
      append_properties(m, props);
    }));
  } catch (const BusError& e) {
    return throw_bus(env, e);
  }
  return env.Undefined();
}

// The front's delete (linked into the addon) stops a recorded unit through this.
void stop_unit_for_front(const std::string& unit) {
  try {
    systemd_stop_unit(unit);
  } catch (const BusError& e) {
    throw front::Failure{e.what()};
  }
}

}  // namespace

void systemd_stop_unit(const std::string& unit) {
  Bus& bus = Bus::get();
  sd_bus_message* reply;
  try {
    reply = bus.call("StopUnit", [&](sd_bus_message* m) {
      check(lib().append_basic(m, 's', unit.c_str()), "append");
      check(lib().append_basic(m, 's', "replace"), "append");
    });
  } catch (const BusError& e) {
    if (e.name == "org.freedesktop.systemd1.NoSuchUnit") return;
    throw;
  }
  // runc: a result other than "done" is only warned about; a timeout is an error.
  if (bus.wait_job(read_job(reply)).empty()) throw BusError("", "Timed out while waiting for systemd to remove " + unit);
}

void RegisterSystemd(Napi::Env env, Napi::Object exports) {
  exports.Set("systemdStartUnit", Napi::Function::New(env, StartUnit));
  exports.Set("systemdStopUnit", Napi::Function::New(env, StopUnit));
  exports.Set("systemdSetUnitProperties", Napi::Function::New(env, SetUnitProperties));
  front::stop_systemd_unit = stop_unit_for_front;
}

}  // namespace hako
