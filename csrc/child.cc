// The child half of spawn (see plan.h). It runs right after clone3(2), usually sharing the
// parent's memory (CLONE_VM, like vfork), so everything here is async-signal-safe: raw
// syscalls only (errno would be the parent thread's TLS), no allocation, no locks, no
// C++ runtime. A failing step sends (step, errno) over the status socket and exits 127;
// exec closes the socket (CLOEXEC), which is how the parent learns of success.
#include "child.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "child_fs.h"
#include "child_gate.h"
#include "child_hook.h"
#include "child_init.h"
#include "child_landlock.h"
#include "child_lock.h"
#include "child_security.h"
#include "child_tty.h"
#include "plan.h"
#include "rawsys.h"
#include "sys.h"
#include "nr.h"

namespace nsbox {

// ---- the clone3 trampoline ----------------------------------------------------------------
// clone3 has no glibc wrapper; with a new stack the child cannot return into C code, so it
// calls fn(arg) on that stack and exits with its result (what glibc's clone() does).
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl nsbox_clone3\n"
    ".type nsbox_clone3,@function\n"
    "nsbox_clone3:\n"
    "  mov %rdx, %r8\n"   // fn  (r8/r9 survive syscall and are copied to the child)
    "  mov %rcx, %r9\n"   // arg
    "  mov $435, %eax\n"  // __NR_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"  // child: outermost frame
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $231, %eax\n"  // exit_group
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size nsbox_clone3, .-nsbox_clone3\n"
    // clone(2) itself, for the init's command (child_init.cc): a seccomp profile may refuse
    // clone3 (ENOSYS, Docker's does), never clone without CLONE_NEW* flags. tls (r8) is
    // unused without CLONE_SETTLS; parent_tid and child_tid are zeroed.
    ".globl nsbox_clone\n"
    ".type nsbox_clone,@function\n"
    "nsbox_clone:\n"
    "  mov %rdx, %r8\n"  // fn
    "  mov %rcx, %r9\n"  // arg
    "  xor %edx, %edx\n"
    "  xor %r10d, %r10d\n"
    "  mov $56, %eax\n"  // __NR_clone
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 2f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $231, %eax\n"
    "  syscall\n"
    "  hlt\n"
    "2:\n"
    "  ret\n"
    ".size nsbox_clone, .-nsbox_clone\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl nsbox_clone3\n"
    ".type nsbox_clone3,%function\n"
    "nsbox_clone3:\n"
    "  mov x10, x2\n"
    "  mov x11, x3\n"
    "  mov x8, #435\n"
    "  svc #0\n"
    "  cbnz x0, 1f\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, x11\n"
    "  blr x10\n"
    "  mov x8, #94\n"  // exit_group
    "  svc #0\n"
    "1:\n"
    "  ret\n"
    ".size nsbox_clone3, .-nsbox_clone3\n"
    ".globl nsbox_clone\n"
    ".type nsbox_clone,%function\n"
    "nsbox_clone:\n"
    "  mov x10, x2\n"
    "  mov x11, x3\n"
    "  mov x2, #0\n"
    "  mov x3, #0\n"
    "  mov x4, #0\n"
    "  mov x8, #220\n"  // __NR_clone
    "  svc #0\n"
    "  cbnz x0, 2f\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, x11\n"
    "  blr x10\n"
    "  mov x8, #94\n"
    "  svc #0\n"
    "2:\n"
    "  ret\n"
    ".size nsbox_clone, .-nsbox_clone\n");
#endif

// Whether OP_EXEC's file is searched in PATH (execvp(3)'s rule: asked, and no slash in it).
bool Searched(const Step& s) {
  bool slash = false;
  for (const char* p = s.str; *p; p++) slash = slash || *p == '/';
  return s.a && !slash && *s.str;
}

// The PATH the search uses: the command's environment's, else execvp(3)'s default.
const char* SearchPath(const Step& s) {
  const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char* const* e = s.envp; *e; e++) {
    const char* v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
  }
  return path;
}

