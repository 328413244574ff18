// errno crossing: C++ never turns an errno into prose. It hands (errno, syscall, path, dest)
// to the JS factory registered by src/native.ts, which builds a SysError, and throws that.
#pragma once
#include <napi.h>

namespace nsbox {

// Throws a SysError built by the JS factory. `err` is a positive errno.
void ThrowSys(Napi::Env env, int err, const char* syscall, const char* path = nullptr,
              const char* dest = nullptr);
// Builds (without throwing) a SysError value.
Napi::Value MakeSys(Napi::Env env, int err, const char* syscall, const char* path = nullptr,
                    const char* dest = nullptr);
// Misuse detected natively (TS validated first; this is the cheap second check).
void ThrowType(Napi::Env env, const char* code, const char* message);

void InitErrors(Napi::Env env, Napi::Object exports);

}  // namespace nsbox
