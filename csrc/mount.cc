// Mounts: mount(2)/umount2(2), the new mount API (fsopen, fsconfig, fsmount, open_tree,
// move_mount, mount_setattr), and openat2(2) confined to a root. The mount-table watcher is
// csrc/mountwatch.cc.
//
// Thin native (STYLE.md): src/fs/*.ts validates, maps flag names to the numbers exported
// here as `mountConstants`, and builds errors. This file makes syscalls and owns fds until it
// hands them to JS; every fd it creates is O_CLOEXEC.
//
// Every path-based call takes an nsfd first: -1 acts on the calling thread (the syscalls are
// quick and never wait on anything but the kernel's mount lock), an nsfs fd of a mount
// namespace runs the call on a dedicated thread that enters that namespace, acts and exits
// (InMountNs below), so neither the JS thread nor a libuv pool thread ever changes namespace.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "thread.h"
#include "fd.h"
#include "nr.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace nsbox {
namespace {

// Syscalls glibc 2.36 has no wrapper for (or wraps with errno): result or -errno.
namespace msys {
inline long ret(long r) {
  return r < 0 ? -errno : r;
}
inline int fsopen(const char* fstype, unsigned flags) {
  return (int)ret(syscall(__NR_fsopen, fstype, flags));
}
inline int fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return (int)ret(syscall(__NR_fsconfig, fd, cmd, key, value, aux));
}
inline int fsmount(int fd, unsigned flags, unsigned attrs) {
  return (int)ret(syscall(__NR_fsmount, fd, flags, attrs));
}
inline int open_tree(int dfd, const char* path, unsigned flags) {
  return (int)ret(syscall(__NR_open_tree, dfd, path, flags));
}
inline int move_mount(int fdfd, const char* fpath, int tdfd, const char* tpath, unsigned flags) {
  return (int)ret(syscall(__NR_move_mount, fdfd, fpath, tdfd, tpath, flags));
}
inline int mount_setattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return (int)ret(syscall(__NR_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}
inline int openat2(int dfd, const char* path, struct open_how* how) {
  return (int)ret(syscall(__NR_openat2, dfd, path, how, sizeof *how));
}
}  // namespace msys

// ---- the dedicated thread for acting inside a mount namespace ----

struct Trampoline {
  void (*call)(void*);
  void* fn;
  int nsfd;
  int err = 0;
  const char* failed = nullptr;
};

void* InNsThread(void* arg) {
  // Only syscalls: no JS, no allocation, no locks. setns(CLONE_NEWNS) needs a thread that
  // does not share its fs_struct (root, cwd) with others: setns(2) EINVAL otherwise.
  Trampoline* t = static_cast<Trampoline*>(arg);
  if (unshare(CLONE_FS) < 0) {
    t->err = errno;
    t->failed = "unshare";
    return nullptr;
  }
  if (setns(t->nsfd, CLONE_NEWNS) < 0) {
    t->err = errno;
    t->failed = "setns";
    return nullptr;
  }
  t->call(t->fn);
  return nullptr;
}

// Runs f() here (nsfd < 0) or on a fresh thread inside the mount namespace nsfd, which exits
// afterwards and takes the namespace change with it. Returns false with a JS exception
// pending when the thread could not be made or could not enter.
template <class F>
bool InMountNs(Napi::Env env, int nsfd, F& f) {
  if (nsfd < 0) {
    f();
    return true;
  }
  Trampoline t;
  t.call = [](void* p) { (*static_cast<F*>(p))(); };
  t.fn = &f;
  t.nsfd = nsfd;
  // The one dedicated-thread runner (thread.h): pinned, every signal blocked, joined.
  if (int err = RunOnDedicatedThread(InNsThread, &t)) {
    ThrowSys(env, err, "pthread_create");
    return false;
  }
  if (t.failed != nullptr) {
    ThrowSys(env, t.err, t.failed);
    return false;
  }
  return true;
}

// ---- mount(2), umount2(2) ----

// mountIn(nsfd, source|null, target, fstype|null, flags, data|null)
Napi::Value MountIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd;
  uint32_t flags;
  std::string source, target, fstype, data;
  bool hasSource, hasFstype, hasData;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgOptString(info, 1, &source, &hasSource) ||
      !ArgString(info, 2, &target) || !ArgOptString(info, 3, &fstype, &hasFstype) ||
      !ArgU32(info, 4, &flags) || !ArgOptString(info, 5, &data, &hasData)) {
    return env.Undefined();
  }
  int r = 0;
  auto op = [&] {
    r = (int)msys::ret(mount(hasSource ? source.c_str() : nullptr, target.c_str(),
                             hasFstype ? fstype.c_str() : nullptr, flags, hasData ? data.c_str() : nullptr));
  };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (r < 0) {
    if (hasSource)
      ThrowSys(env, -r, "mount", source.c_str(), target.c_str());
    else
      ThrowSys(env, -r, "mount", target.c_str());
  }
  return env.Undefined();
}