namespace {

using raw::sc;

[[noreturn]] void Exit(int code) {
  for (;;) sc(__NR_exit_group, code);
}

void Send(int sock, int32_t kind, int32_t step, int32_t err, int32_t value) {
  Msg m = {kind, step, err, value};
  long r;
  do {
    r = sc(__NR_sendto, sock, &m, sizeof m, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
}

[[noreturn]] void Fail(ChildCtx* ctx, int step, long err, int sysid) {
  // After the gate the starter reads this: it has no plan, so the op names the step (and a
  // hook's index rides above it).
  const Step& s = ctx->steps[step];
  int32_t where = !ctx->gated ? step : (s.op == OP_HOOK ? s.op | s.a << 8 : s.op);
  // A failed hook's stderr follows the Msg, in the same datagram (plan.h).
  int textLen = s.op == OP_HOOK ? ctx->errlen : 0;
  Msg m = {MSG_ERROR, where, (int32_t)-err, sysid};
  struct iovec iov[2] = {{&m, sizeof m}, {ctx->errtext, (size_t)textLen}};
  struct msghdr mh = {};
  mh.msg_iov = iov;
  mh.msg_iovlen = textLen > 0 ? 2 : 1;
  long r;
  do {
    r = sc(__NR_sendmsg, ctx->sock, &mh, MSG_NOSIGNAL);
  } while (r == -EINTR);
  Exit(127);
}

// Kernel sigaction layout for rt_sigaction(2).
struct KSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

// Every disposition back to SIG_DFL, as libuv does for child_process: CLONE_CLEAR_SIGHAND
// resets handlers but keeps SIG_IGN, and Node ignores SIGPIPE.
void ResetSignals() {
  KSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sc(__NR_rt_sigaction, sig, &dfl, 0, sizeof(unsigned long));
  }
}

// close_range(2) of every fd from `lo` up but `a`, `b` and `c` (each -1 or >= lo); one by one
// up to the fd limit before Linux 5.9.
long CloseFrom(unsigned lo, int a, int b, int c) {
  int keep[3] = {a, b, c};
  for (int i = 0; i < 3; i++)  // sorted, so that the gaps between them can be closed in order
    for (int j = i + 1; j < 3; j++)
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
  unsigned from = lo;
  long r = 0;
  for (int k : keep) {
    if (k < 0 || (unsigned)k < from) continue;
    if ((unsigned)k > from) r = sc(__NR_close_range, from, (unsigned)k - 1, 0);
    if (r < 0) break;
    from = (unsigned)k + 1;
  }
  if (r == 0) r = sc(__NR_close_range, from, ~0U, 0);
  if (r == -ENOSYS) {
    struct {
      unsigned long long cur, max;
    } lim = {1024, 1024};
    sc(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &lim);
    for (unsigned long long fd = lo; fd < lim.cur && fd < (1u << 20); fd++)
      if ((int)fd != a && (int)fd != b && (int)fd != c) sc(__NR_close, fd);
    r = 0;
  }
  return r;
}

// Moves `*fd` (if any) to a CLOEXEC copy at `min` or above.
long MoveAbove(int* fd, int min) {
  if (*fd < 0) return 0;
  long r = sc(__NR_fcntl, *fd, F_DUPFD_CLOEXEC, min);
  if (r < 0) return r;
  sc(__NR_close, *fd);
  *fd = (int)r;
  return 0;
}

// OP_FDS: place each source fd at its target, keep the status socket (and the gate's
// listening socket), close the rest. Sources may collide with targets, so every source is
// first copied above the highest target, then dup3'ed into place (dup3 without O_CLOEXEC
// clears the flag).
long PlaceFds(ChildCtx* ctx, const int32_t* pairs, int n, int* sysid) {
  int maxTarget = -1;
  for (int i = 0; i < n; i++)
    if (pairs[2 * i] > maxTarget) maxTarget = pairs[2 * i];
  *sysid = SYS_FCNTL;
  long r = MoveAbove(&ctx->sock, maxTarget + 1);
  if (r == 0) r = MoveAbove(&ctx->gate, maxTarget + 1);
  if (r == 0) r = MoveAbove(&ctx->init_fd, maxTarget + 1);
  if (r < 0) return r;
  int tmp[256];
  for (int i = 0; i < n; i++) {
    // Never the status socket, the gate or the init image: a command holding one could talk
    // to the parent (and keep it waiting), or start itself.
    if (pairs[2 * i + 1] == ctx->sock || pairs[2 * i + 1] == ctx->gate || pairs[2 * i + 1] == ctx->init_fd)
      return -EBADF;
    r = sc(__NR_fcntl, pairs[2 * i + 1], F_DUPFD_CLOEXEC, maxTarget + 1);
    if (r < 0) return r;
    tmp[i] = (int)r;
  }
  *sysid = SYS_DUP3;
  for (int i = 0; i < n; i++) {
    r = sc(__NR_dup3, tmp[i], pairs[2 * i], 0);
    if (r < 0) return r;
  }
  // Close every fd below the highest target that is not a target...
  for (int fd = 0; fd <= maxTarget; fd++) {
    bool keep = false;
    for (int i = 0; i < n && !keep; i++) keep = pairs[2 * i] == fd;
    if (!keep) sc(__NR_close, fd);
  }
  // ...and everything above it but the status socket, the gate and the init image
  // (close_range(2), Linux 5.9).
  *sysid = SYS_CLOSE_RANGE;
  return CloseFrom((unsigned)maxTarget + 1, ctx->sock, ctx->gate, ctx->init_fd);
}

// A change of euid/egid makes the mm non-dumpable (commit_creds(), suid_dumpable). Sharing
// Node's mm (CLONE_VM), that would flip Node's own flag, and make our /proc/PID files root's,
// which OP_LOCK's helper must open: set it back as Node had it. execve(2) decides afresh.
void Redump(ChildCtx* ctx, long r) {
  if (r == 0 && ctx->redump) sc(__NR_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
}

// Before the first step that leaves us with less than Node's credentials in Node's own user
// namespace (a gid of another's, fewer capabilities, a seccomp filter: spawn.cc marks it):
// until our execve(2) we share Node's mm (CLONE_VM), which stays dumpable, and
// ptrace_may_access() lets any process pass whose ids equal all our uids and gids and whose
// permitted set holds ours. With fewer capabilities than Node, a root process of the host with
// as few (a box without a pid namespace, a service with a capability bounding set) would then
// open /proc/PID/mem and hold Node's memory, to read and write, after we exec. A saved uid
// unlike our other uids matches no process's (the check wants all three equal): only a holder
// of CAP_SYS_PTRACE, who could reach Node itself, passes. setresuid(2) of the saved uid alone
// changes neither the euid nor the fsuid, so commit_creds() leaves the mm's dumpable flag
// alone, and keeps our capabilities (our uid and euid stay); execve(2) sets it to the euid
// again. spawn.cc gives the mm of its own instead, made non-dumpable here (hide_suid < 0),
// when Node cannot set such an id (no CAP_SETUID, or one uid mapped).
long HideIds(ChildCtx* ctx, int* sysid) {
  if (ctx->hide_suid >= 0) {
    *sysid = SYS_SETRESUID;
    long r = sc(__NR_setresuid, -1, -1, ctx->hide_suid);
    if (r == 0) ctx->hidden = 1;
    return r;
  }
  *sysid = SYS_PRCTL;
  ctx->redump = 0;
  return sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// OP_EXEC. Through the exec stub (the step's kExecStub, child.cc ExecStep), the stub's own
// process is a new one, dumpable, of the command's credentials: other processes of the sandbox
// may reach its fds until its execve. So the status socket (which the parent trusts with
// every message of ours) stays CLOEXEC and closes at the stub's exec; a pipe, whose read end
// the parent now holds (MSG_EXEC), carries the stub's report instead — at worst a forged
// failure of this spawn. After a start gate the connection is the starter's: no report then
// (a failed execve is exit status 127; the gate resolved the file at create).
long RunExec(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  const char* resolved = ctx->exec_path[0] ? ctx->exec_path : nullptr;
  if (!s.b || ctx->init_fd < 0) return ExecStep(s, resolved, -1, -1, step);
  if (ctx->gated) return ExecStep(s, resolved, ctx->init_fd, -1, step);
  int p[2];
  *sysid = SYS_PIPE2;
  long r = sc(__NR_pipe2, p, O_CLOEXEC);
  if (r < 0) return r;
  *sysid = SYS_SENDMSG;
  r = SendFdToParent(ctx, MSG_EXEC, step, p[0]);
  sc(__NR_close, p[0]);
  if (r == 0) {
    *sysid = SYS_STEP;
    r = ExecStep(s, resolved, ctx->init_fd, p[1], step);
  }
  sc(__NR_close, p[1]);
  return r;
}

// OP_CHDIR. In a container (b & 1) the directory is resolved inside the new root with
// openat2(2) RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, after every inherited fd is closed: a
// cwd of /proc/self/fd/N or a symlink out of the root cannot lead to the host
// (runc CVE-2024-21626). Optional (b & 2): a directory that cannot be entered leaves the
// cwd where it is (the new root's /, after pivot_root), as bwrap does with the caller's cwd.
long ChdirTo(const Step& s, int* sysid) {
  if (!(s.b & 1)) return sc(__NR_chdir, s.str);
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  *sysid = SYS_OPENAT2;
  long fd = sc(__NR_openat2, AT_FDCWD, s.str, &how, sizeof how);
  if (fd < 0) return fd;
  *sysid = SYS_FCHDIR;
  long r = sc(__NR_fchdir, fd);
  sc(__NR_close, fd);
  return r;
}

long Chdir(const Step& s, int* sysid) {
  long r = ChdirTo(s, sysid);
  return r < 0 && (s.b & 2) ? 0 : r;
}

// OP_EXEC: execve, searching PATH (from the child's environment) like execvpe(3) when
// asked. The error reported is the most telling one: EACCES if any candidate had it.
long Exec(const Step& s) {
  const char* file = s.str;
  if (!Searched(s)) return sc(__NR_execve, file, s.argv, s.envp);
  const char* path = SearchPath(s);
  size_t flen = CStrLen(file);
  char buf[4096];
  long err = -ENOENT;
  bool sawEacces = false;
  for (const char* p = path;; p++) {
    const char* start = p;
    while (*p && *p != ':') p++;
    size_t dlen = (size_t)(p - start);
    if (dlen + 1 + flen + 1 <= sizeof buf) {
      size_t k = 0;
      if (dlen == 0) buf[k++] = '.';  // empty PATH element means the current directory
      for (size_t i = 0; i < dlen; i++) buf[k++] = start[i];
      buf[k++] = '/';
      for (size_t i = 0; i < flen; i++) buf[k++] = file[i];
      buf[k] = 0;
      err = sc(__NR_execve, buf, s.argv, s.envp);
      if (err == -EACCES)
        sawEacces = true;
      else if (err != -ENOENT && err != -ENOTDIR && err != -ESTALE && err != -ENAMETOOLONG)
        return err;
    }
    if (!*p) break;
  }
  return sawEacces ? -EACCES : err;
}

// OP_USERNS_SYNC. The parent writes /proc/PID/{setgroups,uid_map,gid_map} (or runs
// newuidmap) and answers with its errno; until then we have no capabilities in the new
// namespace. With the answer come the idmapped trees the parent made for this user
// namespace (SCM_RIGHTS), attached later by OP_MOUNT with MNT_FROM_TREE.
long UsernsSync(ChildCtx* ctx, int step) {
  long r;
  Send(ctx->sock, MSG_MAPS, step, 0, 0);
  int32_t answer = 0;
  struct iovec iov = {&answer, sizeof answer};
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxTrees)];
    struct cmsghdr align;
  } cbuf;
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof cbuf.buf;
  do {
    r = sc(__NR_recvmsg, ctx->sock, &mh, MSG_CMSG_CLOEXEC);
  } while (r == -EINTR);
  if (r != (long)sizeof answer || answer != 0) Exit(127);  // the parent reports it
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (int k = 0; k < n && ctx->ntrees < kMaxTrees; k++) ctx->trees[ctx->ntrees++] = fds[k];
  }
  return 0;
}

