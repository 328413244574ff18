// The Landlock step of the spawn plan (plan.h OP_LANDLOCK), run by the child with the rules
// of child.cc: raw syscalls, no allocation, stack buffers only, no libc (not even a
// compiler-made memcpy/memset: the loops here are too simple to become one, and the
// attribute below forbids it).
//
// landlock(7): landlock_create_ruleset(2) -> landlock_add_rule(2) per rule ->
// landlock_restrict_self(2) -> close. The ruleset fd is O_CLOEXEC (the kernel always makes it
// so); each rule's O_PATH fd is closed as soon as its rule is added. The step runs after
// pivot_root, so a rule's absolute path is the container's path; RESOLVE_NO_MAGICLINKS keeps
// /proc/self/fd/N (an fd of the setup) from naming anything. restrict_self needs
// no_new_privs or CAP_SYS_ADMIN in the child's user namespace: without either it is EPERM,
// reported as such (this step never sets no_new_privs behind the caller's back).
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/syscall.h>

#include "child_landlock.h"
#include "landlock.h"
#include "plan.h"
#include "rawsys.h"
#include "nr.h"

namespace nsbox {
namespace {

using raw::sc;

#define NO_LIBC __attribute__((optimize("no-tree-loop-distribute-patterns")))

inline uint64_t Mask(const int32_t* w) {
  return (uint64_t)(uint32_t)w[0] | ((uint64_t)(uint32_t)w[1] << 32);
}

inline int Item(int sysid, int32_t index) {
  return sysid | ((index + 1) << kSysItemShift);
}

// One path_beneath rule: open the path (O_PATH), keep only the file rights when it is not a
// directory (the kernel refuses directory rights on a file with EINVAL), add the rule.
NO_LIBC long PathRule(int ruleset, const char* path, bool optional, uint64_t access, int32_t index,
                      int* sysid) {
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  *sysid = Item(SYS_OPENAT2, index);
  long fd = sc(__NR_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0) return optional && (fd == -ENOENT || fd == -ENOTDIR) ? 0 : fd;
  struct statx stx;
  long r = sc(__NR_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx);
  if (r == 0 && (stx.stx_mode & 0170000) != 0040000) access &= landlock::kFileRights;
  if (r == 0 && access != 0) {
    struct landlock_path_beneath_attr attr;
    attr.allowed_access = access;
    attr.parent_fd = (int32_t)fd;
    *sysid = Item(SYS_LANDLOCK_ADD_RULE, index);
    r = sc(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
  }
  sc(__NR_close, fd);
  return r;
}

}  // namespace

NO_LIBC long RunLandlockStep(const Step& s, int* sysid) {
  const int32_t* w = s.list;
  landlock::RulesetAttr attr;
  attr.handled_access_fs = Mask(w);
  attr.handled_access_net = Mask(w + 2);
  attr.scoped = Mask(w + 4);
  uint32_t flags = (uint32_t)w[6];
  int32_t nfs = w[7], nnet = w[8];
  *sysid = SYS_LANDLOCK_CREATE;
  long ruleset = sc(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return ruleset;
  long r = 0;
  const int32_t* rule = w + 9;
  for (int32_t k = 0; k < nfs && r == 0; k++, rule += 4)
    r = PathRule((int)ruleset, s.strs + rule[0], rule[1] != 0, Mask(rule + 2), k, sysid);
  for (int32_t k = 0; k < nnet && r == 0; k++, rule += 3) {
    landlock::NetPortAttr port;
    port.allowed_access = Mask(rule + 1);
    port.port = (uint64_t)(uint32_t)rule[0];
    *sysid = Item(SYS_LANDLOCK_ADD_RULE, nfs + k);
    r = sc(__NR_landlock_add_rule, ruleset, landlock::kRuleNetPort, &port, 0);
  }
  if (r == 0) {
    *sysid = SYS_LANDLOCK_RESTRICT;
    r = sc(__NR_landlock_restrict_self, ruleset, flags);
  }
  sc(__NR_close, ruleset);
  return r;
}

}  // namespace nsbox
