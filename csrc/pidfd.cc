// Child exits observed through a pidfd polled by this environment's libuv loop: no SIGCHLD
// handler (which would fight Node's own), no polling timer, no thread per child. When the
// pidfd becomes readable the child has exited; waitid(P_PIDFD) reaps exactly that child.
// At environment teardown (worker exit, process end) live children are killed and reaped.
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <uv.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "poll.h"
#include "sys.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // include/uapi/linux/pidfd.h, Linux 6.9
#endif

namespace nsbox {

// SIGKILL, then a blocking waitid. libuv made the pidfd O_NONBLOCK when it started polling
// it, and waitid(P_PIDFD) on a non-blocking pidfd returns EAGAIN instead of waiting.
static void ReapNow(int pidfd) {
  sys::pidfd_send_signal(pidfd, SIGKILL);
  int fl = fcntl(pidfd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(pidfd, F_SETFL, fl & ~O_NONBLOCK);
  siginfo_t si;
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR) {
  }
}

// A child's pidfd polled in the environment's loop (PolledFd, as every other polled fd):
// readable means exited, and waitid(P_PIDFD) reaps exactly that child. At environment
// teardown the PolledFd's hook calls OnTeardown, which kills and reaps the child.
class ChildWatch : public Napi::ObjectWrap<ChildWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "ChildWatch",
        {InstanceMethod<&ChildWatch::Kill>("kill"), InstanceMethod<&ChildWatch::SetRef>("ref"),
         InstanceMethod<&ChildWatch::Release>("release"), InstanceAccessor<&ChildWatch::Pid>("pid"),
         InstanceAccessor<&ChildWatch::PidfdNow>("fd")});
  }

  // Raw napi calls where node-addon-api would make a failure fatal: a worker may be
  // terminated while this runs, and then every call that needs JS fails.
  ChildWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChildWatch>(info) {
    napi_env env = info.Env();
    pid_ = info[0].As<Napi::Number>().Int32Value();
    int pidfd = info[1].As<Napi::Number>().Int32Value();
    bool persist = false;
    if (info.Length() > 3 && napi_get_value_bool(env, info[3], &persist) == napi_ok) persist_ = persist;
    addon_ = GetAddon(info.Env());
    env_ = info.Env();
    napi_ref cb = nullptr;
    if (napi_create_reference(env, info[2], 1, &cb) != napi_ok) return;  // still unwatched: Cleanup reaps it
    onExit_ = Napi::FunctionReference(env, cb);
    Fd own(pidfd);
    if (int r = poll_.Start(env, std::move(own), UV_READABLE, OnEvent, OnTeardown, this)) {
      own.release();  // still in addon->unwatched: Cleanup (or killReap) kills and reaps it
      ThrowSys(info.Env(), -r, "uv_poll_start");
      return;
    }
    addon_->unwatched.erase(pidfd);           // ownership passes to this watcher (no JS in between)
    auto pin = addon_->exitPins.find(pidfd);  // and the run's exit pin with it, if it has one
    if (pin != addon_->exitPins.end()) {
      exitPin_ = pin->second;
      addon_->exitPins.erase(pin);
    }
    // The JS object stays alive while the child runs. If that cannot be arranged (teardown),
    // the PolledFd's teardown hook still kills and reaps the child.
    uint32_t count = 0;
    if (napi_reference_ref(env, static_cast<napi_ref>(*this), &count) == napi_ok)
      addon_->children.insert(this);
  }

  // Kills and reaps synchronously: environment teardown only. A persistent child (a created
  // container, spawn's startGate) outlives us: its pidfd is closed, the child left running.
  void KillAndReap() {
    if (!poll_.active()) return;
    if (!persist_) ReapNow(poll_.fd());
    Stop();
  }

 private:
  static void OnTeardown(void* owner) { static_cast<ChildWatch*>(owner)->KillAndReap(); }

  static void OnEvent(void* owner, int status, int) {
    ChildWatch* self = static_cast<ChildWatch*>(owner);
    if (status < 0 || !self->poll_.active()) return;
    siginfo_t si = {};
    int r;
    do {
      r = waitid((idtype_t)P_PIDFD, (id_t)self->poll_.fd(), &si, WEXITED | WNOHANG | __WALL);
    } while (r < 0 && errno == EINTR);
    if (r == 0 && si.si_pid == 0) return;  // spurious wake-up: not exited yet
    int code = -1, sig = -1;
    if (r == 0) (si.si_code == CLD_EXITED ? code : sig) = si.si_status;
    Napi::FunctionReference cb = std::move(self->onExit_);
    napi_env env = self->env_;
    self->Stop();
    // Raw napi calls (CallJs): while a worker is being terminated the loop may still run this.
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[2];
    napi_get_null(env, &argv[0]);
    napi_get_null(env, &argv[1]);
    if (code >= 0) napi_create_int32(env, code, &argv[0]);
    if (sig >= 0) napi_create_int32(env, sig, &argv[1]);
    CallJs(env, static_cast<napi_ref>(cb), 2, argv);
    napi_close_handle_scope(env, scope);
  }

  // Stops polling and closes the pidfd (PolledFd::Stop); the JS object may be collected.
  // The exit pin goes to the closer thread: the child has exited (or is no longer ours to
  // watch), and its mount namespace is torn down there, not here.
  void Stop() {
    poll_.Stop();
    addon_->closer.Close(exitPin_);
    exitPin_ = -1;
    uint32_t count = 0;
    if (addon_->children.erase(this)) napi_reference_unref(env_, static_cast<napi_ref>(*this), &count);
  }

  Napi::Value Kill(const Napi::CallbackInfo& info) {
    int64_t sig;
    if (!ArgInteger(info, 0, 0, 64, &sig)) return info.Env().Undefined();
    if (!poll_.active()) return Napi::Number::New(info.Env(), ESRCH);
    int r = sys::pidfd_send_signal(poll_.fd(), (int)sig);
    return Napi::Number::New(info.Env(), r < 0 ? -r : 0);
  }

  // Stops watching without reaping: the child stays ours until we exit, then its parent (and
  // reaper) is our subreaper or init, which gets its exit status (conmon relies on it).
  Napi::Value Release(const Napi::CallbackInfo& info) {
    if (poll_.active()) {
      persist_ = true;
      onExit_.Reset();
      Stop();
    }
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    bool ok, on = BoolArg(info, 0, &ok);
    if (ok) poll_.SetRef(on);
    return info.Env().Undefined();
  }

  Napi::Value Pid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pid_); }

  // The pidfd, lent for a synchronous call (the child cannot be reaped meanwhile: that happens
  // in OnEvent, on this thread), or -1 once the watch has stopped.
  Napi::Value PidfdNow(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), poll_.active() ? poll_.fd() : -1);
  }

  Napi::Env env_ = Napi::Env(nullptr);
  Addon* addon_ = nullptr;
  PolledFd poll_;
  int pid_ = 0;
  bool persist_ = false;
  int exitPin_ = -1;  // the child's mount namespace (exit_pin.h), held until its exit is seen
  Napi::FunctionReference onExit_;
};

