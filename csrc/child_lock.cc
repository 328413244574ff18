// Containment steps of the spawn plan (plan.h OP_LOCK .. OP_NO_TIOCSTI), run by the child with
// the rules of child.cc: raw syscalls, no allocation, stack buffers only.
//
// OP_LOCK is how the masks, read-only paths, read-only volumes and the read-only root are
// made impossible to undo from inside, whatever capabilities the command holds: every mount
// of the container was made in the setup's user namespace U1; the child now enters a new user
// namespace U2 (a child of U1) together with a new mount namespace. The kernel copies the
// tree into a mount namespace owned by a less privileged user namespace and marks every mount
// MNT_LOCKED, with its read-only/nosuid/nodev/noexec flags locked too (mount_namespaces(7),
// "Restrictions on mount namespaces"): umount(2) of one is EINVAL, a remount that clears
// MS_RDONLY is EPERM, and a fresh procfs/sysfs is refused while a locked mask hides part of
// the existing one. LXC builds its containers the same way.
//
// U2's maps are written by a short-lived helper process that stays in U1, where it holds
// CAP_SETUID/CAP_SETGID (user_namespaces(7): the writer must be in the target's parent user
// namespace). The maps are the identity of U1's ids, so the command keeps the ids it had.
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "child_fs.h"
#include "child_lock.h"
#include "plan.h"
#include "rawsys.h"

