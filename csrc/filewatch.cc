// A pseudo-file polled for POLLPRI through this environment's libuv loop, re-read on each
// event: a cgroup "events" file (cgroup.events, memory.events, pids.events, …), a PSI
// pressure trigger (src/cgroups/), or /proc/PID/mountinfo (src/fs/watch.ts). TS parses what
// this hands over; this file only owns the fd and the poll handle.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "poll.h"

namespace nsbox {
namespace {

// Two modes, both polled for POLLPRI (UV_PRIORITIZED):
// - /proc/PID/mountinfo (trigger null): the kernel raises POLLERR|POLLPRI after the mount
//   table changed and its poll consumes the change (proc_pid_mountinfo(5)); the text read
//   here is the table after it. src/fs/watch.ts compares once more after the first loop turn:
//   epoll sees the fd only from then on.
// - events file (trigger null): kernfs_notify() raises POLLERR|POLLPRI on a change and the
//   poll stays raised until the same open file is read again (kernfs_seq_show() records the
//   event count it showed; kernfs_fop_open() records it at open, so nothing after open is
//   lost). OnEvent therefore re-reads the file from offset 0 and hands the text to JS.
//   After the cgroup is removed, the read fails (ENODEV): polling stops and JS gets the errno.
// - PSI trigger (trigger "some 150000 1000000"): written once to the O_RDWR fd
//   (Documentation/accounting/psi.rst); psi_trigger_poll() reports POLLPRI once per event and
//   consumes it, so nothing is read. JS gets (null, 0).
class FileWatch : public Napi::ObjectWrap<FileWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "FileWatch",
        {InstanceMethod<&FileWatch::Close>("close"), InstanceMethod<&FileWatch::SetRef>("ref")});
  }

  FileWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileWatch>(info) {
    Napi::Env env = info.Env();
    bool hasTrigger = info[1].IsString();
    std::string path, trigger;
    if (!ArgString(info, 0, &path)) return;
    if (!(hasTrigger || info[1].IsNull())) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "FileWatch(path, trigger | null, onEvent)");
      return;
    }
    if ((hasTrigger && !ArgString(info, 1, &trigger)) || !ArgFunction(info, 2)) return;
    int flags = (hasTrigger ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK;
    Fd fd(open(path.c_str(), flags));
    if (!fd.valid()) {
      ThrowSys(env, errno, "open", path.c_str());
      return;
    }
    if (hasTrigger) {
      // psi.rst writes the trailing NUL too; one write(2) per trigger.
      if (write(fd.get(), trigger.c_str(), trigger.size() + 1) < 0) {
        ThrowSys(env, errno, "write", path.c_str());
        return;
      }
    }
    if (int r = poll_.Start(env, std::move(fd), UV_PRIORITIZED, OnEvent, OnTeardown, this)) {
      ThrowSys(env, -r, "uv_poll_start", path.c_str());
      return;
    }
    trigger_ = hasTrigger;
    env_ = env;
    onEvent_ = Napi::Persistent(info[2].As<Napi::Function>());
  }

  ~FileWatch() override { Stop(); }

 private:
  // Reads the whole file from offset 0 (cgroup events files are a few hundred bytes).
  int ReadAll(std::string* out) {
    char buf[4096];
    off_t off = 0;
    for (;;) {
      ssize_t n = pread(poll_.fd(), buf, sizeof buf, off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) return 0;
      out->append(buf, static_cast<size_t>(n));
      off += n;
    }
  }

  static void OnEvent(void* owner, int status, int) {
    FileWatch* self = static_cast<FileWatch*>(owner);
    if (self->onEvent_.IsEmpty()) return;
    std::string text;
    int err = status < 0 ? -status : 0;
    if (err == 0 && !self->trigger_) err = self->ReadAll(&text);
    // An error is reported once: a removed cgroup's file would otherwise poll forever.
    if (err != 0) self->poll_.Pause();
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[2];
    if (err != 0 || self->trigger_)
      napi_get_null(env, &argv[0]);
    else
      napi_create_string_utf8(env, text.data(), text.size(), &argv[0]);
    napi_create_int32(env, err, &argv[1]);
    CallJs(env, static_cast<napi_ref>(self->onEvent_), 2, argv);
    napi_close_handle_scope(env, scope);
  }

  static void OnTeardown(void* owner) { static_cast<FileWatch*>(owner)->Stop(); }

  // Stops polling and closes the fd (closing a PSI trigger's fd removes the trigger).
  void Stop() {
    poll_.Stop();
    if (!onEvent_.IsEmpty()) onEvent_.Reset();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    bool ok, on = BoolArg(info, 0, &ok);
    if (ok) poll_.SetRef(on);
    return info.Env().Undefined();
  }

  napi_env env_ = nullptr;
  PolledFd poll_;
  bool trigger_ = false;
  Napi::FunctionReference onEvent_;
};

}  // namespace

void InitFileWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("FileWatch", FileWatch::Class(env));
}

}  // namespace nsbox
