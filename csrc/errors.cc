#include "errors.h"

#include "addon.h"

namespace nsbox {

// Raw napi calls only, each checked: these run on error paths that may be reached while a
// worker is being terminated, where JS can no longer run and every napi call that needs it
// fails; node-addon-api would turn such a failure into a fatal error (issue 10, defect 4).
// When anything fails the error is simply not thrown: nobody is left to catch it.
static bool Str(napi_env env, const char* s, napi_value* out) {
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, out) == napi_ok;
}

static napi_value MakeSysRaw(napi_env env, int err, const char* syscall, const char* path, const char* dest) {
  napi_value args[4], undef, global, fn = nullptr, out = nullptr;
  if (napi_get_undefined(env, &undef) != napi_ok || napi_create_int32(env, err, &args[0]) != napi_ok ||
      !Str(env, syscall, &args[1]))
    return nullptr;
  args[2] = args[3] = undef;
  if ((path && !Str(env, path, &args[2])) || (dest && !Str(env, dest, &args[3]))) return nullptr;
  Addon* addon = nullptr;
  napi_get_instance_data(env, reinterpret_cast<void**>(&addon));
  if (addon != nullptr && !addon->makeSysError.IsEmpty() &&
      napi_get_reference_value(env, static_cast<napi_ref>(addon->makeSysError), &fn) == napi_ok &&
      fn != nullptr && napi_get_global(env, &global) == napi_ok &&
      napi_call_function(env, global, fn, 4, args, &out) == napi_ok)
    return out;
  // No factory (addon load) or it could not run: a plain Error naming the syscall.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return nullptr;
  if (napi_create_error(env, nullptr, args[1], &out) != napi_ok) return nullptr;
  napi_set_named_property(env, out, "syscall", args[1]);
  napi_value n;
  if (napi_create_int32(env, -err, &n) == napi_ok) napi_set_named_property(env, out, "errno", n);
  return out;
}

Napi::Value MakeSys(Napi::Env env, int err, const char* syscall, const char* path, const char* dest) {
  napi_value v = MakeSysRaw(env, err, syscall, path, dest);
  return v == nullptr ? env.Undefined() : Napi::Value(env, v);
}

void ThrowSys(Napi::Env env, int err, const char* syscall, const char* path, const char* dest) {
  napi_value v = MakeSysRaw(env, err, syscall, path, dest);
  bool pending = false;
  if (v == nullptr || napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_throw(env, v);
}

void ThrowType(Napi::Env env, const char* code, const char* message) {
  napi_value c, m, e;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  if (!Str(env, code, &c) || !Str(env, message, &m) || napi_create_type_error(env, c, m, &e) != napi_ok)
    return;
  napi_throw(env, e);
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
