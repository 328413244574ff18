// The parent half of spawn: validate the plan (cheaply; TS validated it first), clone3 the
// child on a private stack sharing our memory (CLONE_VM: no copy of Node's address space,
// the vfork idea), write its id maps when it asks, and block only until it has exec'd or
// failed — as child_process.spawn does. See plan.h for the protocol and child.cc for the child.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/mount.h>

#include <string>
#include <vector>

#include "addon.h"
#include "child.h"
#include "child_security.h"
#include "errors.h"
#include "fd.h"
#include "plan.h"
#include "spawn_maps.h"
#include "sys.h"


namespace nsbox {

namespace {

constexpr size_t kStackSize = 256 * 1024;

struct ParsedPlan {
  uint64_t cloneFlags = 0;
  int cgroupFd = -1;
  std::vector<Step> steps;
  std::vector<char*> ptrs;  // argv/envp arrays, NULL-terminated, pointing into the strings
  std::vector<std::pair<size_t, size_t>> ptrFix;  // (step index, argv offset / envp offset)
};

// Returns an error message, or nullptr when the plan is well formed.
const char* Parse(const int32_t* w, size_t nw, const char* strs, size_t nstrs, ParsedPlan& p) {
  if (nw < (size_t)kHeaderWords || w[0] != kPlanVersion) return "bad plan header";
  p.cloneFlags = (uint64_t)(uint32_t)w[1] | ((uint64_t)(uint32_t)w[2] << 32);
  p.cgroupFd = w[3];
  int32_t nsteps = w[4];
  if (nsteps < 0 || nsteps > 4096) return "bad step count";
  auto str = [&](int32_t off) -> const char* {
    if (off < 0 || (size_t)off >= nstrs) return nullptr;
    if (!memchr(strs + off, 0, nstrs - off)) return nullptr;
    return strs + off;
  };
  size_t i = kHeaderWords;
  std::vector<std::pair<size_t, std::pair<size_t, size_t>>> execPtrs;
  for (int32_t k = 0; k < nsteps; k++) {
    if (i + 2 > nw) return "truncated step";
    int32_t op = w[i], nargs = w[i + 1];
    if (nargs < 0 || i + 2 + (size_t)nargs > nw) return "bad step length";
    const int32_t* a = w + i + 2;
    Step s = {};
    s.op = op;
    switch (op) {
      case OP_SETNS:
      case OP_SETPGID:
        if (nargs != 2 && op == OP_SETNS) return "setns takes 2 args";
        if (nargs < 1) return "missing arg";
        s.a = a[0];
        s.b = nargs > 1 ? a[1] : 0;
        break;
      case OP_UNSHARE:
      case OP_FORK:
      case OP_SETGID:
      case OP_SETUID:
      case OP_PDEATHSIG:
        if (nargs != 1) return "step takes 1 arg";
        s.a = a[0];
        break;
      case OP_USERNS_SYNC:
      case OP_SETSID:
        if (nargs != 0) return "step takes no args";
        break;
      case OP_SETHOSTNAME:
      case OP_SETDOMAINNAME:
        if (nargs != 1 || !(s.str = str(a[0]))) return "bad string arg";
        break;
      case OP_CHDIR:
        if (nargs != 2 || !(s.str = str(a[0])) || (a[1] != 0 && a[1] != 1)) return "bad chdir";
        s.b = a[1];
        break;
      case OP_LOCK:
        if (nargs != 2 || !(s.str = str(a[0])) || !(s.str2 = str(a[1]))) return "bad lock";
        break;
      case OP_DUMPABLE:
        if (nargs != 1 || (a[0] != 0 && a[0] != 1)) return "bad dumpable";
        s.a = a[0];
        break;
      case OP_KEYRING:
      case OP_NO_TIOCSTI:
        if (nargs != 0) return "step takes no args";
        break;
      case OP_SETGROUPS:
        if (nargs < 1 || a[0] != nargs - 1) return "bad group list";
        s.list = a + 1;
        s.nlist = a[0];
        break;
      case OP_FDS:
        if (nargs < 1 || a[0] * 2 != nargs - 1 || a[0] > 256) return "bad fd list";
        for (int32_t j = 0; j < a[0]; j++)
          if (a[1 + 2 * j] < 0 || a[2 + 2 * j] < 0) return "bad fd";
        s.list = a + 1;
        s.nlist = a[0] * 2;
        break;
      case OP_EXEC: {
        // file, search, argc, argv..., envc, env...
        if (nargs < 4 || !(s.str = str(a[0]))) return "bad exec";
        s.a = a[1];
        int32_t argc = a[2];
        if (argc < 0 || 3 + argc + 1 > nargs) return "bad argc";
        int32_t envc = a[3 + argc];
        if (envc < 0 || 4 + argc + envc != nargs) return "bad envc";
        size_t argvAt = p.ptrs.size();
        for (int32_t j = 0; j < argc; j++) {
          const char* v = str(a[3 + j]);
          if (!v) return "bad argv string";
          p.ptrs.push_back(const_cast<char*>(v));
        }
        p.ptrs.push_back(nullptr);
        size_t envAt = p.ptrs.size();
        for (int32_t j = 0; j < envc; j++) {
          const char* v = str(a[4 + argc + j]);
          if (!v) return "bad env string";
          p.ptrs.push_back(const_cast<char*>(v));
        }
        p.ptrs.push_back(nullptr);
        execPtrs.push_back({p.steps.size(), {argvAt, envAt}});
        break;
      }
      case OP_FS_BASE:
        if (nargs != 1 || !(s.str = str(a[0]))) return "bad fs base";
        break;
      case OP_MOUNT:
        // src|-1, dst, fstype|-1, flags, data|-1, mode
        if (nargs != 6 || !(s.str2 = str(a[1]))) return "bad mount";
        if ((a[0] >= 0 && !(s.str = str(a[0]))) || (a[2] >= 0 && !(s.str3 = str(a[2]))) ||
            (a[4] >= 0 && !(s.str4 = str(a[4]))))
          return "bad mount string";
        s.a = a[3];
        s.b = a[5];
        break;
      case OP_MKNOD:
        if (nargs != 4 || !(s.str2 = str(a[0]))) return "bad mknod";
        s.a = a[1];
        s.c = a[2];
        s.d = a[3];
        break;
      case OP_SYMLINK:
        if (nargs != 2 || !(s.str = str(a[0])) || !(s.str2 = str(a[1]))) return "bad symlink";
        break;
      case OP_WRITE_FILE:
        if (nargs != 3 || !(s.str = str(a[0])) || !(s.str2 = str(a[1]))) return "bad file";
        s.a = a[2];
        break;
      case OP_SETATTR:
        if (nargs != 4 || !(s.str2 = str(a[0]))) return "bad setattr";
        s.a = a[1];
        s.c = a[2];
        s.b = a[3];
        break;
      case OP_PIVOT:
        if (nargs != 1 || (a[0] != 0 && a[0] != 1)) return "bad pivot";
        s.a = a[0];
        break;
      case OP_PROPAGATION:
        if (nargs != 1) return "propagation takes 1 arg";
        s.a = a[0];
        break;
      case OP_MKDIR:
        if ((nargs != 2 && nargs != 4) || !(s.str2 = str(a[0]))) return "bad mkdir";
        s.b = a[1];
        s.c = nargs == 4 ? a[2] : -1;
        s.d = nargs == 4 ? a[3] : -1;
        break;
      case OP_LANDLOCK: {
        // 9 header words, then 4 per path rule and 3 per port rule (plan.h).
        if (nargs < 9 || a[7] < 0 || a[8] < 0 || a[7] > 4096 || a[8] > 4096 ||
            nargs != 9 + 4 * a[7] + 3 * a[8])
          return "bad landlock";
        for (int32_t j = 0; j < a[7]; j++)
          if (!str(a[9 + 4 * j]) || (a[10 + 4 * j] != 0 && a[10 + 4 * j] != 1)) return "bad landlock rule";
        for (int32_t j = 0; j < a[8]; j++)
          if (a[9 + 4 * a[7] + 3 * j] < 0 || a[9 + 4 * a[7] + 3 * j] > 65535) return "bad landlock port";
        s.list = a;
        s.nlist = nargs;
        s.strs = strs;
        break;
      }
      default: {
        bool handled = false;
        auto strOf = [](void* e, int32_t off) -> const char* { return (*static_cast<decltype(str)*>(e))(off); };
        if (const char* bad = ParseSecurityStep(op, a, nargs, strOf, &str, s, &handled)) return bad;
        if (!handled) return "unknown op";
      }
    }
    p.steps.push_back(s);
    i += 2 + nargs;
  }
  if (i != nw) return "trailing words";
  for (auto& e : execPtrs) {  // ptrs is final now: resolve the array pointers
    p.steps[e.first].argv = p.ptrs.data() + e.second.first;
    p.steps[e.first].envp = p.ptrs.data() + e.second.second;
  }
  return nullptr;
}

void* Stack(Addon* addon) {
  if (!addon->stack) {
    void* s = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED) return nullptr;
    mprotect(s, 4096, PROT_NONE);  // guard page: an overflow faults instead of corrupting
    addon->stack = s;
    addon->stackSize = kStackSize;
  }
  return addon->stack;
}

// recv(2) of one status message, with the sender's pid from SCM_CREDENTIALS (0 if absent)
// and the first fd that came with it (-1 if none; any others are closed).
ssize_t RecvMsg(int sock, Msg* m, pid_t* from, int* fdOut) {
  struct iovec iov = {m, sizeof *m};
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } cbuf;
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof cbuf.buf;
  ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  *from = 0;
  *fdOut = -1;
  if (n <= 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      *from = u.pid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      // Only a seccomp listener is ever sent (MSG_LISTENER): keep the first, close the rest.
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (*fdOut < 0) *fdOut = fd;
        else close(fd);
      }
    }
  }
  return n;
}

