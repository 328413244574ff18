// probeFeatures(): which kernel interfaces this process can use, found by calling each one
// in a way that either fails harmlessly or makes an object that is released at once.
// Every probe tells "the syscall is missing" (ENOSYS, ENOTTY) apart from "the syscall
// exists but refused these arguments" (EINVAL, EPERM, EBADF, ...). Nothing outlives the call:
// every fd is O_CLOEXEC and closed, the one child is reaped before returning.
// The JS side (src/features.ts) documents, caches and freezes the result.
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <memory>

#include "addon.h"
#include "errors.h"
#include "fd.h"
#include "landlock.h"
#include "sys.h"
#include "nr.h"

#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef CLONE_ARGS_SIZE_VER2
#define CLONE_ARGS_SIZE_VER2 88
#endif

namespace nsbox {
namespace {

// clone3(2) with a NULL, zero-sized argument: a kernel that has clone3 rejects the size
// (EINVAL: smaller than CLONE_ARGS_SIZE_VER0) before doing anything; one without it says ENOSYS.
bool ProbeClone3() {
  long r = sys::ret(syscall(__NR_clone3, nullptr, 0));
  return r != -ENOSYS;
}

// CLONE_INTO_CGROUP (Linux 5.7). clone3 rejects an unknown flag with EINVAL (and a struct
// larger than it knows, whose extra bytes are not zero, with E2BIG). A kernel that knows the
// flag checks args.cgroup <= INT_MAX (else EINVAL, so -1 cannot tell the two apart), then
// looks the fd up: INT_MAX can never be an open fd (fs.nr_open is capped below it), so such a
// kernel answers EBADF while setting up the child, before it exists (kernel/cgroup/cgroup.c,
// cgroup_css_set_fork).
bool ProbeCloneIntoCgroup() {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = INT_MAX;
  long r = sys::ret(syscall(__NR_clone3, &args, (size_t)CLONE_ARGS_SIZE_VER2));
  if (r == 0) _exit(0);  // cannot happen (see above); if it did, the child must leave at once
  if (r > 0) {
    int status;
    while (waitpid((pid_t)r, &status, 0) < 0 && errno == EINTR) {
    }
    return true;
  }
  return r == -EBADF;
}

// pidfd_open(2) on ourselves (pidfds are always close-on-exec), then pidfd_send_signal(2)
// with signal 0, which checks permission and existence and sends nothing.
void ProbePidfd(bool* pidfd, bool* sendSignal) {
  Fd fd(sys::pidfd_open(getpid(), 0));
  *pidfd = fd.valid();
  *sendSignal = fd.valid() && sys::pidfd_send_signal(fd.get(), 0) == 0;
}

// close_range(2) over [~0U-1, ~0U]: no process has fds there, so nothing is closed.
bool ProbeCloseRange() {
  return sys::close_range(~0U - 1, ~0U, 0) == 0;
}

// fsopen(2): an unprivileged caller gets EPERM, which still proves the new mount API exists.
// The filesystem context it creates is released by close.
bool ProbeNewMountApi() {
  int r = sys::fsopen("tmpfs", FSOPEN_CLOEXEC);
  Fd fd(r);
  return r != -ENOSYS;
}

// mount_setattr(2) with a zero-sized attribute: EINVAL (size < MOUNT_ATTR_SIZE_VER0) before
// any lookup when the syscall exists.
bool ProbeMountSetattr() {
  long r = sys::ret(syscall(__NR_mount_setattr, -1, "", 0, nullptr, (size_t)0));
  return r != -ENOSYS;
}

// openat2(2) on "/" with RESOLVE_NO_MAGICLINKS, then close.
bool ProbeOpenat2() {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  long r = sys::ret(syscall(__NR_openat2, AT_FDCWD, "/", &how, sizeof how));
  Fd fd(r >= 0 ? (int)r : -1);
  return r >= 0;
}

// ioctl_ns(2): NS_GET_NSTYPE on our network namespace must answer CLONE_NEWNET.
bool ProbeNsIoctls() {
  Fd fd(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  return ioctl(fd.get(), NS_GET_NSTYPE) == CLONE_NEWNET;
}

// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) answers the highest
// Landlock ABI the kernel supports (landlock(7)); ENOSYS (not built in) and EOPNOTSUPP
// (built in but disabled at boot, `lsm=`) both mean none: 0. Makes no object.
int ProbeLandlockAbi() {
  long r = syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return r > 0 ? (int)r : 0;
}

Napi::Value LandlockAbi(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ProbeLandlockAbi());
}

int UsernsChild(void*) {
  return 0;
}

// Can a new user namespace be made? Node is multi-threaded, so unshare(CLONE_NEWUSER) here
// would fail with EINVAL whatever the policy; a new child asks the kernel instead: clone(2)
// with CLONE_NEWUSER applies the same checks (user.max_user_namespaces, the Debian/Ubuntu
// sysctls, LSMs, seccomp, chroot). CLONE_VM|CLONE_VFORK avoids copying Node's address space;
// the child runs on its own small stack, returns at once and is reaped here.
// Returns 0 or the positive errno clone reported.
int ProbeUserns() {
  const size_t size = 64 * 1024;
  std::unique_ptr<char[]> stack(new (std::nothrow) char[size]);
  if (!stack) return ENOMEM;
  char* top = stack.get() + size;
  top = (char*)((uintptr_t)top & ~(uintptr_t)15);
  pid_t pid = clone(UsernsChild, top, CLONE_NEWUSER | CLONE_VM | CLONE_VFORK | SIGCHLD, nullptr);
  if (pid < 0) return errno;
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

Napi::Value ProbeFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  auto set = [&](const char* key, bool v) { out.Set(key, Napi::Boolean::New(env, v)); };

  bool pidfd = false, sendSignal = false;
  ProbePidfd(&pidfd, &sendSignal);
  int usernsErr = ProbeUserns();

  set("clone3", ProbeClone3());
  set("cloneIntoCgroup", ProbeCloneIntoCgroup());
  set("pidfd", pidfd);
  set("pidfdSendSignal", sendSignal);
  set("closeRange", ProbeCloseRange());
  set("timeNamespace", access("/proc/self/ns/time", F_OK) == 0);
  set("newMountApi", ProbeNewMountApi());
  set("mountSetattr", ProbeMountSetattr());
  set("openat2", ProbeOpenat2());
  set("nsGetIoctls", ProbeNsIoctls());
  set("userNamespaces", usernsErr == 0);
  out.Set("userNamespacesErrno", Napi::Number::New(env, usernsErr));
  out.Set("landlock", Napi::Number::New(env, ProbeLandlockAbi()));
  out.Set("euid", Napi::Number::New(env, geteuid()));
  out.Set("egid", Napi::Number::New(env, getegid()));
  return out;
}

// CLONE_INTO_CGROUP alone: what spawn checks before its first syscall, without the other
// probes (one of them clones a child).
Napi::Value ProbeCloneIntoCgroupFn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ProbeCloneIntoCgroup());
}

