// OP_INIT: the child becomes PID 1 of its new pid namespace — an init made from the plan, as
// bwrap's reaper or Docker's --init (tini), with no extra binary. It has run every step of
// the plan (namespaces, root, capabilities, no_new_privs, Landlock, seccomp), so it is as
// confined as the command. Then, with raw syscalls only (child.cc's rules hold here):
//   1. every signal blocked, the mm made non-dumpable: the init is a copy of Node's memory
//      (its own, copy-on-write: spawn.cc clones it without CLONE_VM), which the command must
//      never read (/proc/1/mem, environ, maps and ptrace all need ptrace_may_access(), which a
//      non-dumpable mm refuses without CAP_SYS_PTRACE over mm->user_ns — Node's user namespace);
//   2. each syscall the loop needs is probed, so a seccomp profile that refuses one fails the
//      spawn with that syscall's errno instead of leaving an init that cannot work;
//   3. the command is started with clone(CLONE_VM|CLONE_VFORK), as posix_spawn(3) does: no
//      second copy of the address space; we sleep until it has exec'd (or died trying), and
//      its execve errno comes back through our shared memory;
//   4. every fd is closed — the status socket too, so the parent sees EOF only now that the
//      command has exec'd; the stdio fds, so the command's pipes end with the command;
//   4b. when the plan allows it, the copy of Node's memory is given up (DropCopy);
//   5. the loop: rt_sigtimedwait(2) on every signal; each but SIGCHLD goes on to the command
//      (its process group when it leads one of its own); after each, wait4(-1, WNOHANG)
//      reaps every zombie (orphans are reparented to us); when the command is reaped, we exit
//      with its status (128+N for a signal N), and the pid namespace's teardown kills the rest.
#include "child_init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "init_image.h"
#include "plan.h"
#include "rawsys.h"

