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

std::vector<std::string> StringArray(Napi::Value v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

}  // namespace

MapsError WriteMaps(Napi::Object maps, pid_t pid) {
  MapsError e;
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  std::string mode = maps.Get("mode").As<Napi::String>().Utf8Value();
  if (mode == "helper") {
    if ((e.err = RunHelper(StringArray(maps.Get("uidHelper")), pid))) {
      e.syscall = "newuidmap";
      e.path = proc + "uid_map";
    } else if ((e.err = RunHelper(StringArray(maps.Get("gidHelper")), pid))) {
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
      {"setgroups", maps.Get("denySetgroups").ToBoolean() ? "deny" : ""},
      {"uid_map", maps.Get("uidMap").As<Napi::String>().Utf8Value()},
      {"gid_map", maps.Get("gidMap").As<Napi::String>().Utf8Value()},
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
MapsError IdmapTrees(Napi::Object maps, pid_t pid, std::vector<Fd>& out) {
  MapsError e;
  Napi::Value v = maps.Get("idmapSources");
  if (!v.IsArray()) return e;
  std::vector<std::string> sources = StringArray(v);
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
void SendAnswer(int sock, int32_t answer, const std::vector<Fd>& trees) {
  struct iovec iov = {&answer, sizeof answer};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxTrees)];
    struct cmsghdr align;
  } cbuf;
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
  while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

MapsError ApplyParentSide(Napi::Value parent, pid_t pid) {
  MapsError e;
  if (!parent.IsObject()) {
    e.err = EINVAL;
    return e;
  }
  Napi::Object o = parent.As<Napi::Object>();
  Napi::Value lims = o.Get("rlimits");
  if (lims.IsTypedArray() && lims.As<Napi::TypedArray>().TypedArrayType() == napi_biguint64_array) {
    Napi::TypedArrayOf<uint64_t> t = lims.As<Napi::TypedArrayOf<uint64_t>>();
    for (size_t i = 0; i + 2 < t.ElementLength(); i += 3) {
      struct rlimit64 lim = {t[i + 1], t[i + 2]};
      if (prlimit64(pid, (__rlimit_resource)t[i], &lim, nullptr) < 0) {
        e.err = errno;
        e.syscall = "prlimit64";
        return e;
      }
    }
  }
  Napi::Value oom = o.Get("oomScoreAdj");
  if (oom.IsNumber()) {
    std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
    std::string text = std::to_string(oom.As<Napi::Number>().Int32Value());
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
