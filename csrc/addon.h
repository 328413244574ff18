// Per-environment addon state (one per main thread / worker), so worker threads work.
#pragma once
#include <napi.h>
#include <sys/stat.h>

#include <set>
#include <unordered_map>
#include <utility>

#include "exit_pin.h"

namespace nsbox {

class ChildWatch;

// Everything below is released when the environment ends (a worker terminated at any point,
// or the main thread exiting), whatever JS did or did not get to run: see addon.cc Teardown,
// pidfd.cc Cleanup and docs/threading.md "When a worker ends".
struct Addon {
  Napi::FunctionReference makeSysError;
  std::set<ChildWatch*> children;  // live pidfd watchers, killed and reaped at env teardown
  // pidfds of spawned children that no ChildWatch owns yet: native.spawn records each one
  // before returning, watchChild/killReap take it out; teardown kills and reaps the rest.
  std::set<int> unwatched;
  // A child's exit pin (exit_pin.h), by its pidfd, while the pidfd is unwatched: watchChild
  // moves it to the watcher, killReap and teardown close it.
  std::unordered_map<int, int> exitPins;
  ExitCloser closer;  // closes exit pins off the JS thread; stopped at teardown (addon.cc)
  // fds handed to JS (namespaces, fs contexts, mounts, path handles, id-range locks, spawn's
  // stdio pipes and /dev/null, a seccomp listener), recorded before they cross into JS with
  // the file they name (st_dev, st_ino); native.close() forgets an fd as it closes it,
  // native.forgetFd() when a libuv handle takes it over, and teardown closes what is left
  // and still names that file.
  std::unordered_map<int, std::pair<dev_t, ino_t>> handleFds;
  void* stack = nullptr;  // cached clone stack for spawn (see spawn.cc)
  size_t stackSize = 0;
  bool spawning = false;  // a spawn is between clone3 and exec (its network hook may run JS)
  Napi::FunctionReference* childWatchCtor = nullptr;
  void* netThread = nullptr;  // ns_make.cc's kept thread for network namespace work (RunOnNetThread)
  void* hostRtnl = nullptr;   // netlink_sync.cc's host-side NETLINK_ROUTE socket (HostRtnlSocket)
};

inline Addon* GetAddon(Napi::Env env) {
  return env.GetInstanceData<Addon>();
}

// Records `fd` in the environment's handle fds (above), so that a worker terminated before JS
// has wrapped it in a handle still gets it closed. Only for fds that JS releases with
// native.close() or hands over with native.forgetFd(): an fd closed behind the registry's
// back is caught by the (st_dev, st_ino) check at teardown only if its number was not reused
// for the same file.
inline void HoldFd(Addon* addon, int fd) {
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0) addon->handleFds[fd] = {st.st_dev, st.st_ino};
}

// HoldFd, then `fd` as a JS number.
inline Napi::Value HandFd(Napi::Env env, int fd) {
  HoldFd(GetAddon(env), fd);
  return Napi::Number::New(env, fd);
}

// A table of constants only some programs read (netlink's, nf_tables'): `Make` runs at the
// first read of exports[name], whose accessor is then replaced by the table as a plain data
// property (writable, enumerable, configurable, as exports.Set makes it). A plain `nsbox run`
// never builds them.
template <Napi::Object (*Make)(Napi::Env)>
Napi::Value BuildLazyTable(const Napi::CallbackInfo& info) {
  Napi::Object table = Make(info.Env());
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();
  info.This().As<Napi::Object>().DefineProperty(
      Napi::PropertyDescriptor::Value(static_cast<const char*>(info.Data()), table, napi_default_jsproperty));
  return table;
}
template <Napi::Object (*Make)(Napi::Env)>
Napi::PropertyDescriptor LazyTable(const char* name) {
  return Napi::PropertyDescriptor::Accessor<BuildLazyTable<Make>>(
      name, static_cast<napi_property_attributes>(napi_enumerable | napi_configurable),
      const_cast<char*>(name));
}

// spawn.cc: records a spawned child's pidfd (Addon::unwatched), with its exit pin if it has
// one (-1: none), before spawn returns it.
void HoldChild(Addon* addon, int pidfd, int exitPin = -1);

void InitConstants(Napi::Env env, Napi::Object exports);
void AddMountConstants(Napi::Env env, Napi::Object constants);  // mount.cc
void InitFeatures(Napi::Env env, Napi::Object exports);
void InitNs(Napi::Env env, Napi::Object exports);
void InitNsMake(Napi::Env env, Napi::Object exports);  // ns_make.cc
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitPidfd(Napi::Env env, Napi::Object exports);
void InitMount(Napi::Env env, Napi::Object exports);
void InitFileWatch(Napi::Env env, Napi::Object exports);
void InitNetlink(Napi::Env env, Napi::Object exports);
void InitNetlinkSync(Napi::Env env, Napi::Object exports);
void InitNftables(Napi::Env env, Napi::Object exports);
void InitSeccompNotify(Napi::Env env, Napi::Object exports);
void InitPty(Napi::Env env, Napi::Object exports);
void InitGateClient(Napi::Env env, Napi::Object exports);
void InitBpf(Napi::Env env, Napi::Object exports);
void InitStartupFiles(Napi::Env env, Napi::Object exports);  // startup_files.cc
void InitProcessExit(Napi::Env env, Napi::Object exports);   // process_exit.cc

}  // namespace nsbox
