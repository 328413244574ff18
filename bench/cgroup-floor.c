// bench/cgroup-floor.c — the C floor of one cgroup v2 cycle, for bench/cgroup.mjs:
//   mkdir the cgroup; one write(2) per limit; clone3(CLONE_INTO_CGROUP) of /bin/true;
//   waitid; write cgroup.kill; rmdir.
// Usage: cgroup-floor PARENT_DIR N FILE=VALUE...   Prints one line of JSON with the sample
// times in ms (each cycle timed with CLOCK_MONOTONIC).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
  fprintf(stderr, "cgroup-floor: %s %s: %s\n", what, path ? path : "", strerror(errno));
  exit(1);
}

static void put(const char *dir, const char *file, const char *value) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open", path);
  if (write(fd, value, strlen(value)) < 0) die("write", path);
  close(fd);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: cgroup-floor PARENT_DIR N FILE=VALUE...\n");
    return 2;
  }
  const char *parent = argv[1];
  int n = atoi(argv[2]);
  char *const child_argv[] = {"/bin/true", NULL};
  char *const child_env[] = {NULL};
  printf("[");
  for (int i = 0; i < n; i++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/floor-%d-%d", parent, (int)getpid(), i);
    double t0 = now_ms();
    if (mkdir(dir, 0755) < 0) die("mkdir", dir);
    for (int a = 3; a < argc; a++) {
      char spec[512];
      snprintf(spec, sizeof spec, "%s", argv[a]);
      char *eq = strchr(spec, '=');
      if (!eq) die("bad FILE=VALUE", argv[a]);
      *eq = 0;
      put(dir, spec, eq + 1);
    }
    int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0) die("open", dir);
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_INTO_CGROUP;
    ca.exit_signal = SIGCHLD;
    ca.cgroup = (uint64_t)cgfd;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid < 0) die("clone3", dir);
    if (pid == 0) {
      execve(child_argv[0], child_argv, child_env);
      _exit(127);
    }
    close(cgfd);
    int status;
    if (waitpid((pid_t)pid, &status, 0) < 0) die("waitpid", NULL);
    put(dir, "cgroup.kill", "1");
    if (rmdir(dir) < 0) die("rmdir", dir);
    double t1 = now_ms();
    printf("%s%.4f", i ? "," : "", t1 - t0);
  }
  printf("]\n");
  return 0;
}