// Whether this is the process's main thread (its tid is the pid): there process.env is the
// process's environment itself, which a plan may then inherit without listing it (plan.h
// kEnvInherit); a worker's process.env is its own copy.
Napi::Value OnProcessMainThread(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gettid() == getpid());
}

// uname(2)'s release (os.release() without loading node:os).
Napi::Value KernelRelease(const Napi::CallbackInfo& info) {
  struct utsname u;
  if (uname(&u) < 0) {
    ThrowSys(info.Env(), errno, "uname");
    return info.Env().Undefined();
  }
  return Napi::String::New(info.Env(), u.release);
}

}  // namespace

void InitFeatures(Napi::Env env, Napi::Object exports) {
  exports.Set("onProcessMainThread", Napi::Function::New(env, OnProcessMainThread, "onProcessMainThread"));
  exports.Set("probeFeatures", Napi::Function::New(env, ProbeFeatures, "probeFeatures"));
  exports.Set("probeCloneIntoCgroup",
              Napi::Function::New(env, ProbeCloneIntoCgroupFn, "probeCloneIntoCgroup"));
  exports.Set("kernelRelease", Napi::Function::New(env, KernelRelease, "kernelRelease"));
  exports.Set("landlockAbi", Napi::Function::New(env, LandlockAbi, "landlockAbi"));
}

}  // namespace nsbox
