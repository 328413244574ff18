// Namespace handles: open/fstat/ioctl(NS_GET_*) on nsfs files, setns/unshare on the calling
// thread, and a namespace made on a dedicated thread. (mount(2) and umount2(2): mount.cc.)
//
// Thin native (STYLE.md): TS (src/namespaces/*.ts) validates and builds errors; this file
// only makes the syscalls, owns fds until they are handed to JS, and reports errno through
// ThrowSys. Every fd it returns is O_CLOEXEC.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "sys.h"
#include "thread.h"

namespace nsbox {
namespace {

// Makes sure an fd handed to JS is close-on-exec. ioctl(NS_GET_USERNS/NS_GET_PARENT) already
// opens its fd O_CLOEXEC (fs/nsfs.c open_related_ns), so this is normally one F_GETFD.
int EnsureCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return errno;
  if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return errno;
  return 0;
}

// nsOpen(path): open(2) O_RDONLY|O_CLOEXEC. An nsfs file needs no more than read access to
// be passed to setns(2) or the NS_GET_* ioctls (ioctl_ns(2)).
Napi::Value NsOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowSys(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  return HandFd(env, fd);
}

// nsFromPidfd(pidfd, cmd): ioctl(pidfd, PIDFD_GET_*_NAMESPACE, 0) (Linux 6.11, fs/pidfs.c): the
// namespace of exactly the process the pidfd names, as an O_CLOEXEC nsfs fd, with no /proc path
// that a reused pid could redirect. Returns the fd or -errno: ENOTTY before 6.11, EOPNOTSUPP for a
// kind the kernel lacks, ESRCH once the process has exited, EACCES without ptrace read access
// (the check /proc/PID/ns/* makes). TS picks the fallback and builds the error.
Napi::Value NsFromPidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd;
  int64_t cmd;
  if (!ArgFd(info, 0, &pidfd) ||
      !ArgInteger(info, 1, PIDFD_GET_CGROUP_NAMESPACE, PIDFD_GET_UTS_NAMESPACE, &cmd))
    return env.Undefined();
  int fd = ioctl(pidfd, (unsigned long)cmd, 0);
  if (fd < 0) return Napi::Number::New(env, -errno);
  // (O_CLOEXEC already: the kernel opens it so, pidfs's open_namespace)
  return HandFd(env, fd);
}

// lockFile(path): open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0600) and flock(LOCK_EX|LOCK_NB). Returns
// the fd, which holds the lock until it is closed (or the process dies), or -1 when another
// open file holds it (EWOULDBLOCK); other errors throw. Used to claim a uid range.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    ThrowSys(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  if (flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowSys(env, errno, "flock", path.c_str());
    return env.Undefined();
  }
  return HandFd(env, fd.release());
}

// nsStat(fd): [st_dev, st_ino]. The pair identifies a namespace (ioctl_ns(2), "Discovering
// namespace type"); readlink /proc/PID/ns/X prints the inode as "net:[INO]".
Napi::Value NsStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  struct stat st;
  if (fstat(fd, &st) < 0) {
    ThrowSys(env, errno, "fstat");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(st.st_ino)));
  return out;
}

// nsGetType(fd): ioctl(NS_GET_NSTYPE) returns the CLONE_NEW* value of the namespace; ENOTTY
// means the fd is not an nsfs file (TS turns that into ERR_INVALID_ARG_VALUE).
Napi::Value NsGetType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  return Napi::Number::New(env, type);
}

// nsGetRelative(fd, 'userns' | 'parent'): ioctl(NS_GET_USERNS) gives the owning user
// namespace, ioctl(NS_GET_PARENT) the parent of a user or pid namespace; both return a new
// fd, or EPERM when the answer lies outside the caller's namespace scope (ioctl_ns(2)).
Napi::Value NsGetRelative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  std::string which;
  if (!ArgFd(info, 0, &fd) || !ArgString(info, 1, &which)) return env.Undefined();
  unsigned long request;
  if (which == "userns") {
    request = NS_GET_USERNS;
  } else if (which == "parent") {
    request = NS_GET_PARENT;
  } else {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "which must be 'userns' or 'parent'");
    return env.Undefined();
  }
  Fd rel(ioctl(fd, request));
  if (!rel.valid()) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  if (int err = EnsureCloexec(rel.get())) {
    ThrowSys(env, err, "fcntl");
    return env.Undefined();
  }
  return HandFd(env, rel.release());
}

