// OP_GATE: the create/start boundary of an OCI container (runc's exec fifo, crun's sync
// socket). Everything before this step is applied; what follows — Landlock, seccomp, execve —
// waits for `start`. With child.cc's rules (raw syscalls only), in a child with its own mm
// (spawn.cc): it outlives the spawn that made it, and the process that called spawn may exit.
//   1. The command's file is resolved now (PATH search inside the new root, as the exec step
//      would do it), so `create` fails for a missing command, as runc's does.
//   2. The mm is made non-dumpable (a copy of Node's memory waits here; execve(2) makes the
//      command's dumpable again) and the status socket is closed after MSG_GATE: the parent
//      returns, and nothing here needs it any more.
//   3. accept4(2) on the listening socket the parent made (mode 0600, outside the root), with
//      signals deliverable (SIGTERM ends a created container, even as PID 1); the start
//      is one byte, answered with kGateAck, then the listening socket is closed, so the
//      command never holds it. The connection (CLOEXEC) carries a later step's failure.
//      A connection may ask for the namespaces instead (kGateNamespaces): answered, then the
//      wait goes on.
#include "child_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child_hook.h"
#include "plan.h"
#include "rawsys.h"

namespace nsbox {
namespace {

using raw::sc;

// What execve(2) would check first: a regular file we may execute (EACCES otherwise).
long Runnable(const char* path) {
  struct statx st = {};
  long r = sc(__NR_statx, AT_FDCWD, path, 0, STATX_TYPE, &st);
  if (r < 0) return r;
  if ((st.stx_mode & S_IFMT) != S_IFREG) return -EACCES;
  return sc(__NR_faccessat, AT_FDCWD, path, X_OK);
}

// The exec step's file as child.cc's Exec would find it: PATH (from the command's
// environment) searched when asked and the name has no slash; EACCES if any candidate had it.
// The path found goes to `out` (ChildCtx::exec_path), which the exec step then runs as is.
long Resolve(const Step& s, char* out, size_t outSize) {
  const char* file = s.str;
  if (!Searched(s)) return Runnable(file);
  const char* path = SearchPath(s);
  size_t flen = CStrLen(file);
  long err = -ENOENT;
  bool sawEacces = false;
  for (const char* p = path;; p++) {
    const char* start = p;
    while (*p && *p != ':') p++;
    size_t dlen = (size_t)(p - start);
    if (dlen + 2 + flen + 1 <= outSize) {
      size_t k = 0;
      if (dlen == 0) out[k++] = '.';  // an empty PATH element is the current directory
      for (size_t i = 0; i < dlen; i++) out[k++] = start[i];
      out[k++] = '/';
      for (size_t i = 0; i < flen; i++) out[k++] = file[i];
      out[k] = 0;
      err = Runnable(out);
      if (err == 0) return 0;
      if (err == -EACCES)
        sawEacces = true;
      else if (err != -ENOENT && err != -ENOTDIR && err != -ESTALE && err != -ENAMETOOLONG)
        return out[0] = 0, err;
    }
    if (!*p) break;
  }
  out[0] = 0;
  return sawEacces ? -EACCES : err;
}

void SetMask(unsigned long mask) {
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &mask, 0, sizeof mask);
}

// Kernel sigaction layout for rt_sigaction(2).
struct KSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

// Signals whose default action ends a process, as `kill` of a created container expects.
constexpr int kEnding[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGPWR};

// Never runs: the handler below does not return (rt_sigaction on x86_64 wants a restorer).
void NoReturn() {
  for (;;) sc(__NR_exit_group, 255);
}

// While the child waits, a signal that would end a process ends it. The child is often PID 1
// of a new pid namespace, which the kernel shields from every signal it has no handler for
// (pid_namespaces(7)), so the default action alone would leave SIGTERM unanswered: ended by the
// signal itself when it can be (not an init), else exit status 128+N, as a shell reports it.
void OnEndingSignal(int sig) {
  KSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  sc(__NR_rt_sigaction, sig, &dfl, 0, sizeof(unsigned long));
  unsigned long bit = 1UL << (sig - 1);
  sc(__NR_rt_sigprocmask, SIG_UNBLOCK, &bit, 0, sizeof bit);
  sc(__NR_kill, sc(__NR_getpid), sig);
  for (;;) sc(__NR_exit_group, 128 + sig);
}

void HandleEnding(bool on) {
  KSigaction a = {on ? OnEndingSignal : SIG_DFL, on ? (unsigned long)SA_RESTORER : 0, on ? NoReturn : nullptr,
                  0};
  for (int sig : kEnding) sc(__NR_rt_sigaction, sig, &a, 0, sizeof(unsigned long));
}

// Answers a kGateNamespaces request on `conn`: this process's namespaces, opened now through
// /proc/self/ns (its own: no ptrace check; a kind the kernel lacks, or a root without /proc,
// is left out and marked 0), sent as SCM_RIGHTS and closed here. Best effort: the asker sees a
// short answer as a refusal.
void SendNamespaces(long conn) {
  char have[kGateNsKinds] = {};
  int fds[kGateNsKinds];
  int n = 0;
  for (int i = 0; i < kGateNsKinds; i++) {
    char path[32] = "/proc/self/ns/";
    size_t k = CStrLen(path);
    for (const char* c = kGateNsNames[i]; *c && k + 1 < sizeof path; c++) path[k++] = *c;
    path[k] = 0;
    long fd = sc(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    have[i] = 1;
    fds[n++] = (int)fd;
  }
  union {
    char buf[CMSG_SPACE(sizeof(int) * kGateNsKinds)];
    struct cmsghdr align;
  } cbuf = {};
  struct iovec iov = {have, sizeof have};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (n > 0) {
    mh.msg_control = cbuf.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    unsigned char* d = CMSG_DATA(c);
    for (int i = 0; i < n; i++)
      for (size_t b = 0; b < sizeof(int); b++) d[i * sizeof(int) + b] = ((unsigned char*)&fds[i])[b];
  }
  long r;
  do {
    r = sc(__NR_sendmsg, conn, &mh, MSG_NOSIGNAL);
  } while (r == -EINTR);
  for (int i = 0; i < n; i++) sc(__NR_close, fds[i]);
}

// Waits for a start: a connection whose first byte is kGateStart. A kGateNamespaces request
// is answered (SendNamespaces) and closed; anything else (a connection closed or sending
// something else) is dropped. Either way the wait goes on. Returns the connection.
long WaitStart(int gate, int* sysid) {
  for (;;) {
    *sysid = SYS_ACCEPT4;
    long conn = sc(__NR_accept4, gate, 0, 0, SOCK_CLOEXEC);
    if (conn == -EINTR || conn == -ECONNABORTED) continue;
    if (conn < 0) return conn;
    char b = 0;
    long n;
    do {
      n = sc(__NR_read, conn, &b, 1);
    } while (n == -EINTR);
    if (n == 1 && b == kGateStart) return conn;
    if (n == 1 && b == kGateNamespaces) SendNamespaces(conn);
    sc(__NR_close, conn);
  }
}

}  // namespace

long RunGate(ChildCtx* ctx, int step, int* sysid, int* at) {
  const Step& exec = ctx->steps[ctx->nsteps - 1];  // plan_parse.cc: exec is last
  long r = Resolve(exec, ctx->exec_path, sizeof ctx->exec_path);
  if (r < 0) {
    *at = ctx->nsteps - 1;
    return r;
  }
  // Hooks after the gate write our pid (as the parent sees it) into their state: asked now,
  // while the parent still answers.
  for (int k = step + 1; k < ctx->nsteps; k++)
    if (ctx->steps[k].op == OP_HOOK && ctx->steps[k].d && (r = LearnHostPid(ctx, step, sysid)) < 0) return r;
  *sysid = SYS_PRCTL;
  r = sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (r < 0) return r;
  sc(__NR_prctl, PR_SET_NAME, "nsbox-gate", 0, 0, 0);  // what ps(1) shows until the start
  Msg m = {MSG_GATE, step, 0, 0};
  *sysid = SYS_SENDMSG;
  do {
    r = sc(__NR_sendto, ctx->sock, &m, sizeof m, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof m) return r < 0 ? r : -EIO;
  sc(__NR_close, ctx->sock);
  ctx->sock = -1;

  HandleEnding(true);
  SetMask(0);
  long conn = WaitStart(ctx->gate, sysid);
  SetMask(~0UL);
  HandleEnding(false);        // the command gets every disposition at its default
  if (conn < 0) return conn;  // nobody to tell (ctx->sock is closed): exits 127
  sc(__NR_close, ctx->gate);
  ctx->gate = -1;
  ctx->sock = (int)conn;
  ctx->gated = 1;
  char ack = kGateAck;
  do {
    r = sc(__NR_sendto, conn, &ack, 1, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
  *sysid = SYS_WRITE;
  return r == 1 ? 0 : (r < 0 ? r : -EIO);
}

}  // namespace nsbox
