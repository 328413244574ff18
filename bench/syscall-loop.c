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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv) {
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
