// Argument checks for native functions: the cheap second check of what TS validated first
// (STYLE.md). A failed check throws a TypeError with an ERR_* code and returns false.
#pragma once
#include <napi.h>
#include <stdint.h>

#include <string>

#include "errors.h"

namespace nsbox {

inline bool ArgInt(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  if (!info[i].IsNumber()) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a number argument");
    return false;
  }
  *out = info[i].As<Napi::Number>().Int32Value();
  return true;
}

inline bool ArgU32(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  if (!info[i].IsNumber()) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a number argument");
    return false;
  }
  *out = info[i].As<Napi::Number>().Uint32Value();
  return true;
}

inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  int32_t v;
  if (!ArgInt(info, i, &v)) return false;
  if (v < 0) {
    ThrowType(info.Env(), "ERR_OUT_OF_RANGE", "fd must be >= 0");
    return false;
  }
  *out = v;
  return true;
}

inline bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a string argument");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

// string | null: `present` is false for null/undefined (mount(2) and fsconfig(2) take NULL).
inline bool ArgOptString(const Napi::CallbackInfo& info, size_t i, std::string* out, bool* present) {
  *present = !(info[i].IsNull() || info[i].IsUndefined());
  return !*present || ArgString(info, i, out);
}

}  // namespace nsbox
