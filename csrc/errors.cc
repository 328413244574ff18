#include "errors.h"

#include "addon.h"

namespace nsbox {

Napi::Value MakeSys(Napi::Env env, int err, const char* syscall, const char* path, const char* dest) {
  Addon* addon = GetAddon(env);
  Napi::Value p = path ? Napi::String::New(env, path) : env.Undefined();
  Napi::Value d = dest ? Napi::String::New(env, dest) : env.Undefined();
  if (addon == nullptr || addon->makeSysError.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, syscall);
    e.Set("errno", Napi::Number::New(env, -err));
    e.Set("syscall", Napi::String::New(env, syscall));
    return e.Value();
  }
  return addon->makeSysError.Call({Napi::Number::New(env, err), Napi::String::New(env, syscall), p, d});
}

void ThrowSys(Napi::Env env, int err, const char* syscall, const char* path, const char* dest) {
  Napi::Value v = MakeSys(env, err, syscall, path, dest);
  if (env.IsExceptionPending()) return;
  Napi::Error(env, v).ThrowAsJavaScriptException();
}

void ThrowType(Napi::Env env, const char* code, const char* message) {
  Napi::TypeError e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

static Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "setErrorFactory expects a function");
    return env.Undefined();
  }
  GetAddon(env)->makeSysError = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace nsbox
