// container-floor.c — what nsbox's container start costs when written directly in C.
//
// The same steps as nsbox's spawn plan for `spawn(cmd, { namespaces: [user, pid, mnt, uts,
// ipc, net], rootfs })` (src/fs/container.ts, csrc/child_fs.cc), with plain mount(2) calls on
// paths instead of nsbox's openat2(RESOLVE_IN_ROOT)-confined targets, and no plan
// interpreter, signal reset or fd placement. Same layout as nsbox (and bwrap): a tmpfs base
// becomes the root first with the host's root at /oldroot, the container root is assembled
// at /newroot, then pivot_root(".", ".") + lazy unmount of the old root.
//
//   clone(user|pid|mnt|uts|ipc|net|SIGCHLD)      fork-like raw clone, no new stack
//   parent: uid_map "0 <euid> 1", gid_map "0 <egid> 1" (setgroups "deny" when not root),
//           then releases the child over a pipe
//   child:  / rprivate; tmpfs on /tmp; pivot_root to it (old root -> /oldroot)
//           root: bind /oldroot/ROOTFS -> /newroot (rec)  |  overlay of the layers with a
//                 tmpfs upper (mode overlay*)
//           defaults (modes full, nomask, overlay):
//             /proc (proc), /sys (sysfs ro), /dev tmpfs + null zero full random urandom tty
//             bound from the host, /dev/{fd,stdin,stdout,stderr,ptmx} symlinks, /dev/pts
//             (devpts newinstance), /dev/shm (tmpfs), /dev/mqueue (mqueue),
//             masked paths (files: /dev/null bound over; dirs: empty ro tmpfs) and read-only
//             paths (bind onto itself + mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE)),
//             the lists being nsbox's MASKED_PATHS / READONLY_PATHS (missing ones skipped),
//             /etc/hostname, /etc/hosts, /etc/resolv.conf written on the base, bound in
//           pivot_root(".", ".") in /newroot, umount2(".", MNT_DETACH), chdir("/")
//           execve("/bin/true") of the rootfs (static busybox)
//   parent: waitpid
//
// Modes: full      all of the above (= nsbox defaults)
//        nomask    full without masked and read-only paths
//        minimal   base + bind + pivot + exec (= nsbox defaultMounts: false)
//        overlay   full, root = overlay of LAYER... (bottom first) with a tmpfs upper
//        pooled    full, but the network namespace is one made before the clock starts (as a
//                  pool hands one over; its making is not timed) and joined with setns(2).
//                  A namespace of the initial user namespace can only be joined by root there,
//                  so this is a template run's order: clone(pid|mnt|uts|ipc|SIGCHLD) as root,
//                  setns(net), the same mounts by real root, pivot_root, then unshare(user)
//                  and the maps written by the parent, then execve. As root only.
//
// Build: gcc -O2 -Wall -o container-floor container-floor.c
// Usage: container-floor <mode> <N> <ROOTFS> [LAYER...]   one JSON line of statistics (µs)
//        container-floor --serve <ROOTFS> [LAYER...]        one iteration per stdin line
//                                                           naming a mode; replies the µs
//        container-floor --show <mode> <ROOTFS> [LAYER...]  runs cat /proc/self/mountinfo
//                                                           in the container instead of true
// Timing: CLOCK_MONOTONIC from just before clone to just after waitpid returned.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct attr {
  uint64_t set, clr, propagation, userns_fd;
};

enum { FULL, NOMASK, MINIMAL, OVERLAY, POOLED };
static const char *rootfs;
static char lowerdir[8192];  // overlay lowerdir=, top first, as /oldroot paths
static char *const argv_true[] = {"true", NULL};
static char *const argv_show[] = {"cat", "/proc/self/mountinfo", NULL};
static int show;  // --show: exec cat /proc/self/mountinfo instead of true (to check the steps)
static char *const envp[] = {"PATH=/bin", NULL};