// umountIn(nsfd, target, flags): umount2(2).
Napi::Value UmountIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd;
  int32_t flags;
  std::string target;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgString(info, 1, &target) || !ArgInt(info, 2, &flags))
    return env.Undefined();
  int r = 0;
  auto op = [&] { r = (int)msys::ret(umount2(target.c_str(), flags)); };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (r < 0) ThrowSys(env, -r, "umount2", target.c_str());
  return env.Undefined();
}

// ---- the new mount API ----

// fsopen(fstype): fsopen(2) with FSOPEN_CLOEXEC; returns the fs context fd.
Napi::Value Fsopen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string fstype;
  if (!ArgString(info, 0, &fstype)) return env.Undefined();
  int fd = msys::fsopen(fstype.c_str(), FSOPEN_CLOEXEC);
  if (fd < 0) {
    ThrowSys(env, -fd, "fsopen", fstype.c_str());
    return env.Undefined();
  }
  return HandFd(env, fd);
}

// fsconfig(fd, cmd, key|null, value|null, aux): fsconfig(2). Throws SysError with the key as
// `path`; TS then drains the context's message log (fsLog) into `kernelMessage`.
Napi::Value Fsconfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int32_t cmd, aux;
  std::string key, value;
  bool hasKey, hasValue;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, &cmd) || !ArgOptString(info, 2, &key, &hasKey) ||
      !ArgOptString(info, 3, &value, &hasValue) || !ArgInt(info, 4, &aux)) {
    return env.Undefined();
  }
  int r = msys::fsconfig(fd, cmd, hasKey ? key.c_str() : nullptr, hasValue ? value.c_str() : nullptr, aux);
  if (r < 0) ThrowSys(env, -r, "fsconfig", hasKey ? key.c_str() : nullptr);
  return env.Undefined();
}

// fsLog(fd): the messages the filesystem left on its context, one read(2) each ("e ...",
// "w ...", "i ..." lines; fsopen(2) "Message retrieval interface"); ENODATA ends the log.
Napi::Value FsLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  Napi::Array out = Napi::Array::New(env);
  char buf[4096];
  for (uint32_t n = 0; n < 64; n++) {  // the kernel keeps at most 8; bound the loop anyway
    ssize_t len = read(fd, buf, sizeof buf);
    if (len < 0 && errno == EINTR) continue;
    if (len <= 0) break;
    out.Set(n, Napi::String::New(env, buf, static_cast<size_t>(len)));
    if (env.IsExceptionPending()) return env.Undefined();
  }
  return out;
}

// fsmount(fd, attrs): fsmount(2) with FSMOUNT_CLOEXEC; returns a detached mount fd.
Napi::Value Fsmount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t attrs;
  if (!ArgFd(info, 0, &fd) || !ArgU32(info, 1, &attrs)) return env.Undefined();
  int m = msys::fsmount(fd, FSMOUNT_CLOEXEC, attrs);
  if (m < 0) {
    ThrowSys(env, -m, "fsmount");
    return env.Undefined();
  }
  return HandFd(env, m);
}

