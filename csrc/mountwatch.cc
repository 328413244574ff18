// A watcher of the mount table: /proc/PID/mountinfo polled through this environment's libuv
// loop. src/fs/watch.ts re-reads and parses the file; this file only owns the fd and handle.
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "addon.h"
#include "errors.h"
#include "fd.h"
#include "poll.h"

namespace nsbox {
namespace {

// A /proc/PID/mountinfo fd polled by this environment's loop for POLLPRI: the kernel raises
// POLLERR|POLLPRI on it after the mount table changed (proc_pid_mounts(5)); libuv passes the
// POLLERR|POLLPRI pair through as a normal event. JS re-reads the file on each call of
// onChange(). Closed by close(), by the destructor, or at environment teardown.
// The kernel's poll consumes the change it reports, and epoll polls once when libuv adds the
// fd (at the loop's next turn, not in uv_poll_start) and again before reporting: a change made
// before that turn is never reported. src/fs/watch.ts compares the text once after that turn.
class MountWatch : public Napi::ObjectWrap<MountWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(env, "MountWatch",
                       {InstanceMethod<&MountWatch::Close>("close"),
                        InstanceMethod<&MountWatch::SetRef>("ref")});
  }

  MountWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MountWatch>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsFunction()) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "MountWatch(path, onChange)");
      return;
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      ThrowSys(env, errno, "open", path.c_str());
      return;
    }
    if (int r = poll_.Start(env, std::move(fd), UV_PRIORITIZED, OnEvent, OnTeardown, this)) {
      ThrowSys(env, -r, "uv_poll_start", path.c_str());
      return;
    }
    env_ = env;
    onChange_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~MountWatch() override { Stop(); }

 private:
  static void OnEvent(void* owner, int status, int) {
    MountWatch* self = static_cast<MountWatch*>(owner);
    if (status < 0 || self->onChange_.IsEmpty()) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(self->env_, &scope) != napi_ok) return;
    CallJs(self->env_, static_cast<napi_ref>(self->onChange_), 0, nullptr);
    napi_close_handle_scope(self->env_, scope);
  }

  static void OnTeardown(void* owner) { static_cast<MountWatch*>(owner)->Stop(); }

  // Stops polling and closes the fd (see PolledFd::Stop).
  void Stop() {
    poll_.Stop();
    if (!onChange_.IsEmpty()) onChange_.Reset();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    poll_.SetRef(BoolArg(info, 0));
    return info.Env().Undefined();
  }

  napi_env env_ = nullptr;
  PolledFd poll_;
  Napi::FunctionReference onChange_;
};

}  // namespace

void InitMountWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("MountWatch", MountWatch::Class(env));
}

}  // namespace nsbox