// The steps from `from` on, then exit(0) (an exec step does not return).
[[noreturn]] void RunPlan(ChildCtx* ctx, int from);

// The CLONE_VM copy of OP_FORK: goes on from the step after it (ctx->fork_next: shared memory,
// which we do not touch again; never our stack, whose slots the compiler may reuse at once).
int ForkedMain(void* arg) {
  ChildCtx* ctx = static_cast<ChildCtx*>(arg);
  RunPlan(ctx, ctx->fork_next);
}

// OP_FORK's CLONE_VM copy (b = 1) runs on the part of spawn's stack (spawn.cc: 256 KiB) above the
// helpers' 64 KiB and below the top 16 KiB, where we are: we only report and exit.
constexpr unsigned long kForkStack = (256 - 4 - 64 - 16) * 1024;

// OP_FORK. A joined pid/time namespace or a new pid namespace after joins applies only to
// children: fork once more with CLONE_PARENT so the new process is the parent's own child,
// report its pid, and leave. The copy goes on with the next step. With b = 1 (a template's
// run) it shares our memory (CLONE_VM, on its own part of the stack, going on from the next
// step) instead of copying it: no copy of Node's page tables per run.
//
// Once the copy exists we read nothing of the shared memory: with CLONE_VM it goes on in it at
// once, and its steps change the context (OP_FDS moves ctx->sock above the stdio targets in
// the copy's own fd table, a number that means nothing in ours). The socket we report on is
// read before the clone: reading ctx->sock after it made MSG_PID go to EBADF now and then
// (the parent then took this process for the command and never reaped the copy).
long Fork(ChildCtx* ctx, const Step& s, int step) {
  const int sock = ctx->sock;
  struct clone_args ca = {};
  ca.flags = (uint64_t)(uint32_t)s.a | CLONE_PARENT;
  long r;
  if (s.b) {
    ca.flags |= CLONE_VM;
    ca.stack = (uint64_t)(uintptr_t)ctx->helper_stack;
    ca.stack_size = kForkStack;
    ctx->fork_next = step + 1;
    r = nsbox_clone3(&ca, sizeof ca, ForkedMain, ctx);
  } else {
    r = sc(__NR_clone3, &ca, sizeof ca);
  }
  if (r > 0) {
    Send(sock, MSG_PID, step, 0, (int32_t)r);
    Exit(0);
  }
  return r;
}