// openTreeIn(nsfd, path, flags): open_tree(2) with OPEN_TREE_CLOEXEC (+ OPEN_TREE_CLONE,
// AT_RECURSIVE from TS); returns the mount fd.
Napi::Value OpenTreeIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd;
  uint32_t flags;
  std::string path;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgString(info, 1, &path) || !ArgU32(info, 2, &flags))
    return env.Undefined();
  int fd = -1;
  auto op = [&] { fd = msys::open_tree(AT_FDCWD, path.c_str(), flags | OPEN_TREE_CLOEXEC); };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (fd < 0) {
    ThrowSys(env, -fd, "open_tree", path.c_str());
    return env.Undefined();
  }
  return HandFd(env, fd);
}

// attachIn(nsfd, mountfd, target): move_mount(2) of a mount fd (MOVE_MOUNT_F_EMPTY_PATH) onto
// target, resolved in the namespace the call runs in. MOVE_MOUNT_T_SYMLINKS follows a final
// symlink as mount(2) does, and with it a magic link: /proc/self/fd/N (resolveInRoot's
// procPath) then names the opened inode, not the link in procfs (EINVAL without it).
Napi::Value AttachIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd, mfd;
  std::string target;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgFd(info, 1, &mfd) || !ArgString(info, 2, &target))
    return env.Undefined();
  int r = 0;
  auto op = [&] {
    r = msys::move_mount(mfd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS);
  };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (r < 0) ThrowSys(env, -r, "move_mount", target.c_str());
  return env.Undefined();
}

// setattrIn(nsfd, dirfd, path, atFlags, set, clr, propagation, usernsFd): mount_setattr(2).
// dirfd -1 means AT_FDCWD; a mount fd comes with path "" and AT_EMPTY_PATH from TS.
Napi::Value SetattrIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd, dirfd, usernsFd;
  uint32_t atFlags, set, clr, propagation;
  std::string path;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgOptFd(info, 1, &dirfd) || !ArgString(info, 2, &path) ||
      !ArgU32(info, 3, &atFlags) || !ArgU32(info, 4, &set) || !ArgU32(info, 5, &clr) ||
      !ArgU32(info, 6, &propagation) || !ArgOptFd(info, 7, &usernsFd)) {
    return env.Undefined();
  }
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  attr.propagation = propagation;
  attr.userns_fd = usernsFd < 0 ? 0 : static_cast<uint64_t>(usernsFd);
  int r = 0;
  auto op = [&] { r = msys::mount_setattr(dirfd < 0 ? AT_FDCWD : dirfd, path.c_str(), atFlags, &attr); };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (r < 0) ThrowSys(env, -r, "mount_setattr", path.empty() ? nullptr : path.c_str());
  return env.Undefined();
}

// resolveIn(nsfd, root, path, oflags, resolve): opens root (O_PATH|O_DIRECTORY), then
// openat2(rootfd, path, {oflags|O_CLOEXEC, resolve}); the root fd is closed either way.
// With RESOLVE_IN_ROOT every "..", absolute symlink and absolute path stays under root
// (openat2(2)), which is what makes a planted symlink harmless.
Napi::Value ResolveIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd;
  uint32_t oflags, resolve;
  std::string root, path;
  if (!ArgOptFd(info, 0, &nsfd) || !ArgString(info, 1, &root) || !ArgString(info, 2, &path) ||
      !ArgU32(info, 3, &oflags) || !ArgU32(info, 4, &resolve)) {
    return env.Undefined();
  }
  int fd = -1;
  bool atRoot = false;
  auto op = [&] {
    Fd rootfd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd.valid()) {
      fd = -errno;
      atRoot = true;
      return;
    }
    struct open_how how = {};
    how.flags = oflags | O_CLOEXEC;
    how.resolve = resolve;
    fd = msys::openat2(rootfd.get(), path.c_str(), &how);
  };
  if (!InMountNs(env, nsfd, op)) return env.Undefined();
  if (fd < 0) {
    if (atRoot)
      ThrowSys(env, -fd, "open", root.c_str());
    else
      ThrowSys(env, -fd, "openat2", path.c_str());
    return env.Undefined();
  }
  return HandFd(env, fd);
}