// nsGetOwnerUid(fd): ioctl(NS_GET_OWNER_UID) writes the uid of the user namespace's creator,
// as seen from the caller's user namespace (ioctl_ns(2)); EINVAL if fd is not a user ns.
Napi::Value NsGetOwnerUid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  uid_t uid;
  if (ioctl(fd, NS_GET_OWNER_UID, &uid) < 0) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(uid));
}

// close(fd). On Linux the fd is released even when close(2) reports EINTR (close(2), "Dealing
// with error returns"), so retrying would risk closing someone else's fd: EINTR is not an error.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  GetAddon(env)->handleFds.erase(fd);  // before close(2): the number may be reused at once
  if (close(fd) < 0 && errno != EINTR) ThrowSys(env, errno, "close");
  return env.Undefined();
}

// setnsThread(fd, nstype): setns(2) moves the *calling thread* only. TS refuses the kinds a
// multi-threaded process cannot join (user, mnt, time) before calling this.
Napi::Value SetnsThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int32_t nstype;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, &nstype)) return env.Undefined();
  if (setns(fd, nstype) < 0) ThrowSys(env, errno, "setns");
  return env.Undefined();
}

// unshareThread(flags): unshare(2) of the calling thread only; other threads (libuv's pool,
// workers) stay where they were. See docs/threading.md.
Napi::Value UnshareThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t flags;
  if (!ArgInt(info, 0, &flags)) return env.Undefined();
  if (unshare(flags) < 0) ThrowSys(env, errno, "unshare");
  return env.Undefined();
}

// nsCreate(flag, name): makes a new namespace without moving any thread that runs JS or libuv
// work. A dedicated thread calls unshare(flag), opens /proc/thread-self/ns/<name> (the fd
// keeps the namespace alive, namespaces(7) "The /proc/[pid]/ns/ directory"), and exits.
// The JS thread waits for it: both steps are quick, and a namespace fd is all that is left.
// pthread_create rather than std::thread: node-gyp builds with -fno-exceptions, and a failed
// std::thread constructor would abort the process instead of reporting EAGAIN.
struct CreateJob {
  int flag;
  const char* path;
  int fd = -1;
  int err = 0;
  const char* failed = nullptr;
};

void* CreateThread(void* arg) {
  // Only syscalls on the job's fields: no JS, no allocation, no locks.
  CreateJob* job = static_cast<CreateJob*>(arg);
  if (unshare(job->flag) < 0) {
    job->err = errno;
    job->failed = "unshare";
    return nullptr;
  }
  job->fd = open(job->path, O_RDONLY | O_CLOEXEC);
  if (job->fd < 0) {
    job->err = errno;
    job->failed = "open";
  }
  return nullptr;
}

Napi::Value NsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t flag;
  std::string name;
  if (!ArgInt(info, 0, &flag) || !ArgString(info, 1, &name)) return env.Undefined();
  if (name.empty() || name.find('/') != std::string::npos) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "name must be a /proc/PID/ns file name");
    return env.Undefined();
  }
  const std::string path = "/proc/thread-self/ns/" + name;
  CreateJob job;
  job.flag = flag;
  job.path = path.c_str();
  int err = RunOnDedicatedThread(CreateThread, &job);  // csrc/thread.h
  if (err != 0) {
    ThrowSys(env, err, "pthread_create");
    return env.Undefined();
  }
  if (job.failed != nullptr) {
    const bool opening = job.failed[0] == 'o';
    ThrowSys(env, job.err, job.failed, opening ? path.c_str() : nullptr);
    return env.Undefined();
  }
  return HandFd(env, job.fd);
}

}  // namespace

void InitNs(Napi::Env env, Napi::Object exports) {
  exports.Set("nsOpen", Napi::Function::New(env, NsOpen, "nsOpen"));
  exports.Set("nsFromPidfd", Napi::Function::New(env, NsFromPidfd, "nsFromPidfd"));
  exports.Set("nsStat", Napi::Function::New(env, NsStat, "nsStat"));
  exports.Set("nsGetType", Napi::Function::New(env, NsGetType, "nsGetType"));
  exports.Set("nsGetRelative", Napi::Function::New(env, NsGetRelative, "nsGetRelative"));
  exports.Set("nsGetOwnerUid", Napi::Function::New(env, NsGetOwnerUid, "nsGetOwnerUid"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  exports.Set("setnsThread", Napi::Function::New(env, SetnsThread, "setnsThread"));
  exports.Set("unshareThread", Napi::Function::New(env, UnshareThread, "unshareThread"));
  exports.Set("nsCreate", Napi::Function::New(env, NsCreate, "nsCreate"));
}

}  // namespace nsbox