// OP_PDEATHSIG, race-free: after PR_SET_PDEATHSIG, if the parent is already gone its end of
// the status socket `sock` is closed, which poll(2) shows as POLLHUP (exit 127 then). ppoll
// with a zero timeout, since arm64 (like every newer architecture) has no poll syscall.
long DieWithParent(int sock, int sig) {
  long r = sc(__NR_prctl, PR_SET_PDEATHSIG, sig, 0, 0, 0);
  if (r < 0) return r;
  struct pollfd p = {sock, POLLRDHUP, 0};
  struct timespec now = {0, 0};
  r = sc(__NR_ppoll, &p, 1, &now, 0, 0);
  if (r > 0 && (p.revents & (POLLHUP | POLLRDHUP))) Exit(127);
  return r < 0 ? r : 0;
}

// The steps a deferred OP_FORK may run before it: each leaves its effect on this process in a
// form its fork inherits (ids, cwd, fds, capabilities, no_new_privs, a session keyring, the
// mm's dumpable flag, umask, personality, Landlock, seccomp) or in a namespace both share
// (hostname). The pdeathsig a fork clears is noted and set again by the copy. Any other step
// (a session, a terminal, a mount, a gate, a hook, an init, the exec) is the copy's.
bool BeforeDeferredFork(int op) {
  switch (op) {
    case OP_SETHOSTNAME:
    case OP_SETDOMAINNAME:
    case OP_SETGROUPS:
    case OP_SETGID:
    case OP_SETUID:
    case OP_CHDIR:
    case OP_FDS:
    case OP_PDEATHSIG:
    case OP_KEYRING:
    case OP_NO_TIOCSTI:
    case OP_DUMPABLE:
    case OP_NO_NEW_PRIVS:
    case OP_CAP_BOUND:
    case OP_CAPSET:
    case OP_UMASK:
    case OP_PERSONALITY:
    case OP_LANDLOCK:
    case OP_SECCOMP:
    case OP_SYSCTL:  // a value of a namespace both are in
    case OP_EXIT_PIN: return true;
    default: return false;
  }
}

