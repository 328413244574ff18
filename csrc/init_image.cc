// The init as a program of its own. Everything the init runs once the command has exec'd
// lives in one section, `nsbox_init_text`: position-independent code that reaches nothing
// outside the section (no libc, no data, no constants in .rodata: every syscall inlined,
// every constant an immediate; test/unit/native-child.test.ts checks the object's relocations).
// So the same bytes run in two places:
//   - in place, in the addon, for an init that is a copy-on-write fork of Node (child_init.cc
//     RunInit, the path kept where the exec'd init does not apply);
//   - copied behind a 256-byte ELF header into a sealed memfd (init_memfd.cc), which the
//     child executes with execveat(2) (child_init.cc RunExecInit): the init then has an mm
//     of its own of a few pages instead of a copy of Node's page tables, and spawn can share
//     Node's memory until the exec (CLONE_VM) as a spawn without an init does.
// runc executes a sealed memfd copy of its own binary for the same reason its init must not
// be a file of the host (CVE-2019-5736); this one is smaller than a page.
#include "init_image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "plan.h"

#define NSBOX_INIT_SECTION __attribute__((section("nsbox_init_text"), noinline))
#define NSBOX_INIT_INLINE static inline __attribute__((always_inline))

namespace nsbox {
namespace {

// A syscall, always inlined: no call may leave the section.
NSBOX_INIT_INLINE long Sys(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#else
#error "nsbox supports x86_64 and aarch64"
#endif
}

[[noreturn]] NSBOX_INIT_INLINE void ExitNow(long code) {
  for (;;) Sys(__NR_exit_group, code);
}

NSBOX_INIT_INLINE long StatusOf(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

// Reaps every zombie there is; exits with the command's status once it is among them.
NSBOX_INIT_INLINE void Reap(long cmd) {
  for (;;) {
    int st = 0;
    long w = Sys(__NR_wait4, -1, (long)&st, WNOHANG | __WALL, 0);
    if (w == -EINTR) continue;
    if (w <= 0) return;
    if (w == cmd) ExitNow(StatusOf(st));
  }
}

// A decimal argument (the exec'd init's argv); -1 if it is not one.
NSBOX_INIT_INLINE long ParseDec(const char* s) {
  long v = 0;
  if (s == nullptr || *s == 0) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (1L << 40)) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

}  // namespace

NSBOX_INIT_SECTION void InitLoop(long cmd) {
  unsigned long set = ~0UL;  // every signal: the kernel's sigset_t for rt_sig* is one word
  for (;;) {
    // siginfo_t is 128 bytes on every Linux ABI; nothing in it is needed.
    long info[16];
    long sig = Sys(__NR_rt_sigtimedwait, (long)&set, (long)info, 0, sizeof set);
    if (sig == -EINTR || sig == -EAGAIN) continue;
    if (sig < 0) {
      // Cannot happen after the probe; should it, the init still reaps, blocking.
      int st = 0;
      long w = Sys(__NR_wait4, -1, (long)&st, __WALL, 0);
      if (w == cmd) ExitNow(StatusOf(st));
      if (w == -ECHILD) ExitNow(255);
      continue;
    }
    if (sig != SIGCHLD) {
      // To the command's process group when it made one of its own (a shell with job
      // control, setsid), as a terminal would send it, else to the command alone.
      long pgid = Sys(__NR_getpgid, cmd);
      Sys(__NR_kill, pgid == cmd ? -cmd : cmd, sig);
    }
    Reap(cmd);
  }
}

namespace {

// Writes the outcome of a failed execve (`err`, positive) where the exec stub was told to:
// the MSG_ERROR of exec step `step` (plan.h Msg) on the status socket, or with `step` -1 the
// four bytes an exec'd init reads from its command's socket.
NSBOX_INIT_INLINE void ReportExecError(long fd, long step, int err) {
  volatile int32_t msg[4];  // plan.h Msg
  msg[0] = MSG_ERROR;
  msg[1] = (int32_t)step;
  msg[2] = err;
  msg[3] = SYS_STEP;
  long r;
  do {
    // write(2): one record of the SOCK_SEQPACKET status socket, or four bytes of the stream.
    r = step >= 0 ? Sys(__NR_write, fd, (long)msg, sizeof msg, 0)
                  : Sys(__NR_write, fd, (long)&msg[2], sizeof(int32_t), 0);
  } while (r == -EINTR);
}

// The exec stub (child.cc ExecStep): argv is "nsbox-exec", the report fd ("-": none), the
// exec step's index ("r": the raw errno for an exec'd init), the file, "1" to search PATH,
// the PATH, then the command's own argv; envp is the command's. Makes the command's execve
// (with execvp(3)'s search when asked: every PATH entry, EACCES remembered, the other errors
// of a missing entry passed over) from this sealed memfd, so no /proc/self/exe of a process
// in the sandbox is ever Node's binary; on failure reports the errno and exits 127.
[[noreturn]] NSBOX_INIT_INLINE void ExecMain(long argc, char** argv) {
  char** envp = argv + argc + 1;
  if (argc < 6) ExitNow(127);
  long report = argv[1][0] == '-' ? -1 : ParseDec(argv[1]);
  long step = ParseDec(argv[2]);
  const char* file = argv[3];
  char** cargv = argv + 6;
  if (report >= 0) Sys(__NR_fcntl, report, F_SETFD, FD_CLOEXEC);
  long err;
  if (argv[4][0] != '1') {
    err = Sys(__NR_execve, (long)file, (long)cargv, (long)envp);
  } else {
    const char* path = argv[5];
    long flen = 0;
    while (file[flen]) flen++;
    char buf[4096];
    err = -ENOENT;
    bool eacces = false;
    for (const char* p = path;; p++) {
      const char* start = p;
      while (*p && *p != ':') p++;
      long dlen = (long)(p - start);
      if (dlen + 1 + flen + 1 <= (long)sizeof buf) {
        long k = 0;
        if (dlen == 0) buf[k++] = '.';  // an empty PATH entry is the current directory
        for (long i = 0; i < dlen; i++) buf[k++] = start[i];
        buf[k++] = '/';
        for (long i = 0; i < flen; i++) buf[k++] = file[i];
        buf[k] = 0;
        err = Sys(__NR_execve, (long)buf, (long)cargv, (long)envp);
        if (err == -EACCES)
          eacces = true;
        else if (err != -ENOENT && err != -ENOTDIR && err != -ESTALE && err != -ENAMETOOLONG)
          break;
      }
      if (!*p) break;
    }
    if (eacces && (err == -ENOENT || err == -ENOTDIR || err == -ESTALE || err == -ENAMETOOLONG))
      err = -EACCES;
  }
  if (report >= 0) ReportExecError(report, step, (int)-err);
  ExitNow(127);
}

// The exec'd init's C entry (nsbox_init_entry below passes the initial stack pointer): argc,
// then argv: the command's pid, our end of the socket the command waits on, the status
// socket, the exec step's index. Every signal is still blocked (the mask survives execve),
// so none is lost. argv[0] "nsbox-exec": the exec stub instead (ExecMain).
[[noreturn]] NSBOX_INIT_SECTION __attribute__((used)) void InitMain(long* sp) __asm__("nsbox_init_main");
void InitMain(long* sp) {
  long argc = sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  const char* a0 = argc > 0 ? argv[0] : nullptr;
  if (a0 != nullptr && a0[0] == 'n' && a0[1] == 's' && a0[2] == 'b' && a0[3] == 'o' && a0[4] == 'x' &&
      a0[5] == '-' && a0[6] == 'e' && a0[7] == 'x' && a0[8] == 'e' && a0[9] == 'c' && a0[10] == 0)
    ExecMain(argc, argv);
  long cmd = argc >= 5 ? ParseDec(argv[1]) : -1;
  long sync = argc >= 5 ? ParseDec(argv[2]) : -1;
  long status = argc >= 5 ? ParseDec(argv[3]) : -1;
  long step = argc >= 5 ? ParseDec(argv[4]) : -1;
  if (cmd <= 0 || sync < 0 || status < 0 || step < 0) ExitNow(127);
  // Before the command may run: nothing in the box may ptrace or read us (ptrace_may_access()
  // then needs CAP_SYS_PTRACE over our mm's user namespace, which spawn made sure the command
  // cannot hold). Refused, the command never runs: it exits 127 on the socket's EOF.
  if (Sys(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0) != 0) ExitNow(127);
  // What ps(1) and /proc/1/comm show inside: "nsbox-init". Volatile: two stores of
  // immediates, never a vector load of a constant from .rodata.
  volatile unsigned long name[2];
  name[0] = 0x6e692d786f62736eUL;
  name[1] = 0x7469UL;
  Sys(__NR_prctl, PR_SET_NAME, (long)name, 0, 0);
  char one = 1;
  long r;
  do {
    r = Sys(__NR_write, sync, (long)&one, 1, 0);
  } while (r == -EINTR);
  if (r != 1) ExitNow(127);
  // EOF: the command has exec'd (its end is CLOEXEC) or died; four bytes: its execve's errno,
  // reported as the exec step's failure, as a forked init does.
  int err = 0;
  long got = 0;
  do {
    r = Sys(__NR_read, sync, (long)&err + got, (long)sizeof err - got, 0);
    if (r > 0) got += r;
  } while ((r == -EINTR) || (r > 0 && got < (long)sizeof err));
  if (got == (long)sizeof err) {
    // (a SIGPIPE would stay blocked)
    ReportExecError(status, step, err);
    ExitNow(127);
  }
  // Every fd closed: the socket, the status socket, the command's stdio (its pipes end with
  // the command).
  if (Sys(__NR_close_range, 0, ~0U, 0, 0) == -ENOSYS)
    for (long fd = 0; fd < 1024; fd++) Sys(__NR_close, fd);
  InitLoop(cmd);
}

}  // namespace

// The exec'd init's entry point: the initial stack pointer to InitMain, a frame chain that ends.
#if defined(__x86_64__)
__asm__(
    ".pushsection nsbox_init_text,\"ax\",@progbits\n"
    ".globl nsbox_init_entry\n"
    ".hidden nsbox_init_entry\n"
    ".type nsbox_init_entry,@function\n"
    "nsbox_init_entry:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call nsbox_init_main\n"
    "  hlt\n"
    ".size nsbox_init_entry, .-nsbox_init_entry\n"
    ".popsection\n");
#elif defined(__aarch64__)
__asm__(
    ".pushsection nsbox_init_text,\"ax\",%progbits\n"
    ".globl nsbox_init_entry\n"
    ".hidden nsbox_init_entry\n"
    ".type nsbox_init_entry,%function\n"
    "nsbox_init_entry:\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, sp\n"
    "  bl nsbox_init_main\n"
    "  brk #0\n"
    ".size nsbox_init_entry, .-nsbox_init_entry\n"
    ".popsection\n");
#endif

}  // namespace nsbox
