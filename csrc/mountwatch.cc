// A watcher of the mount table: /proc/PID/mountinfo polled through this environment's libuv
// loop. src/fs/watch.ts re-reads and parses the file; this file only owns the fd and handle.
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "addon.h"
#include "errors.h"
#include "fd.h"

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
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd.get());
    if (r != 0) {
      delete poll_;  // never initialised: nothing for libuv to close
    } else if ((r = uv_poll_start(poll_, UV_PRIORITIZED, OnEvent)) != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreeHandle);
    }
    if (r != 0) {
      poll_ = nullptr;
      ThrowSys(env, -r, "uv_poll_start", path.c_str());
      return;
    }
    fd_ = std::move(fd);
    env_ = env;
    onChange_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_add_async_cleanup_hook(env, Teardown, this, &hook_);
  }

  ~MountWatch() override { Stop(); }

 private:
  static void FreeHandle(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  static void OnEvent(uv_poll_t* handle, int status, int) {
    MountWatch* self = static_cast<MountWatch*>(handle->data);
    if (status < 0 || self->onChange_.IsEmpty()) return;
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value global, fn = nullptr, result;
    napi_get_reference_value(env, static_cast<napi_ref>(self->onChange_), &fn);
    napi_get_global(env, &global);
    if (fn && napi_make_callback(env, nullptr, global, fn, 0, nullptr, &result) ==
                  napi_pending_exception) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      napi_fatal_exception(env, ignored);
    }
    napi_close_handle_scope(env, scope);
  }

  struct Closing {
    napi_async_cleanup_hook_handle hook;
  };

  static void Closed(uv_handle_t* h) {
    Closing* c = static_cast<Closing*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    if (c->hook) napi_remove_async_cleanup_hook(c->hook);
    delete c;
  }

  // Stops polling and closes the fd; the cleanup hook is removed once libuv has closed the
  // handle, so an ending environment waits for it.
  void Stop() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    Closing* c = new Closing{hook_};
    hook_ = nullptr;
    poll_->data = c;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), Closed);
    poll_ = nullptr;
    fd_.reset();
    if (!onChange_.IsEmpty()) onChange_.Reset();
  }

  static void Teardown(napi_async_cleanup_hook_handle, void* arg) {
    static_cast<MountWatch*>(arg)->Stop();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    if (poll_) {
      if (info[0].ToBoolean())
        uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
      else
        uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    return info.Env().Undefined();
  }

  napi_env env_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  Fd fd_;
  Napi::FunctionReference onChange_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

}  // namespace

void InitMountWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("MountWatch", MountWatch::Class(env));
}

}  // namespace nsbox
