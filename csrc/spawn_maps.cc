// The parent's answers to a child's MSG_MAPS: see spawn_maps.h.
#include "spawn_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mount.h>

#include "child.h"
#include "errors.h"
#include "sys.h"

extern char** environ;

namespace nsbox {
namespace {

const std::string kDeny = "deny", kNone;

int WriteFile(const std::string& path, const std::string& data) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  ssize_t n = write(fd.get(), data.data(), data.size());
  if (n < 0) return errno;
  return n == (ssize_t)data.size() ? 0 : EIO;
}

// Runs newuidmap/newgidmap PID RANGES... (setuid helpers from the uidmap package) and waits
// for that one process, at most `timeoutMs`: a helper still running then is killed and reaped
// (ETIMEDOUT), as it is when `cancelFd` (an eventfd, or -1) becomes readable (ECANCELED: the
// environment is ending). posix_spawn uses vfork, so this stays cheap in a large process; the wait is on
// a pidfd with poll(2), so no signal or other child is involved.
int RunHelper(const std::vector<std::string>& argv, pid_t target, int timeoutMs, int cancelFd) {
  if (argv.empty()) return EINVAL;
  std::vector<std::string> args = argv;
  args.insert(args.begin() + 1, std::to_string(target));
  std::vector<char*> av;
  for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  // The helper starts with no signal blocked and every signal at its default action, whatever
  // thread runs this (spawnAsync's session thread blocks them all; Node ignores SIGPIPE).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, av[0], nullptr, &attr, av.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return rc;
  // Our unreaped child: its pid cannot name another process until we reap it.
  Fd pidfd(sys::pidfd_open(pid, 0));
  if (pidfd.valid()) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      struct pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {cancelFd, POLLIN, 0}};
      int n = spent >= timeoutMs ? 0 : poll(p, cancelFd >= 0 ? 2 : 1, (int)(timeoutMs - spent));
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && p[0].revents) break;
      if (n < 0) break;  // cannot wait with a bound: wait below
      sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return n > 0 ? ECANCELED : ETIMEDOUT;
    }
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno;
  return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : EPERM;
}

// Raw napi reads (no node-addon-api): a failed napi call there yields an empty Value whose
// next use is a fatal error, which is what aborted the process when a worker was terminated
// in the middle of a spawn (issue 10, defect 4). A wrong type throws a TypeError; a refusal
// because the environment is ending throws nothing (nothing can be thrown then).
bool Fail(napi_env env, napi_status s, const char* what) {
  bool pending = false;
  if (s == napi_pending_exception || s == napi_cannot_run_js) return false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return false;
  ThrowType(Napi::Env(env), "ERR_INVALID_ARG_TYPE", what);
  return false;
}

// obj[key]; *out is nullptr when it is undefined.
bool Field(napi_env env, napi_value obj, const char* key, napi_value* out) {
  napi_status s = napi_get_named_property(env, obj, key, out);
  if (s != napi_ok) return Fail(env, s, key);
  napi_valuetype t;
  if (napi_typeof(env, *out, &t) != napi_ok) return Fail(env, napi_generic_failure, key);
  if (t == napi_undefined) *out = nullptr;
  return true;
}

bool StringValue(napi_env env, napi_value v, const char* what, std::string* out) {
  size_t n = 0;
  napi_status s = napi_get_value_string_utf8(env, v, nullptr, 0, &n);
  if (s != napi_ok) return Fail(env, s, what);
  out->resize(n);
  s = napi_get_value_string_utf8(env, v, &(*out)[0], n + 1, &n);
  if (s != napi_ok) return Fail(env, s, what);
  return true;
}

bool StringField(napi_env env, napi_value obj, const char* key, std::string* out) {
  napi_value v;
  if (!Field(env, obj, key, &v)) return false;
  return v == nullptr || StringValue(env, v, key, out);
}

// An optional array of strings.
bool StringsField(napi_env env, napi_value obj, const char* key, std::vector<std::string>* out) {
  napi_value a;
  if (!Field(env, obj, key, &a)) return false;
  if (a == nullptr) return true;
  uint32_t n = 0;
  napi_status s = napi_get_array_length(env, a, &n);
  if (s != napi_ok) return Fail(env, s, key);
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if ((s = napi_get_element(env, a, i, &e)) != napi_ok) return Fail(env, s, key);
    if (!StringValue(env, e, key, &(*out)[i])) return false;
  }
  return true;
}

}  // namespace

// The JS type of v (napi_undefined when it cannot be read: the environment is ending).
static napi_valuetype TypeOf(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v == nullptr || napi_typeof(env, v, &t) != napi_ok) return napi_undefined;
  return t;
}

