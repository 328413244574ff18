// Init only: one Addon per environment, then each domain registers its functions.
#include <napi.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addon.h"
#include "errors.h"

namespace nsbox {

// Environment teardown (a worker ending, at whatever point it was terminated, or the main
// thread exiting), the last of the addon's hooks: cleanup hooks run in reverse order of
// registration and this one is registered first, so pidfd.cc's Cleanup has already killed and
// reaped every child. Raw calls only; no JS can run now. Closes the handle fds JS never
// closed (what a Namespace, FsContext, DetachedMount or PathHandle held), unmaps spawn's
// cached stack (no child can be using it: spawn is synchronous, and a CLONE_VM child leaves
// it when it execs or exits, before spawn returns) and frees the ChildWatch constructor.
static void Teardown(void* arg) {
  Addon* addon = static_cast<Addon*>(arg);
  for (auto& [fd, id] : addon->handleFds) {
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == id.first && st.st_ino == id.second) close(fd);
  }
  addon->handleFds.clear();
  addon->closer.Stop();  // the exit pins handed to it are closed before the environment ends
  if (addon->stack) munmap(addon->stack, addon->stackSize);
  addon->stack = nullptr;
  delete addon->childWatchCtor;
  addon->childWatchCtor = nullptr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Addon* addon = new Addon();
  env.SetInstanceData<Addon>(addon);
  napi_add_env_cleanup_hook(env, Teardown, addon);
  InitErrors(env, exports);
  InitConstants(env, exports);
  InitFeatures(env, exports);
  InitNs(env, exports);
  InitNsMake(env, exports);
  InitSpawn(env, exports);
  InitPidfd(env, exports);
  InitMount(env, exports);
  InitFileWatch(env, exports);
  InitNetlink(env, exports);
  InitNetlinkSync(env, exports);
  InitNftables(env, exports);
  InitSeccompNotify(env, exports);
  InitPty(env, exports);
  InitGateClient(env, exports);
  InitBpf(env, exports);
  InitStartupFiles(env, exports);
  InitProcessExit(env, exports);
  return exports;
}

}  // namespace nsbox

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  return nsbox::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAll)