// A joined pid namespace applies only to children: the process that ends up in it is a fork
// of ours, visible from then on to every process of the box. A box root holding CAP_SYS_PTRACE
// over Node's user namespace (no user namespace of its own, given SYS_PTRACE) passes
// ptrace_may_access() whatever the dumpable flag says, and attached to that fork while it
// still held every capability of the caller's (51 of 53 attaches by a racer that seized the
// next pid, 2026-11-30): code injected then runs as host root. So a plain OP_FORK waits
// (ctx->fork_deferred) while the steps after it only reduce what this process holds, and
// happens before the first step that must be the copy's: the copy enters the box with the
// command's ids, capabilities, no_new_privs, Landlock domain and filters already applied.
// After a filter, clone(2) rather than clone3 (which profiles such as Docker's make ENOSYS).
long ForkFirst(ChildCtx* ctx) {
  const int step = ctx->fork_deferred - 1;
  const int sock = ctx->sock;
  ctx->fork_deferred = 0;
  long r = -ENOSYS;
  if (!ctx->filtered) {
    struct clone_args ca = {};
    ca.flags = CLONE_PARENT;
    r = sc(__NR_clone3, &ca, sizeof ca);
  }
  if (r == -ENOSYS) r = sc(__NR_clone, CLONE_PARENT, 0, 0, 0, 0);
  if (r > 0) {
    Send(sock, MSG_PID, step, 0, (int32_t)r);
    Exit(0);
  }
  if (r == 0 && ctx->fork_pdeathsig != 0) r = DieWithParent(sock, ctx->fork_pdeathsig);
  return r;
}

