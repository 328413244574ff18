// The parent's side of the status protocol: see spawn_session.h.
#include "spawn_session.h"

#include <unistd.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <vector>

#include "spawn_hook.h"
#include "sys.h"

namespace nsbox {

namespace {

// recv(2) of one status message, with the sender's pid from SCM_CREDENTIALS (0 if absent)
// and the first fd that came with it (-1 if none; any others are closed).
// Whatever follows the Msg in its datagram (a failed hook's stderr) goes to text.
ssize_t RecvMsg(int sock, Msg* m, pid_t* from, int* fdOut, char* text, size_t textSize) {
  struct iovec iov[2] = {{m, sizeof *m}, {text, textSize}};
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } cbuf;
  struct msghdr mh = {};
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
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

}  // namespace

int WaitReap(int pidfd) {
  siginfo_t info;
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

void KillOwnChild(pid_t pid) {
  siginfo_t info;
  if (pid <= 0 || waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) return;
  Fd fd(sys::pidfd_open(pid, 0));
  if (!fd.valid()) return;
  sys::pidfd_send_signal(fd.get(), SIGKILL);
  WaitReap(fd.get());
}

// One message from the child or grandchild; false on a protocol error.
bool Session::Handle(const Msg& m, pid_t from, Fd& passed) {
  bool stepped = m.kind == MSG_ERROR || m.kind == MSG_MAPS || m.kind == MSG_PARENT ||
                 m.kind == MSG_LISTENER || m.kind == MSG_NETWORK || m.kind == MSG_GATE ||
                 m.kind == MSG_TERMINAL || m.kind == MSG_HOSTPID || m.kind == MSG_HOOK || m.kind == MSG_PIN ||
                 m.kind == MSG_EXEC;
  if (stepped && (m.step < 0 || m.step >= nsteps)) return Protocol(EPROTO, "recvmsg");
  if (textLen > 0 && m.kind != MSG_ERROR) return Protocol(EPROTO, "recvmsg");
  switch (m.kind) {
    case MSG_ERROR: Fail(m, text, textLen); return true;
    case MSG_HOSTPID:
      // The sender's pid in our pid namespace: SCM_CREDENTIALS, translated by the kernel.
      return Answer((int32_t)from, m.step);
    case MSG_HOOK: return RunHook(m, from);
    case MSG_PIN: return Pin(m, from);
    case MSG_MAPS: {
      std::vector<Fd> trees;
      int32_t answer = EINVAL;
      if (maps.present) {
        mapsErr = WriteMaps(maps, (pid_t)pid, cancelFd);
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
    case MSG_EXEC:
      if (!passed.valid() || execPipe.valid() || steps[m.step].op != OP_EXEC)
        return Protocol(EPROTO, "recvmsg");
      execPipe = std::move(passed);
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

// An int32 answer to the sender, who waits for it; false (a protocol error) if it cannot go.
bool Session::Answer(int32_t answer, int step) {
  ssize_t n;
  while ((n = send(sock, &answer, sizeof answer, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != (ssize_t)sizeof answer) return Protocol(n < 0 ? errno : EIO, "sendmsg", step);
  return true;
}

// MSG_HOOK: the step's hook (HOOK_CALLER), run here while the sender waits; its state names
// the sender's pid. A failure is ours to report (with the end of its stderr); the answer is
// its errno.
bool Session::RunHook(const Msg& m, pid_t from) {
  const Step& s = steps[m.step];
  if (s.op != OP_HOOK || s.b != HOOK_CALLER) return Protocol(EPROTO, "recvmsg");
  int32_t value = 0;
  std::string tail;
  long r = RunCallerHook(s, from, &value, &tail);
  if (r < 0) Fail({MSG_ERROR, m.step, (int32_t)-r, value}, tail.data(), tail.size());
  return Answer(r < 0 ? (int32_t)-r : 0, m.step);
}

// MSG_PIN: open the sender's namespace of the kind the step names, while it waits for the
// answer (so its pid names it: it is our unreaped child or grandchild), and keep the fd.
bool Session::Pin(const Msg& m, pid_t from) {
  const Step& s = steps[m.step];
  if (s.op != OP_PIN || m.value != s.a || pinned.size() >= 4) return Protocol(EPROTO, "recvmsg");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)from, s.a == CLONE_NEWUSER ? "user" : "mnt");
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  int32_t answer = fd.valid() ? 0 : errno;
  if (answer)
    Fail({MSG_ERROR, m.step, answer, SYS_OPENAT});
  else
    pinned.push_back(std::move(fd));
  return Answer(answer, m.step);
}

// Calls onNetwork(pid): its number is the answer (0: done; else a positive errno). Without a
// hook, or when it throws (the exception is cleared: the JS side records its own errors),
// the answer is ECANCELED.
int32_t Session::CallNetwork(pid_t from) {
  if (netCall) return netCall(netArg, from);
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
    char tail[kHookTail];
    ssize_t n = RecvMsg(sock, &m, &from, &rawFd, tail, sizeof tail);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (void)Protocol(errno, "recvmsg");
    if (n == 0) return EndOfStream();
    Fd passed(rawFd);
    if (n < (ssize_t)sizeof m) return (void)Protocol(EPROTO, "recvmsg");
    text = tail, textLen = (size_t)n - sizeof m;
    if (from != pid && (grandPid <= 0 || from != grandPid)) {
      if (grandPid > 0 || nearly == 4 || textLen > 0) return (void)Protocol(EPROTO, "recvmsg");
      early[nearly] = m, earlyFrom[nearly] = from, earlyFd[nearly++] = std::move(passed);
      continue;
    }
    if (!Handle(m, from, passed) || gated) return;
  }
}

// The child's end closed (every holder exec'd or exited). Unless a step failed, a plan that
// forks must have named its grandchild by now (MSG_PID precedes the copy's exec), and every
// message must have come from a process we know: otherwise the live process is not the one
// we would hand out (the intermediate, already exiting), and the unnamed one would never be
// reaped. A protocol error then: KillAll kills and reaps what we know of.
void Session::EndOfStream() {
  if (failed) return;
  bool forks = false;
  for (int k = 0; k < nsteps && !forks; k++) forks = steps[k].op == OP_FORK;
  if (nearly > 0 || (forks && grandPid <= 0)) return (void)Protocol(EPROTO, "recvmsg");
  if (!execPipe.valid()) return;
  // The exec stub's pipe (MSG_EXEC): EOF once the command has exec'd (its end is CLOEXEC
  // again), else the Msg of the failed execve. Anything else breaks the protocol.
  Msg m;
  size_t got = 0;
  while (got < sizeof m) {
    ssize_t n = read(execPipe.get(), reinterpret_cast<char*>(&m) + got, sizeof m - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (void)Protocol(errno, "read");
    if (n == 0) break;
    got += (size_t)n;
  }
  execPipe.reset();
  if (got == 0) return;
  if (got != sizeof m || m.kind != MSG_ERROR || m.step < 0 || m.step >= nsteps || steps[m.step].op != OP_EXEC)
    return (void)Protocol(EPROTO, "read");
  Fail(m);
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

}  // namespace nsbox
