// floor.c — physical floor for "spawn an isolated process" on this kernel.
// (The team's reference program, kept here so the benchmarks need nothing outside the clone.)
//
// Build: gcc -O2 -Wall -o floor floor.c -lm
// Usage: floor <mode> <N> [exec-path]       (must run as root for most modes)
//
// Every iteration is timed with CLOCK_MONOTONIC from just before the
// fork/clone to just after waitpid() returned, i.e. the same span a caller
// observes. Output: one JSON object per run on stdout (µs).
//
// Modes:
//   fork            fork() + execve(path) + waitpid
//   vfork           vfork() + execve(path) + waitpid          (posix_spawn style)
//   clone:<flags>   clone(<flags>|SIGCHLD) + execve(path) + waitpid
//                   flags: comma list of user,pid,mnt,uts,ipc,net,cgroup  or "none"
//   unshare:<flag>  fork(); child times unshare(<flag>) alone and _exit()s.
//                   Reports the unshare() syscall time (sync part only) and, as
//                   "total", fork + unshare + exit + waitpid.
//   sandbox         bwrap-equivalent floor: clone(user,pid,mnt,uts,ipc,net),
//                   parent writes uid_map/gid_map, child makes / private,
//                   bind-mounts ROOTFS, pivot_root, mounts /proc, execve(/bin/true)
//                   inside the rootfs (static busybox), waitpid.
//   sandbox-nouser  same, without CLONE_NEWUSER (root only), no id maps.
//   sandbox-nonet   same as sandbox, without CLONE_NEWNET.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ROOTFS
#define ROOTFS "/tmp/peerbench/rootfs"
#endif

static const char *exec_path = "/bin/true";
static char *const child_argv[] = {"true", NULL};
static char *const child_envp[] = {"PATH=/bin", NULL};

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int parse_flags(const char *s) {
  if (strcmp(s, "none") == 0) return 0;
  int f = 0;
  char *dup = strdup(s), *save = NULL;
  for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (!strcmp(t, "user")) f |= CLONE_NEWUSER;
    else if (!strcmp(t, "pid")) f |= CLONE_NEWPID;
    else if (!strcmp(t, "mnt")) f |= CLONE_NEWNS;
    else if (!strcmp(t, "uts")) f |= CLONE_NEWUTS;
    else if (!strcmp(t, "ipc")) f |= CLONE_NEWIPC;
    else if (!strcmp(t, "net")) f |= CLONE_NEWNET;
    else if (!strcmp(t, "cgroup")) f |= CLONE_NEWCGROUP;
    else { fprintf(stderr, "unknown flag %s\n", t); exit(2); }
  }
  free(dup);
  return f;
}

// raw clone(2) without a new stack: behaves like fork() with extra flags.
static pid_t raw_clone(int flags) {
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

static int wait_ok(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) < 0) die("waitpid");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "floor: child status 0x%x\n", st);
    return -1;
  }
  return 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *mode, const char *metric, double *v, int n) {
  double sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  qsort(v, n, sizeof *v, cmp_d);
  double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  double var = 0, mean = sum / n;
  for (int i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
  printf("{\"tool\":\"floor\",\"mode\":\"%s\",\"metric\":\"%s\",\"exec\":\"%s\",\"n\":%d,"
         "\"mean_us\":%.1f,\"median_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f,"
         "\"p95_us\":%.1f,\"stddev_us\":%.1f}\n",
         mode, metric, exec_path, n, mean, med, v[0], v[n - 1], v[(int)(n * 0.95)],
         n > 1 ? __builtin_sqrt(var / (n - 1)) : 0.0);
  fflush(stdout);
}

static int write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t r = write(fd, s, strlen(s));
  close(fd);
  return r == (ssize_t)strlen(s) ? 0 : -1;
}