namespace nsbox {
namespace {

using raw::sc;

// The kernel's sigset_t for the rt_sig* syscalls: 64 signals, one word.
constexpr unsigned long kAllSignals = ~0UL;

struct Command {
  const Step* exec;
  volatile long err;  // written by the command (sharing our memory) if execve fails
  int tty;            // the init leads a session with a controlling terminal (OP_TERMINAL)
  int stub;           // the exec stub's memfd, or -1 (child.cc ExecStep)
  int report;         // where the stub reports a failed execve, or -1
};

// The command, between clone(CLONE_VM|CLONE_VFORK) and execve: every disposition is already
// SIG_DFL (ChildMain reset them), the mask empties here, as execve from child_process has it.
int CommandMain(void* arg) {
  Command* c = static_cast<Command*>(arg);
  if (c->tty) {
    // As tini does: the command's own process group, made the terminal's foreground group
    // (TIOCSPGRP, allowed to a background process whose SIGTTOU is blocked, as every signal is
    // here), so Ctrl-C and SIGWINCH reach it from the terminal and the init, in the background,
    // forwards nothing twice. Best effort: the command runs either way.
    sc(__NR_setpgid, 0, 0);
    int pgrp = (int)sc(__NR_getpid);
    sc(__NR_ioctl, 0, TIOCSPGRP, &pgrp);
  }
  unsigned long empty = 0;
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &empty, 0, sizeof empty);
  c->err = ExecStep(*c->exec, nullptr, c->stub, c->report, -1);
  return 127;
}

// Each syscall the loop relies on, tried once where it is harmless; 0 or the first -errno.
long Probe(int* sysid) {
  *sysid = SYS_WAIT4;  // no child yet: ECHILD
  long r = sc(__NR_wait4, -1, 0, WNOHANG | __WALL, 0);
  if (r < 0 && r != -ECHILD) return r;
  *sysid = SYS_KILL;
  r = sc(__NR_kill, sc(__NR_getpid), 0);
  if (r < 0) return r;
  *sysid = SYS_RT_SIGTIMEDWAIT;  // an empty set and no wait: EAGAIN, nothing dequeued
  unsigned long none = 0;
  struct timespec zero = {0, 0};
  r = sc(__NR_rt_sigtimedwait, &none, 0, &zero, sizeof none);
  return r < 0 && r != -EAGAIN ? r : 0;
}

void CloseAll() {
  if (sc(__NR_close_range, 0, ~0U, 0) != -ENOSYS) return;
  struct {
    unsigned long long cur, max;
  } lim = {1024, 1024};
  sc(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &lim);
  for (unsigned long long fd = 0; fd < lim.cur && fd < (1u << 20); fd++) sc(__NR_close, fd);
}

// The init's copy of Node's memory, given up once the command has exec'd (nothing of the plan
// is read after that): everything but its stack and the addon's image (the loop's code and
// constants) is unmapped. Node's pages are its own again, so its next write to each is no
// longer a fault that copies the page (while the init holds a copy, every page Node writes
// first is one, and the old page stays pinned: docs/performance.md), the init's exit
// has nothing of Node's to tear down, and nothing Node held in memory stays in a process that
// lives inside the sandbox. First the rseq(2) registration inherited from the cloning thread
// goes (the kernel would write into that thread's TLS, which goes too: SIGSEGV); if it is not
// the one spawn.cc found, nothing is unmapped. RunInit copies `k` to the stack first: `ctx`
// lives in memory this unmaps. Only when the plan asked (OP_INIT's dropCopy: no seccomp
// profile that may kill the init for munmap or rseq); a refusal leaves that part mapped.
void DropCopy(const InitKeep& k) {
  const unsigned long k0 = k.keep[0], k1 = k.keep[1], k2 = k.keep[2], k3 = k.keep[3];
  const unsigned long rseqAddr = k.rseq_addr;
  const unsigned rseqLen = k.rseq_len, rseqSig = k.rseq_sig;
  if (k1 <= k0 || k3 <= k2 || (k0 < k3 && k2 < k1)) return;  // not two disjoint ranges
  // glibc registers 32 bytes before 2.40 and may register more after: the length it says, else 32.
  if (rseqAddr != 0 && sc(__NR_rseq, rseqAddr, 32, 1 /* RSEQ_FLAG_UNREGISTER */, rseqSig) != 0 &&
      (rseqLen == 32 || sc(__NR_rseq, rseqAddr, rseqLen, 1, rseqSig) != 0))
    return;
  const unsigned long lo0 = k0 < k2 ? k0 : k2, hi0 = k0 < k2 ? k1 : k3;
  const unsigned long lo1 = k0 < k2 ? k2 : k0, hi1 = k0 < k2 ? k3 : k1;
  sc(__NR_munmap, 0, lo0);
  if (lo1 > hi0) sc(__NR_munmap, hi0, lo1 - hi0);
  // Up to the top of the address space: the largest end the kernel takes (munmap refuses a
  // range past TASK_SIZE with EINVAL; x86-64 with 5 or 4 levels of page tables, arm64's sizes).
  static const unsigned long kTops[] = {(1UL << 56) - 4096, 1UL << 52, 1UL << 48,
                                        (1UL << 47) - 4096, 1UL << 42, 1UL << 39};
  for (unsigned long top : kTops)
    if (top > hi1 && sc(__NR_munmap, hi1, top - hi1) != -EINVAL) break;
}

// The command of an exec'd init, cloned with CLONE_VM and without CLONE_VFORK: it waits until
// the init (the process that cloned it, which meanwhile execs the init image) has made itself
// non-dumpable and says so on their socket; an EOF there (the exec or the init failed, and
// that failure is reported) ends it unexec'd. Its end of the socket is CLOEXEC: the init reads
// EOF once the command has exec'd, or the errno of its failed execve, which it reports as the
// exec step's failure (the status socket takes only our pid's messages).
struct ExecInitCommand {
  const Step* exec;
  int tty;
  int own, theirs;  // the socket's two ends: the command's, the init's
  int stub;         // the image's memfd, for the exec stub when the step asks (child.cc ExecStep)
};

int ExecInitCommandMain(void* arg) {
  // Copied to our own stack: the original is in the init's frame, which its exec leaves.
  const ExecInitCommand mine = *static_cast<ExecInitCommand*>(arg);
  const ExecInitCommand* c = &mine;
  sc(__NR_close, c->theirs);
  char go = 0;
  long r;
  do {
    r = sc(__NR_read, c->own, &go, 1);
  } while (r == -EINTR);
  if (r != 1) sc(__NR_exit_group, 127);
  // Through the exec stub, a failed execve comes back on our socket from it, as below.
  Command cmd = {c->exec, 0, c->tty, c->stub, c->own};
  CommandMain(&cmd);  // returns only if execve failed
  int32_t err = (int32_t)-cmd.err;
  sc(__NR_write, c->own, &err, sizeof err);
  for (;;) sc(__NR_exit_group, 127);
}

// OP_INIT with an init image (ctx->init_fd, init_image.cc): we share Node's memory (CLONE_VM)
// and so must not make ourselves non-dumpable (the flag is the mm's: Node's). The command is
// cloned first, sharing it too, and waits on a socketpair; we then execveat(2) the image, which
// leaves Node's mm for one of a few pages of our own, keeping that socket's end and the status
// socket. The image makes itself non-dumpable, lets the command exec, learns how that went,
// reports a failure on the status socket, else closes every fd and runs the same loop as a
// forked init. spawn sees EOF on the status socket once both copies are closed (the
// command's at its exec), and only then reuses the stack and the plan.
// Every signal is blocked and the loop's syscalls probed (RunInit) when this runs.
long RunExecInit(ChildCtx* ctx, const Step& exec, int* sysid) {
  int sv[2];
  *sysid = SYS_SOCKETPAIR;
  long r = sc(__NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  if (r < 0) return r;
  ExecInitCommand c = {&exec, ctx->tty, sv[1], sv[0], ctx->init_fd};
  *sysid = SYS_CLONE;
  long pid = nsbox_clone(CLONE_VM | SIGCHLD, ctx->helper_stack, ExecInitCommandMain, &c);
  sc(__NR_close, sv[1]);
  if (pid < 0) {
    sc(__NR_close, sv[0]);
    return pid;
  }
  // Our two fds survive the exec (the command's copies are its own: no CLONE_FILES).
  *sysid = SYS_FCNTL;
  r = sc(__NR_fcntl, sv[0], F_SETFD, 0);
  if (r == 0) r = sc(__NR_fcntl, ctx->sock, F_SETFD, 0);
  if (r == 0) {
    char cmdArg[21], syncArg[21], sockArg[21], stepArg[21];
    cmdArg[Digits(pid, cmdArg)] = 0;
    syncArg[Digits(sv[0], syncArg)] = 0;
    sockArg[Digits(ctx->sock, sockArg)] = 0;
    stepArg[Digits(&exec - ctx->steps, stepArg)] = 0;
    char name[] = "nsbox-init";
    char* argv[] = {name, cmdArg, syncArg, sockArg, stepArg, nullptr};
    char* envp[] = {nullptr};
    *sysid = SYS_EXECVEAT;
    r = sc(__NR_execveat, ctx->init_fd, "", argv, envp, AT_EMPTY_PATH);
  }
  // The exec failed: the command reads EOF and exits unexec'd; the namespace's teardown
  // reaps it when we exit with this failure (reported on the status socket, still ours).
  sc(__NR_close, sv[0]);
  return r;
}

}  // namespace

long RunInit(ChildCtx* ctx, const Step& exec, bool dropCopy, int* sysid, bool* execFailed) {
  *execFailed = false;
  // Blocked signals are queued even for a PID 1 without handlers (sig_ignored() looks at the
  // mask first): none is lost between here and the loop. SIGKILL from the parent's
  // namespace (and the PDEATHSIG of OP_PDEATHSIG) still ends us, and with us the namespace.
  unsigned long all = kAllSignals;
  *sysid = SYS_RT_SIGPROCMASK;
  long r = sc(__NR_rt_sigprocmask, SIG_SETMASK, &all, 0, sizeof all);
  if (r < 0) return r;
  // Sharing Node's mm (the init image), the flag is Node's: the image sets it on its own.
  if (!ctx->exec_init) {
    *sysid = SYS_PRCTL;
    r = sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (r < 0) return r;
  }
  r = Probe(sysid);
  if (r < 0) return r;
  if (ctx->exec_init) return RunExecInit(ctx, exec, sysid);
  // What ps(1) and /proc/1/comm show inside (a copy of Node's thread name otherwise).
  sc(__NR_prctl, PR_SET_NAME, "nsbox-init", 0, 0, 0);

  // The command runs on the bottom of our stack (OP_LOCK's helper area, above the guard page),
  // which our frames at the top never reach; we sleep until it has exec'd or exited.
  // Through the exec stub (a plan that asks, with the image's memfd), a failed execve is the
  // command's exit status 127: the stub has no way back to us once vfork has let us go.
  Command cmd = {&exec, 0, ctx->tty, ctx->init_fd, -1};
  *sysid = SYS_CLONE;
  long pid = nsbox_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, ctx->helper_stack, CommandMain, &cmd);
  if (pid < 0) return pid;
  if (cmd.err < 0) {
    // The command has exited 127; the namespace's teardown reaps it when we exit.
    *execFailed = true;
    *sysid = SYS_STEP;
    return cmd.err;
  }
  // Copied to our stack: ctx lives in memory DropCopy unmaps.
  const InitKeep keep = ctx->init_keep;
  CloseAll();
  if (dropCopy) DropCopy(keep);
  InitLoop(pid);
}

}  // namespace nsbox