#define SET(name) c.Set(#name, Napi::Number::New(env, static_cast<double>(name)))

}  // namespace

// The mount API's constants, added to the one table of kernel constants (constants.cc).
void AddMountConstants(Napi::Env env, Napi::Object c) {
  SET(MS_RDONLY);
  SET(MS_NOSUID);
  SET(MS_NODEV);
  SET(MS_NOEXEC);
  SET(MS_SYNCHRONOUS);
  SET(MS_REMOUNT);
  SET(MS_DIRSYNC);
  SET(MS_NOSYMFOLLOW);
  SET(MS_NOATIME);
  SET(MS_NODIRATIME);
  SET(MS_BIND);
  SET(MS_REC);
  SET(MS_SILENT);
  SET(MS_RELATIME);
  SET(MS_STRICTATIME);
  SET(MS_LAZYTIME);
  SET(MS_PRIVATE);
  SET(MS_SLAVE);
  SET(MS_SHARED);
  SET(MS_UNBINDABLE);
  SET(MNT_FORCE);
  SET(MNT_DETACH);
  SET(MNT_EXPIRE);
  SET(UMOUNT_NOFOLLOW);
  SET(MOUNT_ATTR_RDONLY);
  SET(MOUNT_ATTR_NOSUID);
  SET(MOUNT_ATTR_NODEV);
  SET(MOUNT_ATTR_NOEXEC);
  SET(MOUNT_ATTR__ATIME);
  SET(MOUNT_ATTR_RELATIME);
  SET(MOUNT_ATTR_NOATIME);
  SET(MOUNT_ATTR_STRICTATIME);
  SET(MOUNT_ATTR_NODIRATIME);
  SET(MOUNT_ATTR_IDMAP);
  SET(MOUNT_ATTR_NOSYMFOLLOW);
  SET(FSCONFIG_SET_FLAG);
  SET(FSCONFIG_SET_STRING);
  SET(FSCONFIG_SET_PATH);
  SET(FSCONFIG_CMD_CREATE);
  SET(FSCONFIG_CMD_RECONFIGURE);
  SET(OPEN_TREE_CLONE);
  SET(AT_RECURSIVE);
  SET(AT_EMPTY_PATH);
  SET(RESOLVE_IN_ROOT);
  SET(RESOLVE_NO_MAGICLINKS);
  SET(RESOLVE_NO_SYMLINKS);
  SET(RESOLVE_NO_XDEV);
  SET(RESOLVE_BENEATH);
  SET(O_PATH);
  SET(O_DIRECTORY);
  SET(O_NOFOLLOW);
}

#undef SET

void InitMount(Napi::Env env, Napi::Object exports) {
  exports.Set("mountIn", Napi::Function::New(env, MountIn, "mountIn"));
  exports.Set("umountIn", Napi::Function::New(env, UmountIn, "umountIn"));
  exports.Set("fsopen", Napi::Function::New(env, Fsopen, "fsopen"));
  exports.Set("fsconfig", Napi::Function::New(env, Fsconfig, "fsconfig"));
  exports.Set("fsLog", Napi::Function::New(env, FsLog, "fsLog"));
  exports.Set("fsmount", Napi::Function::New(env, Fsmount, "fsmount"));
  exports.Set("openTreeIn", Napi::Function::New(env, OpenTreeIn, "openTreeIn"));
  exports.Set("attachIn", Napi::Function::New(env, AttachIn, "attachIn"));
  exports.Set("setattrIn", Napi::Function::New(env, SetattrIn, "setattrIn"));
  exports.Set("resolveIn", Napi::Function::New(env, ResolveIn, "resolveIn"));
}

}  // namespace nsbox
