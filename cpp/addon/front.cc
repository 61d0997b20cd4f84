// The front's verbs (cpp/front/verbs.cc) for the brain: one implementation of state, list,
// kill, pause, resume, ps, delete and start, whether dist/hako serves the command itself
// or the brain needs it (run's start and delete; a command handed over to the brain).
#include "front.h"

#include <string>
#include <vector>

#include "common/run_captured.h"
#include "front/front.h"

namespace hako {
namespace {

std::string str_opt(const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

bool bool_opt(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

// [[level, msg], ...]
Napi::Array log_array(Napi::Env env, const std::vector<front::LogEntry>& entries) {
  Napi::Array a = Napi::Array::New(env, entries.size());
  for (uint32_t i = 0; i < entries.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, entries[i].level));
    pair.Set(1u, Napi::String::New(env, entries[i].msg));
    a.Set(i, pair);
  }
  return a;
}

// runHook(path, args, env, timeoutSeconds, cwd, state) -> the failure in runc's words
// (after "error running hook #i: "), or undefined: the runner the front and hako-init use.
Napi::Value RunHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto strings = [](const Napi::Value& v) {
    std::vector<std::string> out;
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    return out;
  };
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> args = strings(info[1]);
  std::vector<std::string> hook_env = strings(info[2]);
  double timeout = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : 0;
  std::string cwd = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  std::string state = info[5].As<Napi::String>().Utf8Value();
  IgnoreSigpipe ignore;
  auto failure = run_hook(path, args, hook_env, timeout, cwd.empty() ? nullptr : cwd.c_str(), state);
  if (!failure) return env.Undefined();
  return Napi::String::New(env, *failure);
}

// frontVerb(verb, root, args, opts) -> { stdout, stderr }; a failure throws its message.
Napi::Value FrontVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  front::VerbCall call;
  call.verb = info[0].As<Napi::String>().Utf8Value();
  call.root = info[1].As<Napi::String>().Utf8Value();
  Napi::Array args = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < args.Length(); i++) call.args.push_back(args.Get(i).As<Napi::String>().Utf8Value());
  Napi::Object opts = info[3].As<Napi::Object>();
  call.force = bool_opt(opts, "force");
  call.all = bool_opt(opts, "all");
  call.quiet = bool_opt(opts, "quiet");
  call.format = str_opt(opts, "format", "table");
  call.notify_host = str_opt(opts, "notifyHost", "");
  // Warnings and --debug lines go to the brain's logger (src/cli/log.ts), in order.
  std::vector<front::LogEntry> entries;
  front::Logger log;
  log.debug_on = bool_opt(opts, "debug");
  log.collect = &entries;
  call.log = &log;
  std::string out, err;
  try {
    out = front::run_verb(call, err);
  } catch (const front::Failure& f) {
    Napi::Error e = Napi::Error::New(env, f.message);
    e.Set("log", log_array(env, entries));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  } catch (const front::Handover& h) {
    Napi::Error e = Napi::Error::New(env, h.why);
    e.Set("code", Napi::String::New(env, "EHAKORECORD"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("stdout", Napi::String::New(env, out));
  result.Set("stderr", Napi::String::New(env, err));
  result.Set("log", log_array(env, entries));
  return result;
}

// topIsSelfBind(mountinfoText, path): the front's check before it detaches a rootfs bind.
Napi::Value TopIsSelfBind(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), front::top_is_self_bind(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value()));
}

// releaseHostRootfs(rootfs): the front's delete step, for create's rollback.
Napi::Value ReleaseHostRootfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    front::release_host_rootfs(info[0].As<Napi::String>().Utf8Value());
  } catch (const front::Failure& f) {
    Napi::Error::New(env, f.message).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

void RegisterFront(Napi::Env env, Napi::Object exports) {
  exports.Set("frontVerb", Napi::Function::New(env, FrontVerb));
  exports.Set("runHook", Napi::Function::New(env, RunHook));
  exports.Set("topIsSelfBind", Napi::Function::New(env, TopIsSelfBind));
  exports.Set("releaseHostRootfs", Napi::Function::New(env, ReleaseHostRootfs));
}

}  // namespace hako