static Napi::Value WatchChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t pid;
  int pidfd;
  if (!ArgInteger(info, 0, 1, INT32_MAX, &pid) || !ArgFd(info, 1, &pidfd) || !ArgFunction(info, 2))
    return env.Undefined();
  Addon* addon = GetAddon(env);
  // Only a pidfd spawn handed out and nothing owns yet: never two owners of one child.
  if (!addon->unwatched.count(pidfd) || addon->childWatchCtor == nullptr) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "watchChild: not the pidfd of an unwatched child");
    return env.Undefined();
  }
  // If the environment is being torn down, New fails (no JS may run), the constructor never
  // runs, and the child stays in addon->unwatched for Cleanup to kill and reap.
  napi_value ctor, watch = nullptr, argv[4] = {info[0], info[1], info[2], info[3]};
  if (napi_get_reference_value(env, static_cast<napi_ref>(*addon->childWatchCtor), &ctor) != napi_ok ||
      napi_new_instance(env, ctor, 4, argv, &watch) != napi_ok || watch == nullptr)
    return env.Undefined();
  return Napi::Value(env, watch);
}

void HoldChild(Addon* addon, int pidfd, int exitPin) {
  if (pidfd < 0) {
    addon->closer.Close(exitPin);
    return;
  }
  addon->unwatched.insert(pidfd);
  if (exitPin >= 0) addon->exitPins[pidfd] = exitPin;
}

// The exit pin recorded with an unwatched pidfd, if any, to the closer thread.
static void DropExitPin(Addon* addon, int pidfd) {
  auto pin = addon->exitPins.find(pidfd);
  if (pin == addon->exitPins.end()) return;
  addon->closer.Close(pin->second);
  addon->exitPins.erase(pin);
}

