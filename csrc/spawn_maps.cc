// The parent's answers to a child's MSG_MAPS: see spawn_maps.h.
#include "spawn_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mount.h>

#include "child.h"
#include "sys.h"

extern char** environ;

namespace nsbox {
namespace {

int WriteFile(const std::string& path, const std::string& data) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  ssize_t n = write(fd.get(), data.data(), data.size());
  if (n < 0) return errno;
  return n == (ssize_t)data.size() ? 0 : EIO;
}

// Runs newuidmap/newgidmap PID RANGES... (setuid helpers from the uidmap package) and waits
// for that one process; posix_spawn uses vfork, so this stays cheap in a large process.
int RunHelper(const std::vector<std::string>& argv, pid_t target) {
  std::vector<std::string> args = argv;
  args.insert(args.begin() + 1, std::to_string(target));
  std::vector<char*> av;
  for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, av[0], nullptr, nullptr, av.data(), environ);
  if (rc != 0) return rc;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno;
  return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : EPERM;
}

// An array of strings without NUL (argv words, paths): false when `v` is anything else.
bool StringArray(Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value e = a.Get(i);
    if (e.Env().IsExceptionPending() || !e.IsString()) return false;
    out->push_back(e.As<Napi::String>().Utf8Value());
    if (out->back().find('\0') != std::string::npos) return false;
  }
  return true;
}

// obj[key] as a string; false (maybe with an exception pending) when it is not one.
bool StringProp(Napi::Object o, const char* key, std::string* out) {
  Napi::Value v = o.Get(key);
  if (o.Env().IsExceptionPending() || !v.IsString()) return false;
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

}  // namespace

const char* ReadMaps(Napi::Value v, MapsSpec* out) {
  if (v.IsNull()) return nullptr;
  if (!v.IsObject()) return "maps must be an object or null";
  Napi::Env env = v.Env();
  Napi::Object o = v.As<Napi::Object>();
  std::string mode;
  if (!StringProp(o, "mode", &mode) || (mode != "direct" && mode != "helper")) return "maps.mode must be 'direct' or 'helper'";
  out->helper = mode == "helper";
  if (!StringProp(o, "uidMap", &out->uidMap) || !StringProp(o, "gidMap", &out->gidMap)) return "maps.uidMap and maps.gidMap must be strings";
  Napi::Value deny = o.Get("denySetgroups");
  if (env.IsExceptionPending() || !deny.IsBoolean()) return "maps.denySetgroups must be a boolean";
  out->denySetgroups = deny.As<Napi::Boolean>().Value();
  if (out->helper && (!StringArray(o.Get("uidHelper"), &out->uidHelper) || out->uidHelper.empty() ||
                      !StringArray(o.Get("gidHelper"), &out->gidHelper) || out->gidHelper.empty()))
    return "maps.uidHelper and maps.gidHelper must be arrays of strings";
  Napi::Value sources = o.Get("idmapSources");
  if (env.IsExceptionPending()) return "maps.idmapSources";
  if (!sources.IsUndefined() && (!StringArray(sources, &out->idmapSources) || out->idmapSources.size() > (size_t)kMaxTrees))
    return "maps.idmapSources must be an array of at most 8 paths";
  out->present = true;
  return nullptr;
}

const char* ReadParentSide(Napi::Value v, ParentSpec* out) {
  if (v.IsUndefined()) return nullptr;
  if (!v.IsObject()) return "parent must be an object or undefined";
  Napi::Env env = v.Env();
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value lims = o.Get("rlimits");
  if (env.IsExceptionPending()) return "parent.rlimits";
  if (!lims.IsUndefined()) {
    if (!lims.IsTypedArray() || lims.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array)
      return "parent.rlimits must be a BigUint64Array";
    Napi::TypedArrayOf<uint64_t> t = lims.As<Napi::TypedArrayOf<uint64_t>>();
    if (t.ElementLength() % 3 != 0) return "parent.rlimits must hold (resource, soft, hard) triples";
    for (size_t i = 0; i < t.ElementLength(); i += 3)
      if (t[i] >= RLIM_NLIMITS || t[i + 1] > t[i + 2]) return "bad rlimit";
    out->rlimits.assign(t.Data(), t.Data() + t.ElementLength());
  }
  Napi::Value oom = o.Get("oomScoreAdj");
  if (env.IsExceptionPending()) return "parent.oomScoreAdj";
  if (!oom.IsUndefined()) {
    double d = oom.IsNumber() ? oom.As<Napi::Number>().DoubleValue() : 0.5;
    if (d != (double)(int32_t)d || d < -1000 || d > 1000) return "parent.oomScoreAdj must be an integer in -1000..1000";
    out->hasOom = true;
    out->oomScoreAdj = (int32_t)d;
  }
  out->present = true;
  return nullptr;
}

MapsError WriteMaps(const MapsSpec& maps, pid_t pid) {
  MapsError e;
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  if (maps.helper) {
    if ((e.err = RunHelper(maps.uidHelper, pid))) {
      e.syscall = "newuidmap";
      e.path = proc + "uid_map";
    } else if ((e.err = RunHelper(maps.gidHelper, pid))) {
      e.syscall = "newgidmap";
      e.path = proc + "gid_map";
    }
    return e;
  }
  // setgroups must be denied before an unprivileged writer may write gid_map
  // (user_namespaces(7), CVE-2014-8989).
  struct {
    const char* file;
    std::string data;
  } writes[3] = {
      {"setgroups", maps.denySetgroups ? "deny" : ""},
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
  if (parent.hasOom) {
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
