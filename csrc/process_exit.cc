// The bins' exit (src/exit-now.ts): once a command line is done, _exit(2) instead of Node's
// teardown. process.exit() has already run the 'exit' listeners and JS can run nothing after
// it; what Node would still do is stop its platform (joining V8's worker threads and libuv's
// pool), run atexit handlers and C++ static destructors — ~0.9 ms of every short nsbox
// command, none of which a process that is about to end needs. Only the C stdio buffers are
// flushed first (Node's own stdout and stderr are written synchronously on Linux; anything
// queued in a stream is dropped as process.exit() drops it).
#include <stdio.h>
#include <unistd.h>

#include "addon.h"
#include "errors.h"

namespace nsbox {
namespace {

// exitNow(status): never returns; status must be an integer 0..255.
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "expected an exit status");
    return env.Undefined();
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 255) || d != static_cast<int>(d)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "an exit status is an integer from 0 to 255");
    return env.Undefined();
  }
  fflush(nullptr);
  _exit(static_cast<int>(d));
}

}  // namespace

void InitProcessExit(Napi::Env env, Napi::Object exports) {
  exports.Set("exitNow", Napi::Function::New(env, ExitNow, "exitNow"));
}

}  // namespace nsbox
