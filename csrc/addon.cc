// Init only: one Addon per environment, then each domain registers its functions.
#include <napi.h>

#include "addon.h"
#include "errors.h"

namespace nsbox {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<Addon>(new Addon());
  InitErrors(env, exports);
  InitConstants(env, exports);
  InitFeatures(env, exports);
  InitNs(env, exports);
  InitSpawn(env, exports);
  InitPidfd(env, exports);
  InitMount(env, exports);
  InitFileWatch(env, exports);
  InitNetlink(env, exports);
  InitSeccompNotify(env, exports);
  return exports;
}

}  // namespace nsbox

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  return nsbox::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAll)
