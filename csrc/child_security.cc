// Security steps of the spawn plan, run in the child: async-signal-safe raw syscalls only
// (see child.cc). The order they run in is the plan's (src/security/steps.ts): no_new_privs,
// the bounding set and KEEPCAPS, then the credential steps, then capset and the ambient set,
// PDEATHSIG again, Landlock, and seccomp last before execve, as runc and crun do.
#include "child_security.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "child_fs.h"
#include "plan.h"
#include "rawsys.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "OP_SECCOMP hands the plan's words to seccomp(2) as struct sock_filter");
static_assert(sizeof(struct sock_filter) == 8, "struct sock_filter is two words");

namespace nsbox {
namespace {

using raw::sc;

constexpr int kMaxInsns = 4096;  // BPF_MAXINSNS

uint64_t Mask(const int32_t* w) {
  return (uint64_t)(uint32_t)w[0] | ((uint64_t)(uint32_t)w[1] << 32);
}

// OP_CAP_BOUND: drop every capability up to the kernel's last one that is not kept, then
// keep the permitted set across the credential steps that follow (KEEPCAPS).
long CapBound(const Step& s, int* sysid) {
  uint64_t keep = Mask(s.list);
  int last = s.list[2];
  *sysid = SYS_PRCTL;
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    long r = sc(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (r < 0) return r;
  }
  return sc(__NR_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

// OP_CAPSET: the three sets with capset(2), KEEPCAPS off again, then the ambient set from
// empty (each capability in it must be permitted and inheritable: checked in TS).
long Capset(const Step& s, int* sysid) {
  uint64_t eff = Mask(s.list), perm = Mask(s.list + 2), inh = Mask(s.list + 4), amb = Mask(s.list + 6);
  int last = s.list[8];
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  *sysid = SYS_CAPSET;
  long r = sc(__NR_capset, &hdr, data);
  if (r < 0) return r;
  *sysid = SYS_PRCTL;
  r = sc(__NR_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (r < 0) return r;
  r = sc(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (r < 0) return r == -EINVAL && amb == 0 ? 0 : r;  // before Linux 4.3: no ambient set
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (!(amb & (1ULL << cap))) continue;
    r = sc(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    if (r < 0) return r;
  }
  return 0;
}

// OP_SECCOMP: load the filter the plan carries. With SECCOMP_FILTER_FLAG_NEW_LISTENER the
// kernel returns the notification fd, which goes to the parent and is closed here: the
// command must never hold it (it could answer its own notifications).
long Seccomp(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  struct sock_fprog prog = {(unsigned short)(s.nlist / 2),
                            reinterpret_cast<struct sock_filter*>(const_cast<int32_t*>(s.list))};
  *sysid = SYS_SECCOMP;
  long r = sc(__NR_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)s.a, &prog);
  if (r < 0 || !(s.a & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return r < 0 ? r : 0;
  int fd = (int)r;
  *sysid = SYS_SENDMSG;
  r = SendFdToParent(ctx, MSG_LISTENER, step, fd);
  sc(__NR_close, fd);
  return r < 0 ? r : 0;
}

// OP_SYSCTL: write the value to /proc/sys/KEY, of the container's new procfs (resolved
// inside /newroot, before /proc/sys is made read-only) or of whatever /proc is.
long Sysctl(ChildCtx* ctx, const Step& s, int* sysid) {
  long fd;
  // Under the procfs a step mounted (MNT_ANCHOR): beneath its root, never by path, so a
  // rename in the rootfs cannot send the write to another file of it.
  const char* rest;
  int anchor = FindAnchor(ctx, s.str, !!s.b, &rest);
  if (anchor >= 0) {
    *sysid = SYS_OPENAT2;
    fd = OpenBeneath(anchor, rest, O_WRONLY);
  } else if (s.b) {
    long root = OpenRoot(ctx, true);
    if (root < 0) return *sysid = SYS_OPENAT, root;
    *sysid = SYS_OPENAT2;
    fd = OpenIn((int)root, s.str, O_WRONLY);
  } else {
    *sysid = SYS_OPENAT;
    fd = sc(__NR_openat, AT_FDCWD, s.str, O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) return fd;
  size_t n = CStrLen(s.str2);
  *sysid = SYS_WRITE;
  long r;
  do {
    r = sc(__NR_write, fd, s.str2, n);
  } while (r == -EINTR);
  sc(__NR_close, fd);
  if (r >= 0 && (size_t)r != n) r = -EIO;
  return r < 0 ? r : 0;
}

// OP_PARENT: ask the parent to apply its side (rlimits with prlimit(2), which can raise a
// hard limit where we, in a user namespace, could not; oom_score_adj) and wait for it.
long Parent(ChildCtx* ctx, int step) {
  Msg m = {MSG_PARENT, step, 0, 0};
  long r;
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

}  // namespace

long RunSecurityStep(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  switch (s.op) {
    case OP_NO_NEW_PRIVS: *sysid = SYS_PRCTL; return sc(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    case OP_CAP_BOUND: return CapBound(s, sysid);
    case OP_CAPSET: return Capset(s, sysid);
    case OP_UMASK: sc(__NR_umask, s.a); return 0;
    case OP_PERSONALITY: {
      long r = sc(__NR_personality, (unsigned)s.a);
      return r < 0 ? r : 0;
    }
    case OP_SECCOMP: return Seccomp(ctx, s, step, sysid);
    case OP_SYSCTL: return Sysctl(ctx, s, sysid);
    case OP_PARENT: return Parent(ctx, step);
    default: return -EINVAL;
  }
}

const char* ParseSecurityStep(int32_t op, const int32_t* a, int32_t nargs,
                              const char* (*str)(void* env, int32_t off), void* env, Step& s, bool* handled) {
  *handled = true;
  switch (op) {
    case OP_NO_NEW_PRIVS:
    case OP_PARENT: return nargs == 0 ? nullptr : "step takes no args";
    case OP_CAP_BOUND:
      if (nargs != 3 || a[2] < 0 || a[2] > 63) return "bad capability bounding set";
      s.list = a;
      s.nlist = 3;
      return nullptr;
    case OP_CAPSET:
      if (nargs != 9 || a[8] < 0 || a[8] > 63) return "bad capability sets";
      s.list = a;
      s.nlist = 9;
      return nullptr;
    case OP_UMASK:
      if (nargs != 1 || a[0] < 0 || a[0] > 0777) return "bad umask";
      s.a = a[0];
      return nullptr;
    case OP_PERSONALITY:
      // 0xffffffff only queries (personality(2)): never a persona to set.
      if (nargs != 1 || a[0] == -1) return "bad personality";
      s.a = a[0];
      return nullptr;
    case OP_SECCOMP:
      // flags, n, then n instructions of two words each.
      if (nargs < 2 || a[1] < 1 || a[1] > kMaxInsns || nargs != 2 + 2 * a[1]) return "bad seccomp filter";
      if (a[0] & ~(int32_t)(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                            SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_NEW_LISTENER |
                            (1 << 4) /* TSYNC_ESRCH */ | (1 << 5) /* WAIT_KILLABLE_RECV */))
        return "bad seccomp flags";
      s.a = a[0];
      s.list = a + 2;
      s.nlist = 2 * a[1];
      return nullptr;
    case OP_SYSCTL:
      if (nargs != 3 || !(s.str = str(env, a[0])) || !(s.str2 = str(env, a[1])) || (a[2] != 0 && a[2] != 1))
        return "bad sysctl";
      s.b = a[2];
      return nullptr;
    default: *handled = false; return nullptr;
  }
}

}  // namespace nsbox