// Environment teardown: kill and reap every child still running (a worker that ends takes
// its children with it), and close our libuv handles so the loop can close.
// The hook is async so Node keeps the loop turning until our handles have closed.
static void Cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  Addon* addon = static_cast<Addon*>(arg);
  // Watched children: their own PolledFd hooks do this first (hooks run in reverse order of
  // registration); whatever is left (a hook not run yet) is done here, idempotently.
  while (!addon->children.empty()) (*addon->children.begin())->KillAndReap();
  // Spawned, but the worker ended before JS could watch them (issue 10, defect 5).
  for (int pidfd : addon->unwatched) {
    ReapNow(pidfd);
    close(pidfd);
    DropExitPin(addon, pidfd);
  }
  addon->unwatched.clear();
  for (auto& [pidfd, pin] : addon->exitPins) addon->closer.Close(pin);  // none: each went with its pidfd
  addon->exitPins.clear();
  napi_remove_async_cleanup_hook(handle);
}

// Synchronous kill-and-reap of one pidfd that was never handed to a watcher (spawn's caller
// failed before it could watch): keeps "every child is reaped" true on every path. Anything
// but an unwatched child's pidfd is ignored, so no other fd can be closed by mistake.
static Napi::Value KillReap(const Napi::CallbackInfo& info) {
  int pidfd;
  if (!ArgFd(info, 0, &pidfd)) return info.Env().Undefined();
  Addon* addon = GetAddon(info.Env());
  if (!addon->unwatched.erase(pidfd)) return info.Env().Undefined();
  ReapNow(pidfd);
  close(pidfd);
  DropExitPin(addon, pidfd);
  return info.Env().Undefined();
}

// Pipes for stdio: O_CLOEXEC on both ends; the child's end is dup'ed into place by OP_FDS.
static Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    ThrowSys(env, errno, "pipe2");
    return env.Undefined();
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, HandFd(env, fds[0]));
  a.Set(1u, HandFd(env, fds[1]));
  return a;
}

static Napi::Value DevNull(const Napi::CallbackInfo& info) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    ThrowSys(info.Env(), errno, "open", "/dev/null");
    return info.Env().Undefined();
  }
  return HandFd(info.Env(), fd);
}

// forgetFd(fd): a libuv handle (a net.Socket made of a stdio pipe end) owns the fd now, and
// closes it itself, at the latest when the environment ends: teardown must not close it too.
static Napi::Value ForgetFd(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  GetAddon(info.Env())->handleFds.erase(fd);
  return info.Env().Undefined();
}

// pidfdOpen(pid, thread?): pidfd_open(2) of any process (not only our children), for a caller
// that must signal a process it did not spawn, or open its namespaces, without racing pid reuse:
// open, then check the process is the one meant (its start time), then act through the fd.
// `thread`: PIDFD_THREAD (Linux 6.9), for a thread id that leads no thread group (else EINVAL).
static Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int64_t pid;
  if (!ArgInteger(info, 0, 1, INT32_MAX, &pid)) return info.Env().Undefined();
  bool thread = false;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    bool ok;
    thread = BoolArg(info, 1, &ok);
    if (!ok) return info.Env().Undefined();
  }
  int fd = sys::pidfd_open((pid_t)pid, thread ? PIDFD_THREAD : 0);
  if (fd < 0) {
    ThrowSys(info.Env(), -fd, "pidfd_open");
    return info.Env().Undefined();
  }
  return HandFd(info.Env(), fd);
}

// pidfdSignal(fd, sig): pidfd_send_signal(2); 0 or a positive errno (ESRCH once exited).
static Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  int fd;
  int64_t sig;
  if (!ArgFd(info, 0, &fd) || !ArgInteger(info, 1, 0, 64, &sig)) return info.Env().Undefined();
  int r = sys::pidfd_send_signal(fd, (int)sig);
  return Napi::Number::New(info.Env(), r < 0 ? -r : 0);
}

// pidfdExited(fd): poll(2) with no timeout; a pidfd is readable once its process has exited
// (pidfd_open(2)), zombie or reaped.
static Napi::Value PidfdExited(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return Napi::Boolean::New(info.Env(), r > 0 && (p.revents & POLLIN));
}

void InitPidfd(Napi::Env env, Napi::Object exports) {
  Addon* addon = GetAddon(env);
  addon->childWatchCtor = new Napi::FunctionReference(Napi::Persistent(ChildWatch::Class(env)));
  napi_add_async_cleanup_hook(env, Cleanup, addon, nullptr);
  exports.Set("watchChild", Napi::Function::New(env, WatchChild, "watchChild"));
  exports.Set("killReap", Napi::Function::New(env, KillReap, "killReap"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("devNull", Napi::Function::New(env, DevNull, "devNull"));
  exports.Set("forgetFd", Napi::Function::New(env, ForgetFd, "forgetFd"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal, "pidfdSignal"));
  exports.Set("pidfdExited", Napi::Function::New(env, PidfdExited, "pidfdExited"));
}

}  // namespace nsbox