// OP_PIN: the parent opens our namespace of kind s.a and answers; on a refusal it reports.
long Pin(ChildCtx* ctx, const Step& s, int step) {
  Send(ctx->sock, MSG_PIN, step, 0, s.a);
  int32_t answer = -1;
  long r;
  do {
    r = sc(__NR_recvfrom, ctx->sock, &answer, sizeof answer, 0, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof answer || answer != 0) Exit(127);
  return 0;
}

}  // namespace

long SendFdToParent(ChildCtx* ctx, int32_t kind, int step, int fd) {
  Msg m = {kind, step, 0, 0};
  struct iovec iov = {&m, sizeof m};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cbuf;
  for (unsigned k = 0; k < sizeof cbuf.buf; k++) cbuf.buf[k] = 0;
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof cbuf.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  *reinterpret_cast<int*>(CMSG_DATA(c)) = fd;
  long r;
  do {
    r = sc(__NR_sendmsg, ctx->sock, &mh, MSG_NOSIGNAL);
  } while (r == -EINTR);
  return r < 0 ? r : 0;
}

// The command's execve, made by the exec stub (init_image.cc) instead of by us: until its
// execve the process that makes it runs Node's binary (our /proc/self/exe), and an image whose
// program is `#!/proc/self/exe` — or names /proc/self/exe — would have the kernel run that
// binary inside the sandbox, with a loader the image chose, holding the host's node file
// (CVE-2019-5736, against runc). The stub's own exe is the sealed memfd: what a program can
// reach through /proc/self/exe then is a file nothing can write.
long ExecStep(const Step& s, const char* resolved, int stub, int report, long step) {
  if (!s.b || stub < 0) return resolved ? sc(__NR_execve, resolved, s.argv, s.envp) : Exec(s);
  const char* file = resolved ? resolved : s.str;
  bool search = !resolved && Searched(s);
  char fdArg[24] = "-", stepArg[24] = "r";  // "-": no report; "r": the raw errno (plan.h)
  if (report >= 0) fdArg[Digits(report, fdArg)] = 0;
  if (step >= 0) stepArg[Digits(step, stepArg)] = 0;
  char name[] = "nsbox-exec";
  char one[] = "1", zero[] = "0";
  // The parser left kStubSlots pointers before argv for these.
  char** argv = const_cast<char**>(s.argv) - kStubSlots;
  argv[0] = name;
  argv[1] = fdArg;
  argv[2] = stepArg;
  argv[3] = const_cast<char*>(file);
  argv[4] = search ? one : zero;
  argv[5] = search ? const_cast<char*>(SearchPath(s)) : zero;
  if (report >= 0) {
    long r = sc(__NR_fcntl, report, F_SETFD, 0);
    if (r < 0) return r;
  }
  long r = sc(__NR_execveat, stub, "", argv, s.envp, AT_EMPTY_PATH);
  if (report >= 0) sc(__NR_fcntl, report, F_SETFD, FD_CLOEXEC);
  return r;
}