namespace nsbox {
namespace {

using raw::sc;

constexpr unsigned long kHelperStack = 64 * 1024;

struct LockArgs {
  int rd;           // the pipe's read end: one byte when the child has its new user namespace
  int wr;           // its write end (the helper closes its copy)
  int procfd;       // the child's /proc/PID directory
  const char* uid;  // "inside inside count\n..." lines
  const char* gid;
  int net;             // 1: the child made a network namespace: enter it, write `sysctl`
  const char* masks;   // and (not null) mount its sysfs on /sys and mask these dirs, ':'-separated
  const char* sysctl;  // net.* sysctls: "path\nvalue\n" pairs, path under /proc/sys
  int sysid;           // written by the helper (shared memory): which syscall (and item) failed
  int sysfd;           // the /sys placeholder's root (its MNT_ANCHOR), or -1: /sys by path
};

constexpr unsigned long kSysfsFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

// net.* sysctls of the namespace we are in (a /proc/sys/net file acts on its opener's), through
// the host procfs that procfd lives on: the container's /proc/sys is read-only by now.
long NetSysctls(LockArgs* a) {
  char path[512];
  const char prefix[] = "../sys/";
  int item = 0;
  for (const char* p = a->sysctl; *p; item++) {
    size_t n = 0;
    for (; prefix[n]; n++) path[n] = prefix[n];
    while (*p && *p != '\n' && n < sizeof path - 1) path[n++] = *p++;
    path[n] = 0;
    if (*p++ != '\n') return -EINVAL;
    const char* value = p;
    size_t len = 0;
    while (p[len] && p[len] != '\n') len++;
    p += len;
    if (*p++ != '\n') return -EINVAL;
    a->sysid = SYS_OPENAT | (item + 1) << kSysItemShift;
    long fd = sc(__NR_openat, a->procfd, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    a->sysid = SYS_WRITE | (item + 1) << kSysItemShift;
    long r;
    do {
      r = sc(__NR_write, fd, value, len);
    } while (r == -EINTR);
    sc(__NR_close, fd);
    if (r < 0) return r;
  }
  return 0;
}

// The helper's part of a lock with a new network namespace: enter it (we are privileged over
// it, in the parent user namespace), its sysctls, then a fresh sysfs of it on the container's
// /sys (sysfs shows the network namespace of its mounter) and the masks on top. Made in the
// setup's mount namespace before the child copies it, so the mounts are locked for the command.
long NetSetup(LockArgs* a) {
  a->sysid = SYS_OPENAT;
  long fd = sc(__NR_openat, a->procfd, "ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  a->sysid = SYS_SETNS;
  long r = sc(__NR_setns, fd, CLONE_NEWNET);
  sc(__NR_close, fd);
  if (r < 0) return r;
  if ((r = NetSysctls(a)) < 0) return r;
  if (!a->masks) return 0;
  // No /sys (a read-only directory root without one: the placeholder was skipped): none here.
  // /sys opened once, the sysfs made detached and attached onto it, each mask opened beneath
  // the sysfs's own root: a rename in the rootfs meanwhile cannot move a mask off it.
  // The placeholder mounted for it: its root, wherever a rename has moved it (never the
  // directory a rename put at /sys meanwhile, which would leave the placeholder, the host's
  // sysfs, in view at /sys).
  a->sysid = SYS_OPENAT;
  long dst = a->sysfd >= 0 ? sc(__NR_openat, a->sysfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)
                           : sc(__NR_openat, AT_FDCWD, "/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst == -ENOENT) return 0;
  if (dst < 0) return dst;
  int sysid = 0;
  long sys = FreshTree("sysfs", "sysfs", nullptr, kSysfsFlags, &sysid);
  if (sys >= 0) {
    sysid = SYS_MOVE_MOUNT;
    r = sc(__NR_move_mount, sys, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  } else {
    r = sys;
  }
  sc(__NR_close, dst);
  char path[256];
  for (const char* p = a->masks; r >= 0 && *p;) {
    size_t n = 0;
    while (p[n] && p[n] != ':' && n < sizeof path - 1) path[n] = p[n], n++;
    path[n] = 0;
    p += n;
    if (*p == ':') p++;
    // (each is /sys/…: beneath the sysfs, what follows /sys/)
    if (n <= 5) continue;
    sysid = SYS_OPENAT2;
    long at = OpenBeneath((int)sys, path + 5, O_PATH | O_DIRECTORY);
    if (at == -ENOENT) continue;
    if (at < 0) {
      r = at;
      break;
    }
    long mask = FreshTree("tmpfs", "tmpfs", "size=0", kSysfsFlags, &sysid);
    if (mask >= 0) {
      sysid = SYS_MOVE_MOUNT;
      r = sc(__NR_move_mount, mask, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
      sc(__NR_close, mask);
    } else {
      r = mask;
    }
    sc(__NR_close, at);
  }
  if (sys >= 0) sc(__NR_close, sys);
  if (r < 0) a->sysid = sysid;
  return r < 0 ? r : 0;
}

long WriteAt(int dirfd, const char* name, const char* text) {
  long fd = sc(__NR_openat, dirfd, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  size_t len = 0;
  while (text[len]) len++;
  long r;
  do {
    r = sc(__NR_write, fd, text, len);
  } while (r == -EINTR);
  sc(__NR_close, fd);
  if (r < 0) return r;
  return (size_t)r == len ? 0 : -EIO;
}

// The helper: waits for the go, writes the child's uid_map and gid_map, exits with 0 or the
// errno. It shares the child's memory (CLONE_VM) and runs on its own small stack.
int LockHelper(void* arg) {
  LockArgs* a = static_cast<LockArgs*>(arg);
  sc(__NR_close, a->wr);
  char go = 0;
  long r;
  do {
    r = sc(__NR_read, a->rd, &go, 1);
  } while (r == -EINTR);
  if (r != 1) return ECANCELED;  // the child failed to unshare and closed the pipe
  if ((r = WriteAt(a->procfd, "uid_map", a->uid)) < 0) return (int)-r;
  if ((r = WriteAt(a->procfd, "gid_map", a->gid)) < 0) return (int)-r;
  if (a->net && (r = NetSetup(a)) < 0) return (int)-r;
  return 0;
}

long Lock(ChildCtx* ctx, const Step& s, int* sysid) {
  *sysid = SYS_OPENAT;
  // OP_PIVOT keeps it; in a template's run (OP_ENTER), the run's own fresh /proc has it.
  if (ctx->procfd < 0 && ctx->entered)
    ctx->procfd = (int)sc(__NR_openat, AT_FDCWD, "/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->procfd < 0) return -EBADF;  // a plan without one is malformed
  int p[2];
  long r = sc(__NR_pipe2, p, O_CLOEXEC);
  if (r < 0) return r;
  // With a new network namespace (s.a 1; 2: and its sysfs on /sys), the user namespace and
  // the network namespace come first, the helper mounts that namespace's sysfs, and the mount namespace is
  // copied (and locked) only then: the network namespace is owned by the command's user namespace.
  // s.a 3 (a template's run): the user namespace alone; its mounts were made for it by its outer
  // user namespace, which keeps them (the command holds no capability over them at all).
  bool net = s.a == 1 || s.a == 2;
  const char* rest = nullptr;
  int sysfd = s.a == 2 ? FindAnchor(ctx, "/sys", 0, &rest) : -1;
  if (sysfd >= 0 && !Same(rest, ".")) sysfd = -1;
  LockArgs args = {p[0],   p[1],      ctx->procfd, s.str, s.str2, net, s.a == 2 ? s.str3 : nullptr,
                   s.str4, SYS_WRITE, sysfd};
  struct clone_args ca = {};
  ca.flags = CLONE_VM;
  ca.exit_signal = 0;  // reaped below with __WALL; no SIGCHLD for the command to inherit
  ca.stack = (uint64_t)(uintptr_t)(ctx->helper_stack - kHelperStack);
  ca.stack_size = kHelperStack;
  *sysid = SYS_CLONE3;
  long helper = nsbox_clone3(&ca, sizeof ca, LockHelper, &args);
  if (helper < 0) {
    sc(__NR_close, p[0]);
    sc(__NR_close, p[1]);
    return helper;
  }
  sc(__NR_close, p[0]);
  *sysid = SYS_UNSHARE;
  long u = sc(__NR_unshare, CLONE_NEWUSER | (s.a == 3 ? 0 : net ? CLONE_NEWNET : CLONE_NEWNS));
  if (u == 0) {
    char go = 1;
    do {
      r = sc(__NR_write, p[1], &go, 1);
    } while (r == -EINTR);
  }
  sc(__NR_close, p[1]);  // without the byte: EOF, the helper leaves
  siginfo_t info;
  do {
    r = sc(__NR_waitid, P_PID, helper, &info, WEXITED | __WALL, 0);
  } while (r == -EINTR);
  sc(__NR_close, ctx->procfd);
  ctx->procfd = -1;
  if (u < 0) return u;
  if (r < 0) return r;
  *sysid = args.sysid;
  if (info.si_code != CLD_EXITED) return -EINTR;
  if (info.si_status) return -(long)info.si_status;
  if (!net) return 0;
  *sysid = SYS_UNSHARE;
  return sc(__NR_unshare, CLONE_NEWNS);
}

// OP_NETWORK: lo up by ioctl(SIOCSIFFLAGS), as `ip link set lo up` (we own the namespace, so
// no one outside needs privileges for it); then, when asked, the parent configures the rest
// (a veth, addresses, routes) while we wait, as for OP_PARENT.
long Network(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  long r;
  if (s.a) {
    *sysid = SYS_IOCTL;
    long fd = sc(__NR_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    struct ifreq ifr;
    char* z = reinterpret_cast<char*>(&ifr);
    for (size_t i = 0; i < sizeof ifr; i++) z[i] = 0;
    ifr.ifr_name[0] = 'l', ifr.ifr_name[1] = 'o';
    r = sc(__NR_ioctl, fd, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
      ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
      r = sc(__NR_ioctl, fd, SIOCSIFFLAGS, &ifr);
    }
    sc(__NR_close, fd);
    if (r < 0) return r;
  }
  if (!s.b) return 0;
  *sysid = SYS_SENDMSG;
  Msg m = {MSG_NETWORK, step, 0, 0};
  do {
    r = sc(__NR_sendto, ctx->sock, &m, sizeof m, MSG_NOSIGNAL, 0, 0);
  } while (r == -EINTR);
  if (r < 0) return r;
  int32_t answer = -1;
  do {
    r = sc(__NR_recvfrom, ctx->sock, &answer, sizeof answer, 0, 0, 0);
  } while (r == -EINTR);
  if (r != (long)sizeof answer || answer != 0) {
    for (;;) sc(__NR_exit_group, 127);  // the parent reports the failure
  }
  return 0;
}

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
constexpr unsigned kArch = 4, kNr = 0, kArg1Lo = 24;  // struct seccomp_data, little endian
constexpr unsigned kTiocsti = 0x5412, kTioclinux = 0x541C;
// Every ABI's ioctl jumps here: the command's low 32 bits against TIOCSTI and TIOCLINUX.
#define IOCTL_TIOCSTI_CHECK                                                                \
  LD(kArg1Lo), JEQ(kTiocsti, 1, 0), JEQ(kTioclinux, 0, 1), RET(SECCOMP_RET_ERRNO | EPERM), \
      RET(SECCOMP_RET_ALLOW)

// ioctl(fd, TIOCSTI) pushes bytes into a terminal's input queue: a command that shares the
// caller's terminal could type commands into the caller's shell once it exits (CVE-2017-5226,
// bubblewrap). TIOCLINUX can do the same on a virtual console. Both fail with EPERM; ioctl's
// command is an unsigned int, so only the low 32 bits of the argument are compared (Docker's
// profile once compared 64). Every syscall ABI of the machine is covered: x86_64, x32
// (ioctl is 514 | __X32_SYSCALL_BIT) and i386 through int 0x80; aarch64 and 32-bit arm.
long NoTiocsti(int* sysid) {
#if defined(__x86_64__)
  struct sock_filter f[] = {
      LD(kArch),
      JEQ(AUDIT_ARCH_X86_64, 0, 3),
      LD(kNr),
      JEQ(16, 4, 0),
      JEQ(0x40000000 | 514, 3, 7),
      JEQ(AUDIT_ARCH_I386, 0, 6),
      LD(kNr),
      JEQ(54, 0, 4),
      IOCTL_TIOCSTI_CHECK,
  };
#elif defined(__aarch64__)
  struct sock_filter f[] = {
      LD(kArch),     JEQ(AUDIT_ARCH_AARCH64, 0, 2), LD(kNr),
      JEQ(29, 3, 7), JEQ(AUDIT_ARCH_ARM, 0, 6),     LD(kNr),
      JEQ(54, 0, 4), IOCTL_TIOCSTI_CHECK,
  };
#endif
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  *sysid = SYS_SECCOMP;
  return sc(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

}  // namespace

long RunNetworkStep(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  return Network(ctx, s, step, sysid);
}

long RunLockStep(ChildCtx* ctx, const Step& s, int* sysid) {
  *sysid = SYS_STEP;
  switch (s.op) {
    case OP_LOCK: return Lock(ctx, s, sysid);
    case OP_DUMPABLE: return sc(__NR_prctl, PR_SET_DUMPABLE, s.a ? 1 : 0, 0, 0, 0);
    case OP_KEYRING: {
      // A new anonymous session keyring (keyrings(7)): the caller's session keyring, and the
      // keys a login session put in it, are not reachable from inside.
      *sysid = SYS_KEYCTL;
      long r = sc(__NR_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
      return r < 0 ? r : 0;
    }
    case OP_NO_TIOCSTI: return NoTiocsti(sysid);
  }
  return -EINVAL;
}

}  // namespace nsbox
