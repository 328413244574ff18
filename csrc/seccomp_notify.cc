// A seccomp user-notification listener (seccomp_unotify(2)) polled by this environment's
// loop. Each notification is received with SECCOMP_IOCTL_NOTIF_RECV when the fd is readable
// and handed to JS as the raw struct seccomp_notif (decoded in src/security/notify.ts);
// answers, id checks and SECCOMP_IOCTL_NOTIF_ADDFD are single ioctls. Thin by design.
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "poll.h"

namespace nsbox {
namespace {

// The sizes the running kernel uses (they may grow past our headers'); never below ours.
struct NotifSizes {
  size_t notif = sizeof(struct seccomp_notif);
  size_t resp = sizeof(struct seccomp_notif_resp);
};

NotifSizes Sizes() {
  static NotifSizes s = [] {
    NotifSizes n;
    struct seccomp_notif_sizes k = {};
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &k) == 0) {
      if (k.seccomp_notif > n.notif) n.notif = k.seccomp_notif;
      if (k.seccomp_notif_resp > n.resp) n.resp = k.seccomp_notif_resp;
    }
    return n;
  }();
  return s;
}

bool BigArg(const Napi::CallbackInfo& info, size_t i, uint64_t* out) {
  if (!info[i].IsBigInt()) return false;
  bool lossless = true;
  *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  return lossless;
}

class SeccompListener : public Napi::ObjectWrap<SeccompListener> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "SeccompListener",
        {InstanceMethod<&SeccompListener::Respond>("respond"),
         InstanceMethod<&SeccompListener::IdValid>("idValid"),
         InstanceMethod<&SeccompListener::AddFd>("addFd"), InstanceMethod<&SeccompListener::Close>("close"),
         InstanceMethod<&SeccompListener::SetRef>("ref"), InstanceMethod<&SeccompListener::GetFd>("fd")});
  }

  // new SeccompListener(fd, onNotification(buffer | null, errno)): takes the fd.
  SeccompListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SeccompListener>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!ArgFd(info, 0, &fd) || !ArgFunction(info, 1)) return;
    // From spawn's recorded fds to this object (PolledFd::Start closes it if it fails).
    GetAddon(env)->handleFds.erase(fd);
    if (int r = poll_.Start(env, Fd(fd), UV_READABLE | UV_DISCONNECT, OnReadable, OnTeardown, this)) {
      ThrowSys(env, -r, "uv_poll_start");
      return;
    }
    env_ = env;
    onNotification_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~SeccompListener() override { Stop(); }

 private:
  bool Deliver(napi_value a0, napi_value a1) {
    napi_value argv[2] = {a0, a1};
    return CallJs(env_, static_cast<napi_ref>(onNotification_), 2, argv);
  }

  // Readable: one notification per event (RECV blocks when none is pending, so only after
  // poll said so). Hung up: every task using the filter is gone; (null, 0) ends the stream.
  static void OnReadable(void* owner, int status, int events) {
    SeccompListener* self = static_cast<SeccompListener*>(owner);
    if (self->onNotification_.IsEmpty()) return;
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value a0 = nullptr, a1;
    int err = status < 0 ? -status : 0;
    if (err == 0 && (events & UV_READABLE)) {
      std::vector<char> buf(Sizes().notif, 0);
      if (ioctl(self->poll_.fd(), SECCOMP_IOCTL_NOTIF_RECV, buf.data()) == 0) {
        void* data;
        napi_create_buffer_copy(env, buf.size(), buf.data(), &data, &a0);
      } else {
        err = errno;
      }
    }
    bool ended = a0 == nullptr && (err != 0 || (events & UV_DISCONNECT));
    // ENOENT: the target died or was interrupted between poll and RECV; EINTR: try again.
    if (a0 == nullptr && !ended) goto out;
    if (a0 == nullptr && (err == ENOENT || err == EINTR) && !(events & UV_DISCONNECT)) goto out;
    if (a0 == nullptr) {
      napi_get_null(env, &a0);
      if (err == ENOENT) err = 0;
    }
    napi_create_int32(env, err, &a1);
    if (ended) self->poll_.Pause();
    self->Deliver(a0, a1);
  out:
    napi_close_handle_scope(env, scope);
  }

  static void OnTeardown(void* owner) { static_cast<SeccompListener*>(owner)->Stop(); }

  void Stop() {
    poll_.Stop();
    if (!onNotification_.IsEmpty()) onNotification_.Reset();
  }

  // respond(id: bigint, value: bigint, error: number, flags: number): 0 or a positive errno
  // (ENOENT: the notification is no longer pending; EBADF once closed).
  Napi::Value Respond(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t id, val;
    int32_t error;
    uint32_t flags;
    if (!BigArg(info, 0, &id) || !BigArg(info, 1, &val)) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE",
                "respond(id: bigint, value: bigint, error: number, flags: number)");
      return env.Undefined();
    }
    if (!ArgInt(info, 2, &error) || !ArgU32(info, 3, &flags)) return env.Undefined();
    if (!poll_.active()) return Napi::Number::New(env, EBADF);
    std::vector<char> buf(Sizes().resp, 0);
    struct seccomp_notif_resp r = {};
    r.id = id;
    r.val = (int64_t)val;
    r.error = error;
    r.flags = flags;
    memcpy(buf.data(), &r, sizeof r);
    int rc = ioctl(poll_.fd(), SECCOMP_IOCTL_NOTIF_SEND, buf.data());
    return Napi::Number::New(env, rc < 0 ? errno : 0);
  }

  // idValid(id: bigint): 0 while the notification's target still waits, else a positive errno.
  Napi::Value IdValid(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t id;
    if (!BigArg(info, 0, &id)) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "idValid(id: bigint)");
      return env.Undefined();
    }
    if (!poll_.active()) return Napi::Number::New(env, EBADF);
    int rc = ioctl(poll_.fd(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id);
    return Napi::Number::New(env, rc < 0 ? errno : 0);
  }

  // addFd(id: bigint, srcfd, newfd, flags, newfdFlags): the fd number in the target, or -errno.
  Napi::Value AddFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t id;
    int srcfd, newfd;
    uint32_t flags, newfdFlags;
    if (!BigArg(info, 0, &id)) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "addFd(id: bigint, srcfd, newfd, flags, newfdFlags)");
      return env.Undefined();
    }
    if (!ArgFd(info, 1, &srcfd) || !ArgFd(info, 2, &newfd) || !ArgU32(info, 3, &flags) ||
        !ArgU32(info, 4, &newfdFlags))
      return env.Undefined();
    if (!poll_.active()) return Napi::Number::New(env, -EBADF);
    struct seccomp_notif_addfd a = {};
    a.id = id;
    a.srcfd = (uint32_t)srcfd;
    a.newfd = (uint32_t)newfd;
    a.flags = flags;
    a.newfd_flags = newfdFlags;
    int rc = ioctl(poll_.fd(), SECCOMP_IOCTL_NOTIF_ADDFD, &a);
    return Napi::Number::New(env, rc < 0 ? -errno : rc);
  }

  // fd(): the listener's number while open, else -1 — for sendFd() to pass a copy to an agent
  // (runtime-spec linux.seccomp.listenerPath); this object keeps owning it.
  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), poll_.active() ? poll_.fd() : -1);
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
  Napi::FunctionReference onNotification_;
};

}  // namespace

void InitSeccompNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("SeccompListener", SeccompListener::Class(env));
}

}  // namespace nsbox
