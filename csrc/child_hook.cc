// OP_HOOK: a program run at a point of the spawn plan, as runc runs the OCI hooks from its init
// (createContainer before pivot_root, startContainer before execve). With child.cc's rules
// (raw syscalls, no allocation), since the child — and, for HOOK_CALLER, the parent's thread
// that waits on the status socket — runs it:
//   1. three pipes (CLOEXEC): its stdin, stdout and stderr; our ends non-blocking, so a hook
//      that neither reads nor exits cannot hold us past its timeout;
//   2. clone(CLONE_VM|CLONE_VFORK), as posix_spawn(3) does: no copy of the address space, and
//      we sleep until it has exec'd. Before execve(2) it places the pipes on 0, 1, 2, closes
//      every other fd (close_range(2): the status socket, the gate, the plan's fds, whatever the
//      caller held), leads a process group of its own, chroot(2)s when asked (HOOK_HOST: the
//      caller's root), sets PR_SET_PDEATHSIG SIGKILL, resets every signal disposition and
//      unblocks them all; an execve failure comes back through our shared memory;
//   3. a pidfd (pidfd_open(2)) polled with its pipes (ppoll(2)) until it exits or its timeout
//      passes, when its process group is SIGKILLed; meanwhile the text goes to its stdin, its
//      stdout is dropped and the end of its stderr kept; then it is reaped (wait4(2)).
#include "child_hook.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "nr.h"
#include "plan.h"
#include "rawsys.h"