// A child with a copy of Node's mm (spawn.cc sets hide_exe): until its execve its
// /proc/PID/exe would be Node's binary, and it may wait or fork inside a sandbox's pid
// namespace (a join, a start gate, a forked init) where a process holding CAP_SYS_PTRACE over
// Node's user namespace (a container's root without a user namespace of its own, given
// SYS_PTRACE) passes ptrace_may_access() whatever the dumpable flag says: it could open that
// link with O_PATH and, once no node runs the file, write Node's binary through it
// (CVE-2019-5736). So first thing, while our credentials are Node's: Node's binary is unmapped
// from our copy (replace_mm_exe_file() refuses while the old exe is mapped; nothing of ours
// runs from it: the addon is bound at load, -z now) and PR_SET_MM_MAP makes the sealed init
// image our exe; children we fork inherit it. It needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
// in our user namespace: EPERM means Node holds neither there, and then no process in a pid
// namespace we can enter holds CAP_SYS_PTRACE over that namespace but the host's own.
static long HideExe(ChildCtx* ctx) {
  const ExeLayout& e = ctx->exe;
  for (int k = 0; k < e.nranges; k++) {
    long r = sc(__NR_munmap, e.ranges[2 * k], e.ranges[2 * k + 1] - e.ranges[2 * k]);
    if (r < 0) return r;
  }
  // EINVAL: a kernel without CONFIG_CHECKPOINT_RESTORE has no PR_SET_MM_MAP.
  long r = sc(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &e.map, sizeof e.map, 0);
  return r == -EPERM || r == -EINVAL ? 0 : r;
}

int ChildMain(void* arg) {
  ChildCtx* ctx = static_cast<ChildCtx*>(arg);
  sc(__NR_close, ctx->parent_sock);
  ResetSignals();
  if (ctx->hide_exe) {
    long r = HideExe(ctx);
    if (r < 0) Fail(ctx, 0, r, SYS_PRCTL);
  }
  RunPlan(ctx, 0);
}

