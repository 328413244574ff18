// What every event-loop-driven native object shares (pidfd watches, mountinfo and cgroup
// watches, netlink sockets): an fd polled by this environment's libuv loop, closed and
// unregistered at environment teardown, and JS callbacks made with raw napi calls.
#pragma once
#include <napi.h>
#include <uv.h>

#include "fd.h"

namespace nsbox {

// Calls fn(argv...) as a top-level callback (napi_make_callback). Raw napi calls: while an
// environment is being torn down the loop may still run an event, JS can no longer be called,
// and node-addon-api would turn that into a fatal error. An exception thrown by fn goes to
// 'uncaughtException', as any event callback's would. Returns true if fn returned normally.
inline bool CallJs(napi_env env, napi_ref ref, size_t argc, const napi_value* argv) {
  napi_value global, fn = nullptr, result;
  if (ref == nullptr || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == nullptr) return false;
  napi_get_global(env, &global);
  napi_status s = napi_make_callback(env, nullptr, global, fn, argc, argv, &result);
  if (s == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  return s == napi_ok;
}

// info[i] as a bool without node-addon-api's ToBoolean(): napi_coerce_to_bool refuses to run
// while a worker is being terminated, and node-addon-api turns that refusal into a fatal
// error. ref()/unref() are called from event callbacks that can run at exactly that moment.
// A value that is not a boolean throws ERR_INVALID_ARG_TYPE (raw napi_throw_type_error, which
// fails quietly during teardown) and returns false in *ok.
inline bool BoolArg(const Napi::CallbackInfo& info, size_t i, bool* ok) {
  bool v = false;
  *ok = napi_get_value_bool(info.Env(), info[i], &v) == napi_ok;
  if (!*ok) napi_throw_type_error(info.Env(), "ERR_INVALID_ARG_TYPE", "expected a boolean argument");
  return v;
}

// An fd this object owns, polled in the environment's loop. The owner gets OnEvent calls and,
// at environment teardown, one OnTeardown call (it should Stop()). Stop() is idempotent: it
// stops polling, closes the fd, and removes the teardown hook only once libuv has closed the
// handle, so an ending environment waits for that.
class PolledFd {
 public:
  using EventFn = void (*)(void* owner, int status, int events);
  using TeardownFn = void (*)(void* owner);

  PolledFd() = default;
  PolledFd(const PolledFd&) = delete;
  PolledFd& operator=(const PolledFd&) = delete;
  ~PolledFd() { Stop(); }

  // Takes the fd on success; returns 0 or a negative libuv error, and then `fd` is still the
  // caller's (a temporary Fd closes it; a named one keeps it for the caller to deal with).
  int Start(napi_env env, Fd&& fd, int events, EventFn onEvent, TeardownFn onTeardown, void* owner) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd.get());
    if (r != 0) {
      delete poll_;  // never initialised: nothing for libuv to close
    } else if ((r = uv_poll_start(poll_, events, OnPoll)) != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(poll_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    }
    if (r != 0) {
      poll_ = nullptr;
      return r;
    }
    fd_ = std::move(fd);
    onEvent_ = onEvent;
    onTeardown_ = onTeardown;
    owner_ = owner;
    napi_add_async_cleanup_hook(env, Teardown, this, &hook_);
    return 0;
  }

  void Stop() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    poll_->data = new Closing{hook_};
    hook_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), Closed);
    poll_ = nullptr;
    fd_.reset();
  }

  // As Stop(), but hands the fd to the caller instead of closing it (-1 if none).
  int Detach() {
    if (poll_ == nullptr) return -1;
    int fd = fd_.release();
    Stop();
    return fd;
  }

  // Stops delivering events but keeps the fd and handle (e.g. after a reported error).
  void Pause() {
    if (poll_) uv_poll_stop(poll_);
  }

  void SetRef(bool on) {
    if (!poll_) return;
    if (on)
      uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else
      uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  int fd() const { return fd_.get(); }
  bool active() const { return poll_ != nullptr; }

 private:
  struct Closing {
    napi_async_cleanup_hook_handle hook;
  };

  static void OnPoll(uv_poll_t* h, int status, int events) {
    PolledFd* self = static_cast<PolledFd*>(h->data);
    self->onEvent_(self->owner_, status, events);
  }

  static void Closed(uv_handle_t* h) {
    Closing* c = static_cast<Closing*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    if (c->hook) napi_remove_async_cleanup_hook(c->hook);
    delete c;
  }

  static void Teardown(napi_async_cleanup_hook_handle, void* arg) {
    PolledFd* self = static_cast<PolledFd*>(arg);
    self->onTeardown_(self->owner_);
    self->Stop();
  }

  uv_poll_t* poll_ = nullptr;
  Fd fd_;
  EventFn onEvent_ = nullptr;
  TeardownFn onTeardown_ = nullptr;
  void* owner_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

}  // namespace nsbox
