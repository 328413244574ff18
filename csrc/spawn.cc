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
#include "gate.h"
#include "plan.h"
#include "plan_parse.h"
#include "spawn_maps.h"
#include "sys.h"

namespace nsbox {

namespace {

constexpr size_t kStackSize = 256 * 1024;

void* Stack(Addon* addon) {
  if (!addon->stack) {
    void* s =
        mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
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
      // Only a seccomp listener (MSG_LISTENER) or a pty master (MSG_TERMINAL) is ever sent,
      // one at a time: keep the first, close the rest.
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (*fdOut < 0)
          *fdOut = fd;
        else
          close(fd);
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

// SIGKILL and reap a process known only by its pid, if it is our own unreaped child (a
// grandchild made with CLONE_PARENT): while it is unreaped its pid cannot name another.
void KillOwnChild(pid_t pid) {
  siginfo_t info;
  if (pid <= 0 || waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) return;
  Fd fd(sys::pidfd_open(pid, 0));
  if (!fd.valid()) return;
  sys::pidfd_send_signal(fd.get(), SIGKILL);
  WaitReap(fd.get());
}

// One spawn's side of the status protocol (plan.h), between clone3 and the child's exec.
struct Session {
  int sock;
  long pid;  // the direct child
  int nsteps;
  const MapsSpec& maps;
  const ParentSpec& parent;
  napi_env env = nullptr;
  napi_value onNetwork = nullptr;  // spawn's 5th argument: (pid) => errno, run at MSG_NETWORK
  Fd grandPidfd;
  long grandPid = 0;  // the grandchild made by OP_FORK, once it is reported
  Msg failure = {};
  bool failed = false;
  MapsError mapsErr;
  Fd listener;         // the seccomp user-notification fd (OP_SECCOMP with NEW_LISTENER)
  Fd terminal;         // the pty master made by the child (OP_TERMINAL with TTY_NEW)
  int gateStep = -1;   // the plan's OP_GATE, if any
  bool gated = false;  // MSG_GATE came: the child waits for a start, we stop reading
  // Messages from a sender that is neither the child nor its reported grandchild: the
  // grandchild's may overtake the MSG_PID that names it, so a few (with any fd that came
  // along) wait for that, then are handled in order.
  Msg early[4];
  pid_t earlyFrom[4];
  Fd earlyFd[4];
  int nearly = 0;
  // A protocol error: the parent cannot go on talking to the child (errno, syscall, step).
  int protoErr = 0;
  const char* protoSyscall = nullptr;
  int protoStep = -2;  // -2: the protocol itself, no step of the plan

  bool Protocol(int err, const char* syscall, int step = -2) {
    protoErr = err, protoSyscall = syscall, protoStep = step;
    return false;
  }
  void Fail(const Msg& m) {
    if (!failed) failed = true, failure = m;
  }
  bool Handle(const Msg& m, pid_t from, Fd& passed);
  int32_t CallNetwork(pid_t from);
  void Receive();
  void KillAll(int childPidfd);
};

// One message from the child or grandchild; false on a protocol error.
bool Session::Handle(const Msg& m, pid_t from, Fd& passed) {
  bool stepped = m.kind == MSG_ERROR || m.kind == MSG_MAPS || m.kind == MSG_PARENT ||
                 m.kind == MSG_LISTENER || m.kind == MSG_NETWORK || m.kind == MSG_GATE ||
                 m.kind == MSG_TERMINAL;
  if (stepped && (m.step < 0 || m.step >= nsteps)) return Protocol(EPROTO, "recvmsg");
  switch (m.kind) {
    case MSG_ERROR: Fail(m); return true;
    case MSG_MAPS: {
      std::vector<Fd> trees;
      int32_t answer = EINVAL;
      if (maps.present) {
        mapsErr = WriteMaps(maps, (pid_t)pid);
        answer = mapsErr.err;
        if (!answer) answer = (mapsErr = IdmapTrees(maps, (pid_t)pid, trees)).err;
      }
      if (answer) Fail({MSG_ERROR, m.step, answer, 0});
      // Unanswered, the child would wait for ever: it is killed instead.
      if (int err = SendAnswer(sock, answer, trees)) return Protocol(err, "sendmsg", m.step);
      return true;
    }
    case MSG_PARENT: {
      MapsError e = ApplyParentSide(parent, (pid_t)from);
      if (e.err && !failed) mapsErr = e;
      if (e.err) Fail({MSG_ERROR, m.step, e.err, 0});
      int32_t answer = e.err;
      ssize_t n;
      while ((n = send(sock, &answer, sizeof answer, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
      }
      if (n != (ssize_t)sizeof answer) return Protocol(n < 0 ? errno : EIO, "sendmsg", m.step);
      return true;
    }
    case MSG_NETWORK: {
      // The caller's network setup runs now, in JS, while the sender waits for the answer:
      // the sender is blocked in recv(2), so nothing it uses changes meanwhile.
      int32_t answer = CallNetwork(from);
      if (answer) Fail({MSG_ERROR, m.step, answer, 0});
      ssize_t n;
      while ((n = send(sock, &answer, sizeof answer, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
      }
      if (n != (ssize_t)sizeof answer) return Protocol(n < 0 ? errno : EIO, "sendmsg", m.step);
      return true;
    }
    case MSG_GATE:
      // From the process that goes on (the grandchild once a fork has made one), at the gate.
      if (m.step != gateStep || from != (grandPid > 0 ? grandPid : pid)) return Protocol(EPROTO, "recvmsg");
      gated = true;
      return true;
    case MSG_LISTENER:
      if (!passed.valid() || listener.valid()) return Protocol(EPROTO, "recvmsg");
      listener = std::move(passed);
      return true;
    case MSG_TERMINAL:
      if (!passed.valid() || terminal.valid()) return Protocol(EPROTO, "recvmsg");
      terminal = std::move(passed);
      return true;
    case MSG_PID: {
      if (from != pid || grandPid > 0 || m.value <= 0) return Protocol(EPROTO, "recvmsg");
      grandPid = m.value;
      int fd = sys::pidfd_open((pid_t)grandPid, 0);
      if (fd < 0) Fail({MSG_ERROR, m.step, -fd, 0});
      grandPidfd.reset(fd < 0 ? -1 : fd);
      // What the grandchild said before we knew its pid (it may wait for an answer).
      int n = nearly;
      nearly = 0;
      for (int k = 0; k < n; k++) {
        Fd passedEarly = std::move(earlyFd[k]);
        if (earlyFrom[k] != grandPid) return KillOwnChild(earlyFrom[k]), Protocol(EPROTO, "recvmsg");
        if (!Handle(early[k], earlyFrom[k], passedEarly)) return false;
      }
      return true;
    }
    default: return Protocol(EPROTO, "recvmsg");
  }
}

// Calls onNetwork(pid): its number is the answer (0: done; else a positive errno). Without a
// hook, or when it throws (the exception is cleared: the JS side records its own errors),
// the answer is ECANCELED.
int32_t Session::CallNetwork(pid_t from) {
  if (!env || !onNetwork) return ECANCELED;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return ECANCELED;
  int32_t answer = ECANCELED;
  napi_value global, arg, ret;
  if (napi_get_global(env, &global) == napi_ok && napi_create_int32(env, from, &arg) == napi_ok) {
    if (napi_call_function(env, global, onNetwork, 1, &arg, &ret) == napi_ok) {
      int32_t v;
      if (napi_get_value_int32(env, ret, &v) == napi_ok && v >= 0) answer = v;
    } else {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
  }
  napi_close_handle_scope(env, scope);
  return answer;
}

// Reads status messages until the child's end closes (exec'd, CLOEXEC, or exited) or the
// protocol breaks (protoErr set).
void Session::Receive() {
  for (;;) {
    Msg m;
    pid_t from = 0;
    int rawFd = -1;
    ssize_t n = RecvMsg(sock, &m, &from, &rawFd);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (void)Protocol(errno, "recvmsg");
    if (n == 0) return;
    Fd passed(rawFd);
    if (n != sizeof m) return (void)Protocol(EPROTO, "recvmsg");
    if (from != pid && (grandPid <= 0 || from != grandPid)) {
      if (grandPid > 0 || nearly == 4) return (void)Protocol(EPROTO, "recvmsg");
      early[nearly] = m, earlyFrom[nearly] = from, earlyFd[nearly++] = std::move(passed);
      continue;
    }
    if (!Handle(m, from, passed) || gated) return;
  }
}

// After a protocol error: SIGKILL and reap the child and every grandchild we know of before
// anything it may still use (with CLONE_VM: our stack, the plan, the context) is freed.
void Session::KillAll(int childPidfd) {
  sys::pidfd_send_signal(childPidfd, SIGKILL);
  WaitReap(childPidfd);
  if (grandPidfd.valid()) {
    sys::pidfd_send_signal(grandPidfd.get(), SIGKILL);
    WaitReap(grandPidfd.get());
  } else {
    KillOwnChild((pid_t)grandPid);
  }
  for (int k = 0; k < nearly; k++) KillOwnChild(earlyFrom[k]);
}

// A failure before any child exists: clone3 itself (step -1) or the gate's socket.
Napi::Object CloneFailure(Napi::Env env, long err, int step = -1, const char* syscall = "clone3") {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", false);
  result.Set("step", step);
  result.Set("errno", (double)err);
  result.Set("pid", 0);
  result.Set("syscall", syscall);
  return result;
}

// Checks spawn's arguments and reads them into plain C++ values, before anything is made.
bool ReadSpawnArgs(const Napi::CallbackInfo& info, ParsedPlan& plan, MapsSpec& maps, ParentSpec& parent) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsBuffer()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "spawn(Int32Array, Buffer, object|null, object|undefined)");
    return false;
  }
  Napi::Int32Array ops = info[0].As<Napi::Int32Array>();
  Napi::Buffer<char> strings = info[1].As<Napi::Buffer<char>>();
  if (const char* bad = ParsePlan(ops.Data(), ops.ElementLength(), strings.Data(), strings.Length(), plan)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", bad);
    return false;
  }
  // Everything spawn needs from JS is read now, before a child exists, with raw napi calls
  // whose statuses are checked (spawn_maps.h): a worker may be terminated at any moment.
  return ReadMaps(env, info[2], &maps) && ReadParentSide(env, info[3], &parent);
}

// The result when the status protocol broke: the child and any grandchild are already
// killed and reaped (Session::KillAll).
Napi::Value ProtocolFailure(Napi::Env env, const Session& ss, long pid) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", false);
  result.Set("step", ss.protoStep);
  result.Set("errno", ss.protoErr);
  result.Set("pid", (double)pid);
  result.Set("syscall", ss.protoSyscall);
  return result;
}

// The result once the child has exec'd or failed: on failure the live process (the child,
// or the grandchild a fork made) is killed and reaped; on success it is handed to JS.
Napi::Value Outcome(Napi::Env env, Addon* addon, Session& ss, Fd& childPidfd, long pid) {
  Fd* live = &childPidfd;
  long livePid = pid;
  if (ss.grandPid > 0) {
    WaitReap(childPidfd.get());  // the intermediate exits right after reporting
    live = &ss.grandPidfd;
    livePid = ss.grandPid;
  }
  Napi::Object result = Napi::Object::New(env);
  if (ss.failed) {
    if (live->valid()) {
      sys::pidfd_send_signal(live->get(), SIGKILL);
      WaitReap(live->get());
    } else {
      KillOwnChild((pid_t)ss.grandPid);
    }
    result.Set("ok", false);
    result.Set("step", ss.failure.step);
    result.Set("errno", ss.failure.err);
    result.Set("sysid", ss.failure.value);
    result.Set("pid", (double)livePid);
    if (!ss.mapsErr.syscall.empty()) {
      result.Set("syscall", ss.mapsErr.syscall);
      result.Set("path", ss.mapsErr.path);
    }
    return result;
  }
  result.Set("ok", true);
  result.Set("pid", (double)livePid);
  if (ss.gated) result.Set("gated", true);
  // The child is the environment's before JS sees it: if the worker is terminated from here
  // on, teardown reaps it (pidfd.cc Cleanup) and closes the listener (addon.cc Teardown).
  // A Set refused during teardown is not fatal (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS).
  int pidfdOut = live->release();
  HoldChild(addon, pidfdOut);
  result.Set("pidfd", pidfdOut);
  if (ss.listener.valid()) result.Set("listener", HandFd(env, ss.listener.release()));
  if (ss.terminal.valid()) result.Set("terminal", HandFd(env, ss.terminal.release()));
  return result;
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ParsedPlan plan;
  MapsSpec maps;
  ParentSpec parent;
  if (!ReadSpawnArgs(info, plan, maps, parent)) return env.Undefined();
  Addon* addon = GetAddon(env);
  // The network hook runs JS while a child uses the clone stack: no spawn from there.
  if (addon->spawning) {
    ThrowSys(env, EBUSY, "clone3");
    return env.Undefined();
  }
  struct Busy {
    bool& flag;
    ~Busy() { flag = false; }
  } busy{addon->spawning = true};
  void* stack = Stack(addon);
  if (!stack) {
    ThrowSys(env, errno, "mmap");
    return env.Undefined();
  }

  // The create/start gate's socket, before the child exists (it inherits the fd).
  int gateStep = -1;
  for (size_t k = 0; k < plan.steps.size(); k++)
    if (plan.steps[k].op == OP_GATE) gateStep = (int)k;
  Fd gate;
  GatePath gatePath;
  if (gateStep >= 0) {
    const char* syscall = nullptr;
    int fd = MakeGate(plan.steps[gateStep].str, &syscall);
    if (fd < 0) return CloneFailure(env, -fd, gateStep, syscall);
    gate.reset(fd);
    gatePath.path = plan.steps[gateStep].str;
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
  ChildCtx ctx = {plan.steps.data(),
                  (int)plan.steps.size(),
                  childSock.get(),
                  sock.get(),
                  -1,
                  -1,
                  0,
                  {},
                  -1,
                  helperStack,
                  0,
                  gate.get(),
                  0,
                  {}};
  int pidfd = -1;
  struct clone_args ca = {};
  // Share memory unless the child must setns into a user namespace: the kernel refuses that
  // to a process whose mm has other users (userns_install checks mm_users).
  // A child that makes itself non-dumpable (before joining a container) needs its own mm too:
  // the flag belongs to the mm, and Node's must stay as it is.
  // An init (OP_INIT) outlives this call: it needs its own mm too, a copy-on-write fork of
  // ours (docs/performance.md has the cost). Nothing it uses is shared with us from then on:
  // the plan, the context and the stack are its copies; it reports over the status socket.
  bool forced = false, init = false;
  for (auto& s : plan.steps) {
    forced = forced || (s.op == OP_SETNS && s.b == CLONE_NEWUSER) || (s.op == OP_DUMPABLE && s.a == 0);
    // The gate's child outlives this call too (the caller may exit before the start).
    init = init || s.op == OP_INIT || s.op == OP_GATE;
  }
  bool ownMm = forced || init;
  // plan.cloneFlags holds CLONE_NEW* flags only (ParsePlan); the rest is ours to choose.
  ca.flags = plan.cloneFlags | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | (ownMm ? 0 : CLONE_VM);
  // An init's own mm stays dumpable through the credential steps, as a shared one would (the
  // lock's helper opens its /proc files); OP_INIT makes it non-dumpable before the command.
  ctx.redump = !forced && prctl(PR_GET_DUMPABLE) == 1;
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
  if (pid < 0) return CloneFailure(env, -pid);
  childSock.reset();
  Fd childPidfd(pidfd);

  gate.reset();  // the child has its copy; ours must not outlive the spawn
  Session ss = {sock.get(), pid, (int)plan.steps.size(), maps, parent};
  ss.gateStep = gateStep;
  if (info.Length() > 4 && info[4].IsFunction()) ss.env = env, ss.onNetwork = info[4];
  ss.Receive();
  if (ss.protoErr) {
    ss.KillAll(childPidfd.get());
    return ProtocolFailure(env, ss, pid);
  }
  sock.reset();
  gatePath.keep = ss.gated && !ss.failed;
  return Outcome(env, addon, ss, childPidfd, pid);
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
}

}  // namespace nsbox