namespace nsbox {
namespace {

using raw::sc;

// Kernel sigaction layout for rt_sigaction(2).
struct KSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

// What the hook's process reads between clone and execve (it shares our memory).
struct Launch {
  const HookRun* h;
  int fds[3];  // the hook's ends of its stdin, stdout and stderr pipes
  volatile long err;
  volatile int sysid;
};

void CloseFrom3() {
  if (sc(__NR_close_range, 3, ~0U, 0) == 0) return;
  // Before Linux 5.9 (ENOSYS), or refused by a seccomp filter: one by one up to the limit.
  struct {
    unsigned long long cur, max;
  } lim = {1024, 1024};
  sc(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &lim);
  for (unsigned long long fd = 3; fd < lim.cur && fd < (1u << 20); fd++) sc(__NR_close, fd);
}

int HookMain(void* arg) {
  Launch* l = static_cast<Launch*>(arg);
  // Above 2 first: a pipe end may sit on 0, 1 or 2 (a caller with a closed stdio fd).
  int tmp[3];
  l->sysid = SYS_FCNTL;
  for (int i = 0; i < 3; i++) {
    long r = sc(__NR_fcntl, l->fds[i], F_DUPFD_CLOEXEC, 3);
    if (r < 0) return l->err = r, 127;
    tmp[i] = (int)r;
  }
  l->sysid = SYS_DUP3;
  for (int i = 0; i < 3; i++) {
    long r = sc(__NR_dup3, tmp[i], i, 0);
    if (r < 0) return l->err = r, 127;
  }
  CloseFrom3();
  // Its own process group, which a timeout kills whole. Never a session leader (a new
  // process), so this cannot fail.
  sc(__NR_setpgid, 0, 0);
  if (l->h->root) {
    l->sysid = SYS_CHROOT;
    long r = sc(__NR_chroot, l->h->root);
    if (r == 0) l->sysid = SYS_CHDIR, r = sc(__NR_chdir, "/");
    if (r < 0) return l->err = r, 127;
  }
  // It ends if we do (a killed spawn or start): kept across execve(2), prctl(2).
  sc(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Every disposition to SIG_DFL (Node ignores SIGPIPE, which execve would keep), then none
  // blocked, as child_process does.
  KSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sc(__NR_rt_sigaction, sig, &dfl, 0, sizeof(unsigned long));
  unsigned long none = 0;
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &none, 0, sizeof none);
  l->sysid = SYS_STEP;
  l->err = sc(__NR_execve, l->h->path, l->h->argv, l->h->envp);
  return 127;
}

void Close(int* fd) {
  if (*fd >= 0) sc(__NR_close, *fd);
  *fd = -1;
}

long NowMs() {
  struct timespec ts = {0, 0};
  sc(__NR_clock_gettime, CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Appends b[0..n) to the tail, keeping its last kHookTail bytes.
void Keep(HookRun* h, const char* b, long n) {
  long over = h->taillen + n - kHookTail;
  if (over > 0) {
    long drop = over < h->taillen ? over : h->taillen;
    for (long i = drop; i < h->taillen; i++) h->tail[i - drop] = h->tail[i];
    h->taillen -= (int)drop;
    if (n > kHookTail) b += n - kHookTail, n = kHookTail;
  }
  for (long i = 0; i < n; i++) h->tail[h->taillen++] = b[i];
}

// Reads what fd has now; closes it at EOF or on an error. `keep`: into the tail.
void Drain(HookRun* h, int* fd, bool keep) {
  char buf[1024];
  for (int k = 0; k < 64 && *fd >= 0; k++) {
    long n = sc(__NR_read, *fd, buf, sizeof buf);
    if (n == -EINTR) continue;
    if (n == -EAGAIN) return;
    if (n <= 0) return Close(fd);
    if (keep) Keep(h, buf, n);
  }
}

// The text for its stdin: three pieces, the pid between.
struct Text {
  const char* piece[3];
  long len[3];
  int at;
  long off;
};

// Writes what the pipe takes; closes it once everything is written, or when the hook has
// closed its end (EPIPE: SIGPIPE is blocked or ignored wherever this runs).
void Feed(Text* t, int* fd) {
  while (*fd >= 0) {
    while (t->at < 3 && t->off == t->len[t->at]) t->at++, t->off = 0;
    if (t->at == 3) return Close(fd);
    long n = sc(__NR_write, *fd, t->piece[t->at] + t->off, t->len[t->at] - t->off);
    if (n == -EINTR) continue;
    if (n == -EAGAIN) return;
    if (n < 0) return Close(fd);
    t->off += n;
  }
}

void KillGroup(long pid) {
  if (sc(__NR_kill, -pid, SIGKILL) < 0) sc(__NR_kill, pid, SIGKILL);
}

long Reap(long pid, int* st) {
  long r;
  do {
    r = sc(__NR_wait4, pid, st, __WALL, 0);
  } while (r == -EINTR);
  return r;
}

// Waits for the hook (pidfd `pfd`) while feeding its stdin and reading its output. Returns 0
// once it has exited, 1 when its timeout passed (its group is then killed and it has exited),
// or -errno of ppoll(2).
long Wait(HookRun* h, long pid, int pfd, int* in, int* out, int* err, Text* t) {
  long deadline = h->timeoutMs > 0 ? NowMs() + h->timeoutMs : -1;
  bool killed = false;
  Feed(t, in);
  for (;;) {
    struct pollfd p[4];
    int n = 0;
    p[n++] = {pfd, POLLIN, 0};
    int io[3] = {*out, *err, *in};
    short ev[3] = {POLLIN, POLLIN, POLLOUT};
    int slot[3] = {-1, -1, -1};
    for (int k = 0; k < 3; k++)
      if (io[k] >= 0) slot[k] = n, p[n++] = {io[k], ev[k], 0};
    struct timespec ts, *tp = nullptr;
    if (deadline >= 0 && !killed) {
      long left = deadline - NowMs();
      if (left < 0) left = 0;
      ts.tv_sec = left / 1000, ts.tv_nsec = (left % 1000) * 1000000;
      tp = &ts;
    }
    long r = sc(__NR_ppoll, p, n, tp, 0, 0);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    if (r == 0) {
      KillGroup(pid);
      killed = true;
      continue;
    }
    if (slot[0] >= 0 && p[slot[0]].revents) Drain(h, out, false);
    if (slot[1] >= 0 && p[slot[1]].revents) Drain(h, err, true);
    if (slot[2] >= 0 && p[slot[2]].revents) Feed(t, in);
    if (p[0].revents) break;
  }
  // What its pipes still hold; a process it left behind may keep them open: no waiting for it.
  Drain(h, out, false);
  Drain(h, err, true);
  return killed ? 1 : 0;
}

}  // namespace

long RunHookProcess(HookRun* h) {
  h->status = -1;
  h->taillen = 0;
  int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  h->sysid = SYS_PIPE2;
  long r = 0;
  for (int k = 0; k < 3 && r == 0; k++) r = sc(__NR_pipe2, p[k], O_CLOEXEC);
  auto closeAll = [&]() {
    for (auto& e : p) Close(&e[0]), Close(&e[1]);
  };
  if (r < 0) return closeAll(), r;
  // Ours, non-blocking: the write end of its stdin, the read ends of its stdout and stderr.
  int ours[3] = {p[0][1], p[1][0], p[2][0]};
  h->sysid = SYS_FCNTL;
  for (int k = 0; k < 3 && r == 0; k++) r = sc(__NR_fcntl, ours[k], F_SETFL, O_NONBLOCK);
  if (r < 0) return closeAll(), r;

  Launch l = {h, {p[0][0], p[1][1], p[2][1]}, 0, SYS_STEP};
  // No handler of the caller's may run on the hook's stack before it resets them.
  unsigned long all = ~0UL, old = 0;
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  long pid = nsbox_clone(CLONE_VM | CLONE_VFORK, h->stack, HookMain, &l);  // exit signal 0
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &old, 0, sizeof old);
  Close(&p[0][0]), Close(&p[1][1]), Close(&p[2][1]);
  int st = 0;
  if (pid < 0) return h->sysid = SYS_CLONE, closeAll(), pid;
  if (l.err < 0) return Reap(pid, &st), h->sysid = l.sysid, closeAll(), l.err;

  h->sysid = SYS_PIDFD_OPEN;
  long pfd = sc(__NR_pidfd_open, pid, 0);
  if (pfd < 0) return KillGroup(pid), Reap(pid, &st), closeAll(), pfd;
  char digits[24];
  Text t = {{h->stdinBefore, digits, h->stdinAfter},
            {(long)CStrLen(h->stdinBefore), 0, (long)CStrLen(h->stdinAfter)},
            0,
            0};
  if (h->pid >= 0) t.len[1] = Digits(h->pid, digits);
  long w = Wait(h, pid, (int)pfd, &p[0][1], &p[1][0], &p[2][0], &t);
  if (w < 0) KillGroup(pid);
  long reaped = Reap(pid, &st);
  sc(__NR_close, pfd);
  closeAll();
  if (w < 0) return h->sysid = SYS_PPOLL, w;
  h->sysid = SYS_WAIT4;
  if (reaped < 0) return reaped;
  if (w == 1) return h->status = 256 + SIGKILL, -ETIMEDOUT;
  if (WIFSIGNALED(st)) return h->status = 256 + WTERMSIG(st), -ECANCELED;
  h->status = WEXITSTATUS(st);
  return h->status ? -ECANCELED : 0;
}

long LearnHostPid(ChildCtx* ctx, int step, int* sysid) {
  if (ctx->hostpid > 0) return 0;
  if (ctx->gated) return -EPROTO;  // after the gate nobody answers: RunGate asks first
  Msg m = {MSG_HOSTPID, step, 0, 0};
  long r;
  *sysid = SYS_SENDMSG;
  do {
    r = sc(__NR_sendto, ctx->sock, &m, sizeof m, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof m) return r < 0 ? r : -EIO;
  int32_t pid = 0;
  *sysid = SYS_READ;
  do {
    r = sc(__NR_recvfrom, ctx->sock, &pid, sizeof pid, 0, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof pid || pid <= 0) return r < 0 ? r : -EPROTO;
  ctx->hostpid = pid;
  return 0;
}

namespace {

// HOOK_CALLER: the parent runs it while we wait, and reports a failure itself.
long AskParent(ChildCtx* ctx, int step, int* sysid) {
  Msg m = {MSG_HOOK, step, 0, 0};
  long r;
  *sysid = SYS_SENDMSG;
  do {
    r = sc(__NR_sendto, ctx->sock, &m, sizeof m, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof m) return r < 0 ? r : -EIO;
  int32_t answer = -1;
  *sysid = SYS_READ;
  do {
    r = sc(__NR_recvfrom, ctx->sock, &answer, sizeof answer, 0, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof answer) return r < 0 ? r : -EPROTO;
  *sysid = SYS_STEP;
  return answer > 0 ? -answer : (answer == 0 ? 0 : -EPROTO);
}

}  // namespace

long RunHookStep(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  ctx->errlen = 0;
  if (s.b == HOOK_CALLER) return AskParent(ctx, step, sysid);
  long r;
  if (s.d && (r = LearnHostPid(ctx, step, sysid)) < 0) return r;
  // Our mm is our own (spawn.cc), a copy of Node's: non-dumpable while the hook runs, so it
  // cannot ptrace us or read our memory. A HOOK_HERE hook comes right before execve, which
  // decides afresh; a HOOK_HOST one before OP_LOCK, whose helper opens our /proc files.
  long was = sc(__NR_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0);
  *sysid = SYS_PRCTL;
  if ((r = sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0)) < 0) return r;
  HookRun h;  // no `= {}`: the compiler would zero its 4 KiB with a memset(3) call
  h.path = s.str;
  h.argv = s.argv;
  h.envp = s.envp;
  h.timeoutMs = s.c;
  h.stdinBefore = s.str2;
  h.pid = s.d ? ctx->hostpid : -1;
  h.stdinAfter = s.str3;
  h.root = s.b == HOOK_HOST ? "/oldroot" : nullptr;
  h.stack = ctx->helper_stack;
  r = RunHookProcess(&h);
  // A write to a stdin the hook had closed left SIGPIPE pending (every signal is blocked
  // here): setting SIG_IGN discards it (sigaction(2)), before the command's execve could
  // deliver it.
  KSigaction ign = {SIG_IGN, 0, nullptr, 0}, dfl = {SIG_DFL, 0, nullptr, 0};
  sc(__NR_rt_sigaction, SIGPIPE, &ign, 0, sizeof(unsigned long));
  sc(__NR_rt_sigaction, SIGPIPE, &dfl, 0, sizeof(unsigned long));
  if (s.b == HOOK_HOST && was > 0) sc(__NR_prctl, PR_SET_DUMPABLE, was, 0, 0, 0);
  if (r < 0) {
    for (int i = 0; i < h.taillen; i++) ctx->errtext[i] = h.tail[i];
    ctx->errlen = h.taillen;
  }
  *sysid = h.sysid | (h.status >= 0 ? (h.status + 1) << kSysItemShift : 0);
  return r;
}

}  // namespace nsbox