int WaitReap(int pidfd) {
  siginfo_t info;
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsBuffer() || !(info[2].IsObject() || info[2].IsNull())) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "spawn(Int32Array, Buffer, object|null)");
    return env.Undefined();
  }
  Napi::Int32Array ops = info[0].As<Napi::Int32Array>();
  Napi::Buffer<char> strings = info[1].As<Napi::Buffer<char>>();
  ParsedPlan plan;
  if (const char* bad = Parse(ops.Data(), ops.ElementLength(), strings.Data(), strings.Length(), plan)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", bad);
    return env.Undefined();
  }
  // Everything spawn needs from JS is read now, before a child exists (spawn_maps.h).
  MapsSpec maps;
  ParentSpec parentSide;
  if (!ReadMaps(env, info[2], &maps) || !ReadParentSide(env, info[3], &parentSide))
    return env.Undefined();
  Addon* addon = GetAddon(env);
  void* stack = Stack(addon);
  if (!stack) {
    ThrowSys(env, errno, "mmap");
    return env.Undefined();
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    ThrowSys(env, errno, "socketpair");
    return env.Undefined();
  }
  Fd sock(sv[0]), childSock(sv[1]);

  // Only our own child may talk to us: the kernel stamps every message with its sender's pid.
  int one = 1;
  setsockopt(sock.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  // OP_LOCK's helper runs on the bottom 64 KiB of the stack, above the guard page; the child
  // itself uses the top and never comes near it.
  char* helperStack = static_cast<char*>(stack) + 4096 + 64 * 1024;
  ChildCtx ctx = {plan.steps.data(), (int)plan.steps.size(), childSock.get(), sock.get(), -1, -1, 0, {}, -1, helperStack, 0};
  int pidfd = -1;
  struct clone_args ca = {};
  // Share memory unless the child must setns into a user namespace: the kernel refuses that
  // to a process whose mm has other users (userns_install checks mm_users).
  // A child that makes itself non-dumpable (before joining a container) needs its own mm too:
  // the flag belongs to the mm, and Node's must stay as it is.
  bool ownMm = false;
  for (auto& s : plan.steps) ownMm = ownMm || (s.op == OP_SETNS && s.b == CLONE_NEWUSER) || (s.op == OP_DUMPABLE && s.a == 0);
  ca.flags = plan.cloneFlags | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | (ownMm ? 0 : CLONE_VM);
  ctx.redump = !ownMm && prctl(PR_GET_DUMPABLE) == 1;
  if (plan.cgroupFd >= 0) {
    ca.flags |= CLONE_INTO_CGROUP;
    ca.cgroup = (uint64_t)plan.cgroupFd;
  }
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = 0;  // no SIGCHLD: we watch the pidfd; libuv's SIGCHLD handler stays quiet
  ca.stack = (uint64_t)(uintptr_t)stack;
  ca.stack_size = kStackSize;

  // Signals stay blocked across clone so no handler of ours runs on the child's stack;
  // the child resets every disposition and unblocks just before execve.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = nsbox_clone3(&ca, sizeof ca, ChildMain, &ctx);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    Napi::Object result = Napi::Object::New(env);
    result.Set("ok", false);
    result.Set("step", -1);  // the clone itself
    result.Set("errno", (double)-pid);
    result.Set("pid", 0);
    result.Set("syscall", "clone3");
    return result;
  }
  childSock.reset();
  Fd childPidfd(pidfd);

  Fd grandPidfd;
  long grandPid = 0;
  Msg failure = {};
  MapsError mapsErr;
  Fd listener;  // the seccomp user-notification fd (OP_SECCOMP with NEW_LISTENER)
  bool failed = false;
  // Messages from a sender that is neither the child nor its reported grandchild: the
  // grandchild's may overtake the MSG_PID that names it, so a few wait for that.
  Msg early[4];
  pid_t earlyFrom[4];
  int nearly = 0;
  for (;;) {
    Msg m;
    pid_t from = 0;
    int rawFd = -1;
    ssize_t n = RecvMsg(sock.get(), &m, &from, &rawFd);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: exec'd (CLOEXEC) or exited
    Fd passed(rawFd);
    if (n != sizeof m) continue;
    if (from != pid && (grandPid <= 0 || from != grandPid)) {
      if (grandPid <= 0 && nearly < 4) early[nearly++] = m, earlyFrom[nearly - 1] = from;
      continue;
    }
    if (m.kind == MSG_PID && from == pid && grandPid <= 0) {
      // Replay what the grandchild said before we knew its pid.
      for (int k = 0; k < nearly; k++)
        if (earlyFrom[k] == m.value && early[k].kind == MSG_ERROR && !failed) failed = true, failure = early[k];
      nearly = 0;
    }
    if (m.kind == MSG_ERROR && !failed) {
      failed = true;
      failure = m;
    } else if (m.kind == MSG_MAPS) {
      int32_t answer = EINVAL;
      std::vector<Fd> trees;
      if (maps.present) {
        mapsErr = WriteMaps(maps, (pid_t)pid);
        answer = mapsErr.err;
        if (!answer) {
          mapsErr = IdmapTrees(maps, (pid_t)pid, trees);
          answer = mapsErr.err;
        }
      }
      if (answer && !failed) {
        failed = true;
        failure = {MSG_ERROR, m.step, answer, 0};
      }
      SendAnswer(sock.get(), answer, trees);
    } else if (m.kind == MSG_PARENT) {
      MapsError e = ApplyParentSide(parentSide, (pid_t)from);
      if (e.err && !failed) {
        failed = true;
        failure = {MSG_ERROR, m.step, e.err, 0};
        mapsErr = e;
      }
      int32_t answer = e.err;
      send(sock.get(), &answer, sizeof answer, MSG_NOSIGNAL);
    } else if (m.kind == MSG_LISTENER) {
      if (passed.valid() && !listener.valid()) listener = std::move(passed);
    } else if (m.kind == MSG_PID) {
      grandPid = m.value;
      int fd = sys::pidfd_open((pid_t)grandPid, 0);
      if (fd < 0 && !failed) {
        failed = true;
        failure = {MSG_ERROR, m.step, -fd, 0};
      }
      grandPidfd.reset(fd < 0 ? -1 : fd);
    }
  }
  sock.reset();

  Fd* live = &childPidfd;
  long livePid = pid;
  if (grandPid > 0) {
    WaitReap(childPidfd.get());  // the intermediate exits right after reporting
    live = &grandPidfd;
    livePid = grandPid;
  }
  Napi::Object result = Napi::Object::New(env);
  if (failed) {
    if (live->valid()) {
      sys::pidfd_send_signal(live->get(), SIGKILL);
      WaitReap(live->get());
    } else if (grandPid > 0) {
      kill((pid_t)grandPid, SIGKILL);
      waitpid((pid_t)grandPid, nullptr, __WALL);
    }
    result.Set("ok", false);
    result.Set("step", failure.step);
    result.Set("errno", failure.err);
    result.Set("sysid", failure.value);
    result.Set("pid", (double)livePid);
    if (!mapsErr.syscall.empty()) {
      result.Set("syscall", mapsErr.syscall);
      result.Set("path", mapsErr.path);
    }
    return result;
  }
  result.Set("ok", true);
  result.Set("pid", (double)livePid);
  // The child is the environment's before JS sees it: if the worker is terminated from here
  // on, teardown reaps it (pidfd.cc Cleanup) and closes the listener (addon.cc Teardown).
  // A Set refused during teardown is not fatal (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS).
  int pidfdOut = live->release();
  HoldChild(addon, pidfdOut);
  result.Set("pidfd", pidfdOut);
  if (listener.valid()) result.Set("listener", HandFd(env, listener.release()));
  return result;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
}

}  // namespace nsbox
