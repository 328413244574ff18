// Per-environment addon state (one per main thread / worker), so worker threads work.
#pragma once
#include <napi.h>
#include <set>

namespace nsbox {

class ChildWatch;

struct Addon {
  Napi::FunctionReference makeSysError;
  std::set<ChildWatch*> children;  // live pidfd watchers, killed and reaped at env teardown
  void* stack = nullptr;           // cached clone stack for spawn (see spawn.cc)
  size_t stackSize = 0;
  Napi::FunctionReference* childWatchCtor = nullptr;
  int closing = 0;                              // libuv handles whose close is pending
  napi_async_cleanup_hook_handle cleanup = nullptr;  // set while the env is tearing down
};

inline Addon* GetAddon(Napi::Env env) { return env.GetInstanceData<Addon>(); }

void InitConstants(Napi::Env env, Napi::Object exports);
void InitFeatures(Napi::Env env, Napi::Object exports);
void InitNs(Napi::Env env, Napi::Object exports);
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitPidfd(Napi::Env env, Napi::Object exports);
void InitMount(Napi::Env env, Napi::Object exports);
void InitFileWatch(Napi::Env env, Napi::Object exports);
void InitNetlink(Napi::Env env, Napi::Object exports);
void InitSeccompNotify(Napi::Env env, Napi::Object exports);

}  // namespace nsbox