namespace {

void RunPlan(ChildCtx* ctx, int from) {
  for (int i = from; i < ctx->nsteps; i++) {
    const Step& s = ctx->steps[i];
    long r = 0;
    int sysid = SYS_STEP;
    int at = i;  // the step a failure is reported against
    if (i == ctx->hide_at && (r = HideIds(ctx, &sysid)) < 0) Fail(ctx, at, r, sysid);
    if (ctx->fork_deferred && !BeforeDeferredFork(s.op)) {
      const int forkStep = ctx->fork_deferred - 1;
      if ((r = ForkFirst(ctx)) < 0) Fail(ctx, forkStep, r, SYS_STEP);
    }
    switch (s.op) {
      case OP_SETNS: r = sc(__NR_setns, s.a, s.b); break;
      case OP_UNSHARE: r = sc(__NR_unshare, s.a); break;
      case OP_PIN: r = Pin(ctx, s, i); break;
      case OP_EXIT_PIN: break;  // the parent's, after our execve
      case OP_ENTER:
        r = sc(__NR_setns, s.a, s.b);
        if (r == 0 && s.b == CLONE_NEWNS) ctx->entered = 1;
        break;
      case OP_USERNS_SYNC: r = UsernsSync(ctx, i); break;
      case OP_FORK:
        if (s.a == 0 && !s.b && !ctx->fork_deferred) {
          ctx->fork_deferred = i + 1;  // ForkFirst, at the first step that must be the copy's
          break;
        }
        r = Fork(ctx, s, i);
        break;
      case OP_SETSID: r = sc(__NR_setsid); break;
      case OP_SETPGID: r = sc(__NR_setpgid, 0, s.a); break;
      case OP_SETHOSTNAME: r = sc(__NR_sethostname, s.str, CStrLen(s.str)); break;
      case OP_SETDOMAINNAME: r = sc(__NR_setdomainname, s.str, CStrLen(s.str)); break;
      case OP_SETGROUPS: r = sc(__NR_setgroups, s.nlist, s.list); break;
      case OP_SETGID:
        r = sc(__NR_setresgid, s.a, s.a, s.a);
        Redump(ctx, r);
        break;
      case OP_SETUID:
        r = sc(__NR_setresuid, s.a, s.a, ctx->hidden ? ctx->hide_suid : s.a);
        Redump(ctx, r);
        break;
      case OP_CHDIR: r = Chdir(s, &sysid); break;
      case OP_FDS: r = PlaceFds(ctx, s.list, s.nlist / 2, &sysid); break;
      case OP_PDEATHSIG: {
        if (ctx->fork_deferred) {  // the copy sets it (a fork clears it)
          ctx->fork_pdeathsig = (int)s.a;
          break;
        }
        r = DieWithParent(ctx->sock, (int)s.a);
        break;
      }
      case OP_EXEC: {
        unsigned long empty = 0;
        sc(__NR_rt_sigprocmask, SIG_SETMASK, &empty, 0, sizeof empty);
        // After a gate, the file it resolved: what `create` checked is what runs.
        r = RunExec(ctx, s, i, &sysid);
        // Signals stay deliverable from here; a failure report follows.
        break;
      }
      case OP_FS_BASE:
      case OP_MOUNT:
      case OP_MKNOD:
      case OP_SYMLINK:
      case OP_WRITE_FILE:
      case OP_SETATTR:
      case OP_PIVOT:
      case OP_MKDIR:
      case OP_PROPAGATION: r = RunFsStep(ctx, s, &sysid); break;
      case OP_LOCK:
      case OP_DUMPABLE:
      case OP_KEYRING:
      case OP_NO_TIOCSTI: r = RunLockStep(ctx, s, &sysid); break;
      case OP_NETWORK: r = RunNetworkStep(ctx, s, i, &sysid); break;
      case OP_NO_NEW_PRIVS:
      case OP_CAP_BOUND:
      case OP_CAPSET:
      case OP_UMASK:
      case OP_PERSONALITY:
      case OP_SECCOMP:
      case OP_SYSCTL:
      case OP_PARENT: r = RunSecurityStep(ctx, s, i, &sysid); break;
      case OP_LANDLOCK: r = RunLandlockStep(s, &sysid); break;
      case OP_GATE: r = RunGate(ctx, i, &sysid, &at); break;
      case OP_TERMINAL: r = RunTerminalStep(ctx, s, i, &sysid); break;
      case OP_HOOK: r = RunHookStep(ctx, s, i, &sysid); break;
      case OP_INIT: {
        // Returns only on failure; the command's execve failing is the exec step's failure.
        bool execFailed = false;
        r = RunInit(ctx, ctx->steps[i + 1], s.a == 1, &sysid, &execFailed);
        if (execFailed) at = i + 1;
        break;
      }
      default: r = -EINVAL;
    }
    if (r < 0) Fail(ctx, at, r, sysid);
    if (s.op == OP_SECCOMP || s.op == OP_NO_TIOCSTI) ctx->filtered = 1;
  }
  Exit(0);
}

}  // namespace

}  // namespace nsbox