bool ReadMaps(napi_env env, napi_value v, MapsSpec* out) {
  napi_valuetype t = TypeOf(env, v);
  if (t == napi_null) return true;  // no user namespace
  if (t != napi_object) return Fail(env, napi_object_expected, "maps must be an object or null");
  out->present = true;
  std::string mode;
  napi_value deny, probe;
  for (const char* key : {"mode", "uidMap", "gidMap", "denySetgroups"}) {
    if (!Field(env, v, key, &probe)) return false;
    if (probe == nullptr)
      return Fail(env, napi_invalid_arg, "maps needs mode, uidMap, gidMap and denySetgroups");
  }
  if (!StringField(env, v, "mode", &mode) || !StringField(env, v, "uidMap", &out->uidMap) ||
      !StringField(env, v, "gidMap", &out->gidMap) || !StringsField(env, v, "uidHelper", &out->uidHelper) ||
      !StringsField(env, v, "gidHelper", &out->gidHelper) ||
      !StringsField(env, v, "idmapSources", &out->idmapSources) || !Field(env, v, "denySetgroups", &deny))
    return false;
  out->helper = mode == "helper";
  napi_value timeout;
  if (!Field(env, v, "helperTimeout", &timeout)) return false;
  if (timeout != nullptr) {
    int32_t ms = 0;
    napi_status s = napi_get_value_int32(env, timeout, &ms);
    if (s != napi_ok) return Fail(env, s, "helperTimeout");
    if (ms < 1) {
      ThrowType(Napi::Env(env), "ERR_INVALID_ARG_VALUE",
                "maps.helperTimeout must be a positive integer (ms)");
      return false;
    }
    out->helperTimeoutMs = ms;
  }
  if (deny != nullptr) {
    napi_status s = napi_get_value_bool(env, deny, &out->denySetgroups);
    if (s != napi_ok) return Fail(env, s, "denySetgroups");
  }
  // What the answers rely on, checked before the clone (issue 10, defect 2).
  auto bad = [&](const char* what) {
    ThrowType(Napi::Env(env), "ERR_INVALID_ARG_VALUE", what);
    return false;
  };
  auto nul = [](const std::string& t) { return t.find('\0') != std::string::npos; };
  if (mode != "direct" && mode != "helper") return bad("maps.mode must be 'direct' or 'helper'");
  if (out->helper && (out->uidHelper.empty() || out->gidHelper.empty()))
    return bad("maps.uidHelper and maps.gidHelper must be non-empty arrays of strings");
  if (out->idmapSources.size() > (size_t)kMaxTrees) return bad("maps.idmapSources must hold at most 8 paths");
  for (const auto* list : {&out->uidHelper, &out->gidHelper, &out->idmapSources})
    for (const std::string& t : *list)
      if (nul(t)) return bad("maps: a string contains a NUL byte");
  return true;
}

bool ReadParentSide(napi_env env, napi_value v, ParentSpec* out) {
  napi_valuetype t = TypeOf(env, v);
  if (t == napi_undefined) return true;  // nothing for the parent to apply
  if (t != napi_object) return Fail(env, napi_object_expected, "parent must be an object or undefined");
  out->present = true;
  napi_value lims, oom;
  if (!Field(env, v, "rlimits", &lims) || !Field(env, v, "oomScoreAdj", &oom)) return false;
  if (lims != nullptr) {
    bool isTyped = false;
    napi_typedarray_type type = napi_int8_array;
    size_t n = 0;
    void* data = nullptr;
    napi_status s = napi_is_typedarray(env, lims, &isTyped);
    if (s == napi_ok && isTyped) s = napi_get_typedarray_info(env, lims, &type, &n, &data, nullptr, nullptr);
    if (s != napi_ok) return Fail(env, s, "rlimits");
    if (!isTyped || type != napi_biguint64_array)
      return Fail(env, napi_invalid_arg, "parent.rlimits must be a BigUint64Array");
    const uint64_t* t = static_cast<const uint64_t*>(data);
    out->rlimits.assign(t, t + n);
  }
  if (oom != nullptr) {
    double d = 0.5;
    napi_status s = napi_get_value_double(env, oom, &d);
    if (s != napi_ok && s != napi_number_expected) return Fail(env, s, "oomScoreAdj");
    if (s != napi_ok || d != (double)(int32_t)d)
      return Fail(env, napi_invalid_arg, "parent.oomScoreAdj must be an integer");
    out->oomScoreAdj = (int32_t)d;
    out->hasOomScoreAdj = true;
  }
  auto bad = [&](const char* what) {
    ThrowType(Napi::Env(env), "ERR_INVALID_ARG_VALUE", what);
    return false;
  };
  if (out->rlimits.size() % 3 != 0) return bad("parent.rlimits must hold (resource, soft, hard) triples");
  for (size_t i = 0; i < out->rlimits.size(); i += 3)
    if (out->rlimits[i] >= RLIM_NLIMITS || out->rlimits[i + 1] > out->rlimits[i + 2])
      return bad("parent.rlimits: a bad resource or soft above hard");
  if (out->hasOomScoreAdj && (out->oomScoreAdj < -1000 || out->oomScoreAdj > 1000))
    return bad("parent.oomScoreAdj must be an integer in -1000..1000");
  return true;
}

