// A cgroupfs file polled through this environment's libuv loop: a cgroup "events" file
// (cgroup.events, memory.events, pids.events, …) or a PSI pressure trigger. src/cgroups/
// parses what this hands over; this file only owns the fd and the poll handle.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "addon.h"
#include "errors.h"
#include "fd.h"

namespace nsbox {
namespace {

// Two modes, both polled for POLLPRI (UV_PRIORITIZED):
// - events file (trigger null): kernfs_notify() raises POLLERR|POLLPRI on a change and the
//   poll stays raised until the same open file is read again (kernfs_seq_show() records the
//   event count it showed; kernfs_fop_open() records it at open, so nothing after open is
//   lost). OnEvent therefore re-reads the file from offset 0 and hands the text to JS.
//   After the cgroup is removed, the read fails (ENODEV): polling stops and JS gets the errno.
// - PSI trigger (trigger "some 150000 1000000"): written once to the O_RDWR fd
//   (Documentation/accounting/psi.rst); psi_trigger_poll() reports POLLPRI once per event and
//   consumes it, so nothing is read. JS gets (null, 0).
class CgroupWatch : public Napi::ObjectWrap<CgroupWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(env, "CgroupWatch",
                       {InstanceMethod<&CgroupWatch::Close>("close"),
                        InstanceMethod<&CgroupWatch::SetRef>("ref")});
  }

  CgroupWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CgroupWatch>(info) {
    Napi::Env env = info.Env();
    bool hasTrigger = info[1].IsString();
    if (!info[0].IsString() || !(hasTrigger || info[1].IsNull()) || !info[2].IsFunction()) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "CgroupWatch(path, trigger | null, onEvent)");
      return;
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int flags = (hasTrigger ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK;
    Fd fd(open(path.c_str(), flags));
    if (!fd.valid()) {
      ThrowSys(env, errno, "open", path.c_str());
      return;
    }
    if (hasTrigger) {
      std::string trigger = info[1].As<Napi::String>().Utf8Value();
      // psi.rst writes the trailing NUL too; one write(2) per trigger.
      if (write(fd.get(), trigger.c_str(), trigger.size() + 1) < 0) {
        ThrowSys(env, errno, "write", path.c_str());
        return;
      }
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
    trigger_ = hasTrigger;
    env_ = env;
    onEvent_ = Napi::Persistent(info[2].As<Napi::Function>());
    napi_add_async_cleanup_hook(env, Teardown, this, &hook_);
  }

  ~CgroupWatch() override { Stop(); }

 private:
  static void FreeHandle(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  // Reads the whole file from offset 0 (cgroup events files are a few hundred bytes).
  int ReadAll(std::string* out) {
    char buf[4096];
    off_t off = 0;
    for (;;) {
      ssize_t n = pread(fd_.get(), buf, sizeof buf, off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) return 0;
      out->append(buf, static_cast<size_t>(n));
      off += n;
    }
  }

  static void OnEvent(uv_poll_t* handle, int status, int) {
    CgroupWatch* self = static_cast<CgroupWatch*>(handle->data);
    if (self->onEvent_.IsEmpty()) return;
    std::string text;
    int err = status < 0 ? -status : 0;
    if (err == 0 && !self->trigger_) err = self->ReadAll(&text);
    // An error is reported once: a removed cgroup's file would otherwise poll forever.
    if (err != 0) uv_poll_stop(handle);
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value global, fn = nullptr, result, argv[2];
    if (err != 0 || self->trigger_)
      napi_get_null(env, &argv[0]);
    else
      napi_create_string_utf8(env, text.data(), text.size(), &argv[0]);
    napi_create_int32(env, err, &argv[1]);
    napi_get_reference_value(env, static_cast<napi_ref>(self->onEvent_), &fn);
    napi_get_global(env, &global);
    if (fn && napi_make_callback(env, nullptr, global, fn, 2, argv, &result) ==
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

  // Stops polling and closes the fd (closing a PSI trigger's fd removes the trigger); the
  // cleanup hook is removed once libuv has closed the handle.
  void Stop() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    Closing* c = new Closing{hook_};
    hook_ = nullptr;
    poll_->data = c;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), Closed);
    poll_ = nullptr;
    fd_.reset();
    if (!onEvent_.IsEmpty()) onEvent_.Reset();
  }

  static void Teardown(napi_async_cleanup_hook_handle, void* arg) {
    static_cast<CgroupWatch*>(arg)->Stop();
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
  bool trigger_ = false;
  Napi::FunctionReference onEvent_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

}  // namespace

void InitCgroupWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("CgroupWatch", CgroupWatch::Class(env));
}

}  // namespace nsbox