// ---- sandbox child ------------------------------------------------------
static int sandbox_child(int syncfd) {
  char c;
  if (syncfd >= 0 && read(syncfd, &c, 1) != 1) _exit(10);  // wait for id maps
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) _exit(11);
  if (mount(ROOTFS, ROOTFS, NULL, MS_BIND | MS_REC, NULL) < 0) _exit(12);
  // proc must be mounted while the old root (with a fully visible /proc) is
  // still attached, otherwise a user-ns mount of proc is refused (EPERM).
  if (mount("proc", ROOTFS "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) _exit(17);
  if (chdir(ROOTFS) < 0) _exit(13);
  if (syscall(SYS_pivot_root, ".", ".") < 0) _exit(14);
  if (umount2(".", MNT_DETACH) < 0) _exit(15);
  if (chdir("/") < 0) _exit(16);
  execve("/bin/true", child_argv, child_envp);
  _exit(127);
}

static double sandbox_once(int userns, int netns) {
  int p[2] = {-1, -1};
  if (userns && pipe2(p, O_CLOEXEC) < 0) die("pipe");
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (userns) flags |= CLONE_NEWUSER;
  if (netns) flags |= CLONE_NEWNET;
  double t0 = now_us();
  pid_t pid = raw_clone(flags);
  if (pid < 0) die("clone");
  if (pid == 0) {
    if (userns) close(p[1]);
    sandbox_child(userns ? p[0] : -1);
  }
  if (userns) {
    char path[64];
    close(p[0]);
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    if (write_file(path, "0 0 1") < 0) die("uid_map");
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    if (write_file(path, "0 0 1") < 0) die("gid_map");
    if (write(p[1], "x", 1) != 1) die("sync");
    close(p[1]);
  }
  if (wait_ok(pid) < 0) exit(3);
  return now_us() - t0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <mode> <N> [exec-path]\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  int n = atoi(argv[2]);
  if (argc > 3) exec_path = argv[3];
  int warm = n / 10 < 3 ? 3 : n / 10;
  double *v = calloc(n, sizeof *v), *tot = calloc(n, sizeof *tot);

  if (!strcmp(mode, "fork") || !strcmp(mode, "vfork") || !strncmp(mode, "clone:", 6)) {
    int kind = !strcmp(mode, "fork") ? 0 : !strcmp(mode, "vfork") ? 1 : 2;
    int flags = kind == 2 ? parse_flags(mode + 6) : 0;
    for (int i = -warm; i < n; i++) {
      double t0 = now_us();
      pid_t pid = kind == 0 ? fork() : kind == 1 ? vfork() : raw_clone(flags);
      if (pid < 0) die("fork/clone");
      if (pid == 0) {
        execve(exec_path, child_argv, child_envp);
        _exit(127);
      }
      if (wait_ok(pid) < 0) return 3;
      if (i >= 0) v[i] = now_us() - t0;
    }
    report(mode, "spawn+exec+wait", v, n);
  } else if (!strncmp(mode, "unshare:", 8)) {
    int flag = parse_flags(mode + 8);
    double *shm = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) die("mmap");
    for (int i = -warm; i < n; i++) {
      double t0 = now_us();
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) {
        double a = now_us();
        if (unshare(flag) < 0) _exit(20);
        *shm = now_us() - a;
        _exit(0);
      }
      if (wait_ok(pid) < 0) return 3;
      double t = now_us() - t0;
      if (i >= 0) { v[i] = *shm; tot[i] = t; }
    }
    report(mode, "unshare-syscall", v, n);
    report(mode, "fork+unshare+exit+wait", tot, n);
  } else if (!strncmp(mode, "sandbox", 7)) {
    int userns = strcmp(mode, "sandbox-nouser") != 0;
    int netns = strcmp(mode, "sandbox-nonet") != 0;
    if (strcmp(mode, "sandbox") && strcmp(mode, "sandbox-nouser") && strcmp(mode, "sandbox-nonet")) {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
    exec_path = ROOTFS "/bin/true";
    for (int i = -warm; i < n; i++) {
      double t = sandbox_once(userns, netns);
      if (i >= 0) v[i] = t;
    }
    report(mode, "clone+maps+pivot_root+proc+exec+wait", v, n);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