static const char *const masked[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
static const int masked_dir[] = {1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1};
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define LEN(a) (sizeof a / sizeof *a)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Child failures exit with a code naming the step, so a broken setup is never timed as fast.
#define TRY(code, call) \
  do {                  \
    if ((call) < 0) _exit(code); \
  } while (0)

static void cat(char *buf, const char *a, const char *b) {
  snprintf(buf, 4096, "%s%s", a, b);
}

static int touch(const char *path) {  // an empty file as a bind target, if missing
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

static int write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t n = write(fd, s, strlen(s));
  close(fd);
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void defaults(int mode) {
  char p[4096], q[4096];
  const unsigned long nsne = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  TRY(20, mount("proc", "/newroot/proc", "proc", nsne, NULL));
  TRY(21, mount("sysfs", "/newroot/sys", "sysfs", nsne | MS_RDONLY, NULL));
  TRY(22, mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=65536k"));
  for (size_t i = 0; i < LEN(devices); i++) {
    cat(p, "/oldroot/dev/", devices[i]);
    cat(q, "/newroot/dev/", devices[i]);
    TRY(23, touch(q));
    TRY(24, mount(p, q, NULL, MS_BIND, NULL));
  }
  TRY(25, symlink("/proc/self/fd", "/newroot/dev/fd"));
  TRY(25, symlink("/proc/self/fd/0", "/newroot/dev/stdin"));
  TRY(25, symlink("/proc/self/fd/1", "/newroot/dev/stdout"));
  TRY(25, symlink("/proc/self/fd/2", "/newroot/dev/stderr"));
  TRY(25, symlink("pts/ptmx", "/newroot/dev/ptmx"));
  TRY(26, mkdir("/newroot/dev/pts", 0755));
  TRY(26, mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
  TRY(27, mkdir("/newroot/dev/shm", 0755));
  TRY(27, mount("shm", "/newroot/dev/shm", "tmpfs", nsne, "mode=1777,size=65536k"));
  TRY(28, mkdir("/newroot/dev/mqueue", 0755));
  TRY(28, mount("mqueue", "/newroot/dev/mqueue", "mqueue", nsne, NULL));
  if (mode != NOMASK) {
    for (size_t i = 0; i < LEN(masked); i++) {
      cat(p, "/newroot", masked[i]);
      int r = masked_dir[i] ? mount("tmpfs", p, "tmpfs", MS_RDONLY | nsne, "size=0")
                            : mount("/oldroot/dev/null", p, NULL, MS_BIND, NULL);
      if (r < 0 && errno != ENOENT) _exit(29);
    }
    struct attr ro = {MOUNT_ATTR_RDONLY, 0, 0, 0};
    for (size_t i = 0; i < LEN(readonly); i++) {
      cat(p, "/newroot", readonly[i]);
      if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) continue;
        _exit(30);
      }
      TRY(31, syscall(SYS_mount_setattr, AT_FDCWD, p, AT_RECURSIVE, &ro, sizeof ro));
    }
  }
  static const char *const etc[][2] = {
      {"hostname", "nsbox\n"},
      {"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tnsbox\n"},
      {"resolv.conf", "nameserver 127.0.0.53\n"}};
  for (size_t i = 0; i < LEN(etc); i++) {
    cat(p, "/.etc-", etc[i][0]);
    cat(q, "/newroot/etc/", etc[i][0]);
    TRY(32, write_file(p, etc[i][1]));
    if (touch(q) < 0 && errno != EROFS) _exit(33);
    TRY(34, mount(p, q, NULL, MS_BIND, NULL));
  }
}

static int pooled_ufd = -1;  // pooled: tells the parent the user namespace exists

static int child(int mode, int syncfd) {
  char c, p[4096];
  int pooled = mode == POOLED;
  if (pooled) mode = FULL;
  else {
    if (read(syncfd, &c, 1) != 1) _exit(10);  // the id maps are written
    close(syncfd);
  }
  TRY(11, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
  TRY(12, mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
  TRY(13, chdir("/tmp"));
  TRY(13, mkdir("newroot", 0755));
  TRY(13, mkdir("oldroot", 0755));
  TRY(14, syscall(SYS_pivot_root, ".", "oldroot"));
  TRY(14, chdir("/"));
  if (mode == OVERLAY) {
    TRY(15, mkdir("/overlay", 0755));
    TRY(15, mount("tmpfs", "/overlay", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
    TRY(15, mkdir("/overlay/upper", 0755));
    TRY(15, mkdir("/overlay/work", 0755));
    char data[8400];
    snprintf(data, sizeof data, "lowerdir=%s,upperdir=/overlay/upper,workdir=/overlay/work,userxattr", lowerdir);
    TRY(16, mount("overlay", "/newroot", "overlay", 0, data));
  } else {
    cat(p, "/oldroot", rootfs);
    TRY(16, mount(p, "/newroot", NULL, MS_BIND | MS_REC, NULL));
  }
  if (mode != MINIMAL) defaults(mode);
  TRY(40, chdir("/newroot"));
  TRY(41, syscall(SYS_pivot_root, ".", "."));
  TRY(42, umount2(".", MNT_DETACH));
  TRY(43, chdir("/"));
  if (pooled) {
    TRY(44, unshare(CLONE_NEWUSER));
    if (write(pooled_ufd, "u", 1) != 1) _exit(44);
    if (read(syncfd, &c, 1) != 1) _exit(10);  // the id maps are written
    close(syncfd);
  }
  if (show) execve("/bin/cat", argv_show, envp);
  execve("/bin/true", argv_true, envp);
  _exit(127);
}

static int write_to(pid_t pid, const char *file, const char *s) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  return write_file(path, s);
}

// One container start: clone → maps → (child runs) → waitpid. Returns µs, or -exit code.
// A network namespace made now, outside the timing (what a pool holds): unshare(2) and back.
static int make_netns(void) {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0 || unshare(CLONE_NEWNET) < 0) return -1;
  int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (setns(self, CLONE_NEWNET) < 0) _exit(99);
  close(self);
  return fd;
}

static double once(int mode) {
  int p[2], u[2] = {-1, -1}, net = -1;
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  if (mode == POOLED && ((net = make_netns()) < 0 || pipe2(u, O_CLOEXEC) < 0)) return -1;
  double t0 = now_us();
  long flags = mode == POOLED ? CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD
                              : CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                    CLONE_NEWNET | SIGCHLD;
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
  if (pid < 0) return -1;
  if (pid == 0) {
    close(p[1]);
    if (mode == POOLED) {
      TRY(8, setns(net, CLONE_NEWNET));
      pooled_ufd = u[1];
    }
    child(mode, p[0]);
  }
  close(p[0]);
  char map[64];
  int ok = 1;
  if (mode == POOLED) {  // the maps once the child has its user namespace
    char c;
    close(u[1]);
    ok &= read(u[0], &c, 1) == 1;
    close(u[0]);
  }
  if (geteuid() != 0) ok &= write_to(pid, "setgroups", "deny") == 0;
  snprintf(map, sizeof map, "0 %u 1", geteuid());
  ok &= write_to(pid, "uid_map", map) == 0;
  snprintf(map, sizeof map, "0 %u 1", getegid());
  ok &= write_to(pid, "gid_map", map) == 0;
  if (ok) ok = write(p[1], "x", 1) == 1;
  close(p[1]);
  int st;
  if (waitpid(pid, &st, 0) < 0) return -1;
  double t = now_us() - t0;
  if (net >= 0) close(net);
  if (!ok) return -2;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return t;
}

static int parse_mode(const char *s) {
  if (!strcmp(s, "full")) return FULL;
  if (!strcmp(s, "nomask")) return NOMASK;
  if (!strcmp(s, "minimal")) return MINIMAL;
  if (!strcmp(s, "overlay")) return lowerdir[0] ? OVERLAY : -1;
  if (!strcmp(s, "pooled")) return POOLED;
  return -1;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void setup(int argc, char **argv, int first) {
  rootfs = argv[first];
  // overlayfs wants lowerdir top first; layers are given bottom first (ROOTFS is the bottom).
  size_t n = 0;
  for (int i = argc - 1; i >= first && argc - first > 1; i--)
    n += snprintf(lowerdir + n, sizeof lowerdir - n, "%s/oldroot%s", n ? ":" : "", argv[i]);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--serve")) {
    setup(argc, argv, 2);
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
      line[strcspn(line, "\n")] = 0;
      int mode = parse_mode(line);
      printf("%.1f\n", mode < 0 ? -1.0 : once(mode));
    }
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s <full|nomask|minimal|overlay|pooled> <N> <ROOTFS> [LAYER...]\n"
                    "       %s --serve <ROOTFS> [LAYER...]\n", argv[0], argv[0]);
    return 2;
  }
  if (!strcmp(argv[1], "--show")) {
    show = 1;
    setup(argc, argv, 3);
    int mode = parse_mode(argv[2]);
    return mode < 0 || once(mode) < 0;
  }
  setup(argc, argv, 3);
  int mode = parse_mode(argv[1]), n = atoi(argv[2]);
  if (mode < 0 || n < 1) {
    fprintf(stderr, "container-floor: bad mode or N (overlay needs layers)\n");
    return 2;
  }
  double *v = calloc(n, sizeof *v), sum = 0;
  int warm = n / 10 < 3 ? 3 : n / 10;
  for (int i = -warm; i < n; i++) {
    double t = once(mode);
    if (t < 0) {
      fprintf(stderr, "container-floor: %s failed (code %.0f)\n", argv[1], -t);
      return 3;
    }
    if (i >= 0) v[i] = t, sum += t;
  }
  qsort(v, n, sizeof *v, cmp);
  double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  printf("{\"tool\":\"container-floor\",\"mode\":\"%s\",\"metric\":\"clone+maps+mounts+pivot_root+exec+wait\","
         "\"n\":%d,\"mean_us\":%.1f,\"median_us\":%.1f,\"min_us\":%.1f,\"p10_us\":%.1f,\"p90_us\":%.1f,\"max_us\":%.1f}\n",
         argv[1], n, sum / n, med, v[0], v[n / 10], v[(n * 9) / 10], v[n - 1]);
  free(v);
  return 0;
}