MapsError WriteMaps(const MapsSpec& maps, pid_t pid, int cancelFd) {
  MapsError e;
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  if (maps.helper) {
    if ((e.err = RunHelper(maps.uidHelper, pid, maps.helperTimeoutMs, cancelFd))) {
      e.syscall = "newuidmap";
      e.path = proc + "uid_map";
    } else if ((e.err = RunHelper(maps.gidHelper, pid, maps.helperTimeoutMs, cancelFd))) {
      e.syscall = "newgidmap";
      e.path = proc + "gid_map";
    }
    return e;
  }
  // setgroups must be denied before an unprivileged writer may write gid_map
  // (user_namespaces(7), CVE-2014-8989).
  struct {
    const char* file;
    const std::string& data;
  } writes[3] = {
      {"setgroups", maps.denySetgroups ? kDeny : kNone},
      {"uid_map", maps.uidMap},
      {"gid_map", maps.gidMap},
  };
  for (auto& w : writes) {
    if (w.data.empty()) continue;
    if ((e.err = WriteFile(proc + w.file, w.data))) {
      e.syscall = "write";
      e.path = proc + w.file;
      return e;
    }
  }
  return e;
}

// Idmapped volumes (mount_setattr(2) MOUNT_ATTR_IDMAP): detached copies of each source, made
// here — the kernel wants CAP_SYS_ADMIN over the source mount, which only the parent has —
// with the child's user namespace, now that its maps are written. The child attaches them.
MapsError IdmapTrees(const MapsSpec& maps, pid_t pid, std::vector<Fd>& out) {
  MapsError e;
  const std::vector<std::string>& sources = maps.idmapSources;
  if (sources.empty()) return e;
  std::string userns = "/proc/" + std::to_string(pid) + "/ns/user";
  Fd ns(open(userns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return e.err = errno, e.syscall = "open", e.path = userns, e;
  for (auto& src : sources) {
    Fd tree(sys::open_tree(AT_FDCWD, src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree.valid()) return e.err = -tree.release(), e.syscall = "open_tree", e.path = src, e;
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)ns.get();
    long r = syscall(__NR_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
    if (r < 0) return e.err = errno, e.syscall = "mount_setattr", e.path = src, e;
    out.push_back(std::move(tree));
  }
  return e;
}

// The answer to MSG_MAPS: the errno, with the idmapped trees as SCM_RIGHTS.
int SendAnswer(int sock, int32_t answer, const std::vector<Fd>& trees) {
  struct iovec iov = {&answer, sizeof answer};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxTrees)];
    struct cmsghdr align;
  } cbuf;
  if (trees.size() > (size_t)kMaxTrees) return EINVAL;  // ReadMaps allows no more sources
  if (!answer && !trees.empty()) {
    mh.msg_control = cbuf.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * trees.size());
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * trees.size());
    int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
    for (size_t k = 0; k < trees.size(); k++) fds[k] = trees[k].get();
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n == (ssize_t)sizeof answer) return 0;
    if (n >= 0) return EIO;
    if (errno != EINTR) return errno;
  }
}

MapsError ApplyParentSide(const ParentSpec& parent, pid_t pid) {
  MapsError e;
  if (!parent.present) {
    e.err = EINVAL;
    return e;
  }
  const std::vector<uint64_t>& t = parent.rlimits;
  for (size_t i = 0; i + 2 < t.size(); i += 3) {
    struct rlimit64 lim = {t[i + 1], t[i + 2]};
    if (prlimit64(pid, (__rlimit_resource)t[i], &lim, nullptr) < 0) {
      e.err = errno;
      e.syscall = "prlimit64";
      return e;
    }
  }
  if (parent.hasOomScoreAdj) {
    std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
    std::string text = std::to_string(parent.oomScoreAdj);
    errno = 0;
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text.data(), text.size()) != (ssize_t)text.size()) {
      e.err = errno ? errno : EIO;
      e.syscall = fd < 0 ? "open" : "write";
      e.path = path;
    }
    if (fd >= 0) close(fd);
  }
  return e;
}

}  // namespace nsbox
