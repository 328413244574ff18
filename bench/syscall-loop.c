// bench/syscall-loop.c — ns per syscall under whatever seccomp filter the caller loaded.
//
// Built by bench/security.mjs with `gcc -O2 -static` and copied into the bench rootfs, so it
// runs unchanged under nsbox spawn and under crun. Each named test makes ITERS raw syscalls
// (inline `syscall`, no libc wrapper, no errno) between two clock_gettime(CLOCK_MONOTONIC)
// calls (vDSO), after ITERS/100 warm-up calls, and prints one line:
//   <test> <nr> <ns per call> <return value of the last call>
// The return value shows what the filter did (0/ppid = allowed, -1 EPERM, -38 ENOSYS, …).
//
// Tests (x86_64 numbers):
//   getppid      110  allowed by every profile without conditions
//   getrandom    318  allowed without conditions, a late number (1 byte, GRND_NONBLOCK)
//   personality  135  personality(0xffffffff) (a query): allowed by an argument rule, so
//                     the filter's argument chain runs (the kernel cannot cache it)
//   ioctl         16  ioctl(-1, FIONREAD): EBADF; nsbox's TIOCSTI rules look at its argument
//   enosys       400  an unassigned number: the filter's default path (ENOSYS), never cached
//                     (335, also unassigned, raises SIGILL on this VM's kernel)
// A first line `filters <n>` gives /proc/self/status's Seccomp_filters (-1 without /proc).
//
// Usage: syscall-loop ITERS [TEST…]   (no TEST: all of them)
//
// Load mode, the kernel's share of a spawn's seccomp cost:
//   syscall-loop --load FILE ROUNDS
// FILE holds a struct sock_filter[] (compileSeccomp's `program`). Each round, alternately,
// forks a child that sets no_new_privs and then either loads FILE with seccomp(2) or not,
// and _exits; it prints the medians, in µs, of fork → waitpid for both, and of the
// seccomp(2) call alone (timed in the child, sent back over a pipe).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static inline long sc3(long n, long a, long b, long c) {
  long r;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return r;
}

static char rnd[1];
static int fionread;

static long call(int t) {
  switch (t) {
  case 0: return sc3(110, 0, 0, 0);
  case 1: return sc3(318, (long)rnd, 1, 1 /* GRND_NONBLOCK */);
  case 2: return sc3(135, 0xffffffffL, 0, 0);
  case 3: return sc3(16, -1, 0x541B /* FIONREAD */, (long)&fionread);
  default: return sc3(400, 0, 0, 0);
  }
}

static const struct { const char *name; int nr; } TESTS[] = {
  {"getppid", 110}, {"getrandom", 318}, {"personality", 135}, {"ioctl", 16}, {"enosys", 400},
};
#define NTESTS (int)(sizeof TESTS / sizeof TESTS[0])

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void run(int t, long iters) {
  long r = 0;
  for (long i = 0; i < iters / 100 + 1; i++) r = call(t);
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) r = call(t);
  double t1 = now_ns();
  printf("%s %d %.2f %ld\n", TESTS[t].name, TESTS[t].nr, (t1 - t0) / iters, r);
}

static int seccomp_filters(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Seccomp_filters:", 16) == 0) n = atoi(line + 16);
  fclose(f);
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One child: no_new_privs, the filter if `prog`, _exit. Returns fork → reaped in ns and
// stores the seccomp(2) call's ns in *load.
static double one_child(const struct sock_fprog *prog, double *load) {
  int p[2];
  if (pipe(p) != 0) exit(1);
  double t0 = now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    double l = 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
    if (prog) {
      double a = now_ns();
      if (sc3(317 /* seccomp */, SECCOMP_SET_MODE_FILTER, 0, (long)prog) != 0) _exit(4);
      l = now_ns() - a;
    }
    if (write(p[1], &l, sizeof l) != sizeof l) _exit(5);
    _exit(0);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) exit(1);
  double t = now_ns() - t0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || read(p[0], load, sizeof *load) != sizeof *load) {
    fprintf(stderr, "load child failed (status %d)\n", st);
    exit(1);
  }
  close(p[0]);
  close(p[1]);
  return t;
}

static int load_mode(const char *file, int rounds) {
  static struct sock_filter insns[4096];
  FILE *f = fopen(file, "rb");
  if (!f) return perror(file), 1;
  size_t n = fread(insns, sizeof insns[0], 4096, f);
  fclose(f);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  double *with = calloc(rounds, sizeof(double)), *without = calloc(rounds, sizeof(double)), *load = calloc(rounds, sizeof(double));
  double none;
  for (int r = 0; r < rounds + 5; r++) {
    double w, wo, l;
    if (r % 2) {
      w = one_child(&prog, &l);
      wo = one_child(NULL, &none);
    } else {
      wo = one_child(NULL, &none);
      w = one_child(&prog, &l);
    }
    if (r < 5) continue;  // warm-up
    with[r - 5] = w;
    without[r - 5] = wo;
    load[r - 5] = l;
  }
  printf("insns %zu fork_exit_us %.2f fork_load_exit_us %.2f seccomp_call_us %.2f\n", n, median(without, rounds) / 1e3, median(with, rounds) / 1e3, median(load, rounds) / 1e3);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--load") == 0) return load_mode(argv[2], atoi(argv[3]));
  if (argc < 2) {
    fprintf(stderr, "usage: %s ITERS [TEST...]\n", argv[0]);
    return 2;
  }
  long iters = strtol(argv[1], NULL, 10);
  if (iters <= 0) return 2;
  printf("filters %d\n", seccomp_filters());
  if (argc == 2) {
    for (int t = 0; t < NTESTS; t++) run(t, iters);
  } else {
    for (int a = 2; a < argc; a++) {
      int t = 0;
      while (t < NTESTS && strcmp(argv[a], TESTS[t].name) != 0) t++;
      if (t == NTESTS) {
        fprintf(stderr, "unknown test %s\n", argv[a]);
        return 2;
      }
      run(t, iters);
    }
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
