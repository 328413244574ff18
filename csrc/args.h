// Argument checks for native functions: the cheap second check of what TS validated first
// (STYLE.md). A failed check throws a TypeError with an ERR_* code and returns false, before
// the function acts: ERR_INVALID_ARG_TYPE for a value of the wrong type, ERR_INVALID_ARG_VALUE
// for one out of range (a fractional, NaN or too large number; a negative fd; a NUL in a
// string that becomes a C string). Nothing is truncated or clamped.
#pragma once
#include <napi.h>
#include <limits.h>
#include <stdint.h>

#include <string>

#include "errors.h"

namespace nsbox {

// An integer number in [lo, hi].
inline bool ArgInteger(const Napi::CallbackInfo& info, size_t i, int64_t lo, int64_t hi, int64_t* out) {
  if (!info[i].IsNumber()) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a number argument");
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_VALUE", "number argument out of range or not an integer");
    return false;
  }
  *out = (int64_t)d;
  return true;
}

inline bool ArgInt(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  int64_t v;
  if (!ArgInteger(info, i, INT32_MIN, INT32_MAX, &v)) return false;
  *out = (int32_t)v;
  return true;
}

inline bool ArgU32(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  int64_t v;
  if (!ArgInteger(info, i, 0, UINT32_MAX, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

// A file descriptor: 0..INT_MAX.
inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  int64_t v;
  if (!ArgInteger(info, i, 0, INT_MAX, &v)) return false;
  *out = (int)v;
  return true;
}

// A file descriptor or -1 for none (the caller's namespace, AT_FDCWD, no user namespace).
inline bool ArgOptFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  int64_t v;
  if (!ArgInteger(info, i, -1, INT_MAX, &v)) return false;
  *out = (int)v;
  return true;
}

inline bool ArgFunction(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsFunction()) return true;
  ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a function argument");
  return false;
}

// A string without NUL: it becomes a C string, where a NUL would silently cut it.
inline bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a string argument");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    ThrowType(info.Env(), "ERR_INVALID_ARG_VALUE", "string argument contains a NUL byte");
    return false;
  }
  return true;
}

// string | null: `present` is false for null/undefined (mount(2) and fsconfig(2) take NULL).
inline bool ArgOptString(const Napi::CallbackInfo& info, size_t i, std::string* out, bool* present) {
  *present = !(info[i].IsNull() || info[i].IsUndefined());
  return !*present || ArgString(info, i, out);
}

}  // namespace nsbox
