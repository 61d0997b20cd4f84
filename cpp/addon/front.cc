// The front's verbs (cpp/front/verbs.cc) for the brain: one implementation of state, list,
// kill, pause, resume, ps, delete and start, whether dist/hako serves the command itself
// or the brain needs it (run's start and delete; a command handed over to the brain).
#include "front.h"

#include <string>
#include <vector>

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
  std::string out, err;
  try {
    out = front::run_verb(call, err);
  } catch (const front::Failure& f) {
    Napi::Error::New(env, f.message).ThrowAsJavaScriptException();
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
  exports.Set("topIsSelfBind", Napi::Function::New(env, TopIsSelfBind));
  exports.Set("releaseHostRootfs", Napi::Function::New(env, ReleaseHostRootfs));
}

}  // namespace hako
