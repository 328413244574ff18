// The parent's check of a spawn plan: see plan_parse.h. TS built the plan (src/namespaces/
// plan.ts) and validated the options it came from; this is the cheap second check that keeps
// a bad or hostile plan from reaching clone3(2) or the child: clone flags are masked to the
// namespaces a plan may make, and every fd, id, signal, count, offset and mode bit is bounded.
#include "plan_parse.h"

#include <linux/mount.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "child_security.h"
#include "plan.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

namespace nsbox {
namespace {

// The namespaces a plan may ask for, in the header, OP_UNSHARE, OP_FORK and OP_SETNS: never
// CLONE_VM, CLONE_FILES, CLONE_THREAD, CLONE_SETTLS… (spawn.cc adds what it needs itself).
constexpr uint64_t kNsFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                              CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;
constexpr int32_t kMountModes = MNT_DST_IN_ROOT | MNT_MKDIR | MNT_MKFILE | MNT_OPTIONAL | MNT_RDONLY |
                                MNT_RECURSIVE | MNT_SRC_OPTIONAL | MNT_FROM_TREE | MNT_SRC_SELF |
                                MNT_FROM_FD | MNT_COPYUP | MNT_COPYUP_MODE | MNT_SRC_NULL | MNT_ANCHOR |
                                MNT_IN_ANCHOR | MNT_DST_PROCFS;
// mount(2) flags a plan may pass (mount(2)): no MS_MGC_VAL, no internal kernel bits.
constexpr uint32_t kMsFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_REMOUNT |
                              MS_MANDLOCK | MS_DIRSYNC | MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME |
                              MS_BIND | MS_MOVE | MS_REC | MS_SILENT | MS_POSIXACL | MS_UNBINDABLE |
                              MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME;
constexpr uint32_t kPropagation = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED;
// mount_setattr(2) attributes; MOUNT_ATTR_IDMAP needs a userns fd the step cannot carry.
constexpr uint32_t kAttrFlags = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW;
constexpr int32_t kMaxSteps = 4096;
constexpr int32_t kMaxGroups = 65536;  // NGROUPS_MAX
constexpr int32_t kMaxFdPairs = 256;   // child.cc PlaceFds' table
constexpr int32_t kMaxSignal = 64;     // _NSIG - 1

// An fd the plan names must be one this process could have: below RLIMIT_NOFILE's hard
// limit, and never above 1 << 20 (fs.nr_open's default) whatever that limit says.
int32_t FdLimit() {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_max > (rlim_t)(1 << 20)) return 1 << 20;
  return (int32_t)r.rlim_max;
}

bool IsId(int32_t v) {
  return v != -1;
}  // a uid/gid: 0..0xfffffffe as a 32-bit word
bool Flag01(int32_t v) {
  return v == 0 || v == 1;
}
bool NsFlags(int32_t v) {
  return ((uint64_t)(uint32_t)v & ~kNsFlags) == 0;
}
// setns(2) nstype: 0 (any) or exactly one CLONE_NEW* flag.
bool OneNs(int32_t v) {
  return NsFlags(v) && (v & (v - 1)) == 0;
}
bool FileMode(int32_t v) {
  return v >= 0 && v <= 07777;
}

struct Parser {
  const char* strs;
  size_t nstrs;
  int32_t fdLimit;
  ParsedPlan& p;
  std::vector<std::pair<size_t, std::pair<size_t, size_t>>> execPtrs;

  bool IsFd(int32_t v) const { return v >= 0 && v < fdLimit; }
  // A NUL-terminated string at byte offset `off` of the string buffer, or nullptr.
  const char* Str(int32_t off) const {
    if (off < 0 || (size_t)off >= nstrs || !memchr(strs + off, 0, nstrs - off)) return nullptr;
    return strs + off;
  }
  // -1 (no string: *out = nullptr) or a valid offset.
  bool OptStr(int32_t off, const char** out) const {
    *out = nullptr;
    return off == -1 || (*out = Str(off)) != nullptr;
  }
  static const char* StrOf(void* self, int32_t off) { return static_cast<Parser*>(self)->Str(off); }

  const char* Process(int32_t op, const int32_t* a, int32_t nargs, Step& s, bool* handled);
  const char* ArgvEnv(const int32_t* a, int32_t n, bool inherit = false);
  const char* Exec(const int32_t* a, int32_t nargs, Step& s);
  const char* Hook(const int32_t* a, int32_t nargs, Step& s);
  const char* Fs(int32_t op, const int32_t* a, int32_t nargs, Step& s, bool* handled);
  const char* Mount(const int32_t* a, int32_t nargs, Step& s);
  const char* Landlock(const int32_t* a, int32_t nargs, Step& s);
  const char* One(int32_t op, const int32_t* a, int32_t nargs, Step& s);
};

// Process steps: namespaces, ids, session, fds.
const char* Parser::Process(int32_t op, const int32_t* a, int32_t nargs, Step& s, bool* handled) {
  *handled = true;
  switch (op) {
    case OP_SETNS:
      if (nargs != 2 || !IsFd(a[0])) return "bad setns fd";
      if (!OneNs(a[1])) return "bad setns nstype";
      s.a = a[0], s.b = a[1];
      return nullptr;
    case OP_PIN:
      if (nargs != 1 || (a[0] != CLONE_NEWUSER && a[0] != CLONE_NEWNS)) return "bad pin nstype";
      s.a = a[0];
      return nullptr;
    case OP_EXIT_PIN:
      if (nargs != 0) return "bad exit pin";
      p.exitPin = true;
      return nullptr;
    case OP_ENTER:
      if (nargs != 2 || !IsFd(a[0])) return "bad enter fd";
      if (a[1] != CLONE_NEWUSER && a[1] != CLONE_NEWNS) return "bad enter nstype";
      s.a = a[0], s.b = a[1];
      return nullptr;
    case OP_UNSHARE:
      if (nargs != 1 || !NsFlags(a[0])) return "bad clone flags";
      s.a = a[0];
      return nullptr;
    case OP_FORK:
      if ((nargs != 1 && nargs != 2) || !NsFlags(a[0]) || (nargs == 2 && !Flag01(a[1])))
        return "bad clone flags";
      s.a = a[0], s.b = nargs == 2 ? a[1] : 0;
      return nullptr;
    case OP_SETPGID:
      if (nargs != 1 || a[0] < 0) return "bad pgid";
      s.a = a[0];
      return nullptr;
    case OP_SETGID:
    case OP_SETUID:
      if (nargs != 1 || !IsId(a[0])) return "bad id";
      s.a = a[0];
      return nullptr;
    case OP_PDEATHSIG:
      if (nargs != 1 || a[0] < 1 || a[0] > kMaxSignal) return "bad signal";
      s.a = a[0];
      return nullptr;
    case OP_SETHOSTNAME:
    case OP_SETDOMAINNAME:
    case OP_GATE: return nargs == 1 && (s.str = Str(a[0])) ? nullptr : "bad string arg";
    case OP_CHDIR:
      if (nargs != 2 || !(s.str = Str(a[0])) || a[1] < 0 || a[1] > 3) return "bad chdir";
      s.b = a[1];
      return nullptr;
    case OP_LOCK:
      if (nargs != 2 && nargs != 5) return "bad lock";
      if (!(s.str = Str(a[0])) || !(s.str2 = Str(a[1]))) return "bad lock";
      if (nargs == 5 && (a[2] < 1 || a[2] > 3 || !(s.str3 = Str(a[3])) || !(s.str4 = Str(a[4]))))
        return "bad lock";
      s.a = nargs == 5 ? a[2] : 0;
      return nullptr;
    case OP_NETWORK:
      if (nargs != 2 || !Flag01(a[0]) || !Flag01(a[1])) return "bad network";
      s.a = a[0], s.b = a[1];
      return nullptr;
    case OP_TERMINAL:
      // mode, size (rows | cols << 16; not TTY_STDIN)[, fsuid, fsgid to open /dev/ptmx with
      // (-1: ours); TTY_NEW optionally, TTY_CONSOLE always]
      if (nargs < 2 || (a[0] != TTY_STDIN && a[0] != TTY_NEW && a[0] != TTY_CONSOLE) ||
          (a[0] == TTY_STDIN && (a[1] != 0 || nargs != 2)) || (a[0] == TTY_NEW && nargs != 2 && nargs != 4) ||
          (a[0] == TTY_CONSOLE && nargs != 4) || (nargs == 4 && (a[2] < -1 || a[3] < -1)))
        return "bad terminal";
      s.a = a[0], s.b = a[1], s.c = nargs == 4 ? a[2] : -1, s.d = nargs == 4 ? a[3] : -1;
      return nullptr;
    case OP_DUMPABLE:
      if (nargs != 1 || !Flag01(a[0])) return "bad dumpable";
      s.a = a[0];
      return nullptr;
    case OP_USERNS_SYNC:
    case OP_SETSID:
    case OP_KEYRING:
    case OP_NO_TIOCSTI: return nargs == 0 ? nullptr : "step takes no args";
    case OP_INIT:
      // [dropCopy [, exec]]: dropCopy 1 lets a forked init give up its copy of Node's memory
      // (child_init.cc DropCopy); exec 1 lets spawn run the init image instead of forking
      // (init_image.h; spawn.cc decides whether it applies).
      if (nargs > 2 || (nargs >= 1 && !Flag01(a[0])) || (nargs == 2 && !Flag01(a[1]))) return "bad init";
      s.a = nargs >= 1 ? a[0] : 0;
      s.b = nargs == 2 ? a[1] : 0;
      return nullptr;
    case OP_SETGROUPS:
      if (nargs < 1 || a[0] < 0 || a[0] > kMaxGroups || a[0] != nargs - 1) return "bad group list";
      for (int32_t j = 0; j < a[0]; j++)
        if (!IsId(a[1 + j])) return "bad gid";
      s.list = a + 1, s.nlist = a[0];
      return nullptr;
    case OP_FDS:
      if (nargs < 1 || a[0] < 0 || a[0] > kMaxFdPairs || a[0] * 2 != nargs - 1) return "bad fd list";
      for (int32_t j = 0; j < a[0]; j++) {
        if (!IsFd(a[1 + 2 * j]) || !IsFd(a[2 + 2 * j])) return "bad fd";
        for (int32_t k = 0; k < j; k++)
          if (a[1 + 2 * k] == a[1 + 2 * j]) return "duplicate fd target";
      }
      s.list = a + 1, s.nlist = a[0] * 2;
      return nullptr;
    default: *handled = false; return nullptr;
  }
}

// The end of OP_EXEC and OP_HOOK: argc, argv..., envc, env... (n words): the step's argv and
// envp arrays, NULL-terminated, made once the plan is parsed. OP_EXEC's envc may be -1 (no
// strings follow): the environment of this process, as `environ` holds it now (plan.h).
const char* Parser::ArgvEnv(const int32_t* a, int32_t n, bool inherit) {
  if (n < 2) return "bad argc";
  int64_t argc = a[0];
  if (argc < 0 || 1 + argc + 1 > n) return "bad argc";
  int64_t envc = a[1 + argc];
  bool fromEnviron = inherit && envc == kEnvInherit && 2 + argc == n;
  if (!fromEnviron && (envc < 0 || 2 + argc + envc != n)) return "bad envc";
  // OP_EXEC (inherit): room for the exec stub's own arguments before argv (child.cc ExecStep).
  if (inherit)
    for (int k = 0; k < kStubSlots; k++) p.ptrs.push_back(nullptr);
  size_t argvAt = p.ptrs.size();
  for (int64_t j = 0; j < argc; j++) {
    const char* v = Str(a[1 + j]);
    if (!v) return "bad argv string";
    p.ptrs.push_back(const_cast<char*>(v));
  }
  p.ptrs.push_back(nullptr);
  size_t envAt = p.ptrs.size();
  if (fromEnviron) {
    // The pointers only: glibc never frees a string setenv(3) made (nor one of the initial
    // environment), so each stays valid after a later setenv/unsetenv on the JS thread
    // (spawnAsync goes on while the child starts). As process.env lists it: NAME=VALUE.
    for (char** e = environ; e && *e; e++)
      if ((*e)[0] != '=' && strchr(*e, '=')) p.ptrs.push_back(*e);
  }
  for (int64_t j = 0; !fromEnviron && j < envc; j++) {
    const char* v = Str(a[2 + argc + j]);
    if (!v) return "bad env string";
    p.ptrs.push_back(const_cast<char*>(v));
  }
  p.ptrs.push_back(nullptr);
  execPtrs.push_back({p.steps.size(), {argvAt, envAt}});
  return nullptr;
}

// OP_EXEC: file, search, argc, argv..., envc, env...
const char* Parser::Exec(const int32_t* a, int32_t nargs, Step& s) {
  if (nargs < 4 || !(s.str = Str(a[0])) || a[1] < 0 || a[1] > (kExecSearch | kExecStub)) return "bad exec";
  s.a = a[1] & kExecSearch;
  s.b = (a[1] & kExecStub) != 0;
  return ArgvEnv(a + 2, nargs - 2, true);
}

// OP_HOOK: index, where, timeout_ms, pid, stdin_before, stdin_after, path, argc, argv...,
// envc, env... (plan.h). The path is absolute: execve(2)d as is, never searched.
const char* Parser::Hook(const int32_t* a, int32_t nargs, Step& s) {
  if (nargs < 9) return "bad hook";
  if (a[0] < 0 || a[0] >= kMaxSteps) return "bad hook index";
  if (a[1] != HOOK_HERE && a[1] != HOOK_HOST && a[1] != HOOK_CALLER) return "bad hook place";
  if (a[2] < 0 || !Flag01(a[3])) return "bad hook timeout or pid";
  if (!(s.str2 = Str(a[4])) || !(s.str3 = Str(a[5])) || !(s.str = Str(a[6])) || s.str[0] != '/')
    return "bad hook string";
  s.a = a[0], s.b = a[1], s.c = a[2], s.d = a[3];
  return ArgvEnv(a + 7, nargs - 7);
}

// OP_MOUNT: src|-1, dst, fstype|-1, flags, data|-1, mode. With MNT_FROM_TREE `flags` is the
// number of a tree the parent sends, with MNT_FROM_FD an inherited fd; else mount(2) flags.
const char* Parser::Mount(const int32_t* a, int32_t nargs, Step& s) {
  if (nargs != 6 || !(s.str2 = Str(a[1]))) return "bad mount";
  if (!OptStr(a[0], &s.str) || !OptStr(a[2], &s.str3) || !OptStr(a[4], &s.str4)) return "bad mount string";
  int32_t mode = a[5];
  if (mode & ~kMountModes) return "bad mount mode";
  int sources =
      !!(mode & MNT_FROM_TREE) + !!(mode & MNT_FROM_FD) + !!(mode & MNT_SRC_SELF) + !!(mode & MNT_SRC_NULL);
  if (sources > 1) return "bad mount mode";
  if ((mode & MNT_SRC_NULL) && (!s.str || !((uint32_t)a[3] & MS_BIND))) return "bad mount mode";
  // A bind onto itself is a bind; a copy-up is of a fresh tmpfs (never overlay: child_fs.cc
  // makes both detached, and fsconfig(2) would cut an overlay's long lowerdir list).
  if ((mode & MNT_SRC_SELF) && !((uint32_t)a[3] & MS_BIND)) return "bad mount mode";
  // An anchor is a mount of its own (no remount), never itself under another one.
  if ((mode & MNT_ANCHOR) &&
      ((mode & MNT_IN_ANCHOR) || (!(mode & MNT_FROM_FD) && ((uint32_t)a[3] & MS_REMOUNT))))
    return "bad mount mode";
  // A copy-up is of a fresh mount (a tmpfs) over a directory, never of an attached tree.
  if ((mode & MNT_COPYUP) && (sources > 0 || !s.str3 || strcmp(s.str3, "overlay") == 0))
    return "bad mount mode";
  if ((mode & MNT_COPYUP_MODE) && !(mode & MNT_COPYUP)) return "bad mount mode";
  if ((mode & MNT_FROM_TREE) && (a[3] < 0 || a[3] >= kMaxTrees)) return "bad mount tree";
  if ((mode & MNT_FROM_FD) && !IsFd(a[3])) return "bad mount fd";
  if (!(mode & (MNT_FROM_TREE | MNT_FROM_FD)) && ((uint32_t)a[3] & ~kMsFlags)) return "bad mount flags";
  s.a = a[3], s.b = mode;
  return nullptr;
}

// Filesystem steps (child_fs.cc).
const char* Parser::Fs(int32_t op, const int32_t* a, int32_t nargs, Step& s, bool* handled) {
  *handled = true;
  switch (op) {
    case OP_FS_BASE: return nargs == 1 && (s.str = Str(a[0])) ? nullptr : "bad fs base";
    case OP_MOUNT: return Mount(a, nargs, s);
    case OP_MKNOD: {
      // dst, mode, major, minor: a device, fifo, socket or regular file; the child packs the
      // numbers as the kernel's new_encode_dev (12-bit major, 20-bit minor).
      if (nargs != 4 || !(s.str2 = Str(a[0]))) return "bad mknod";
      int32_t type = a[1] & S_IFMT;
      if (a[1] < 0 || (a[1] & ~(S_IFMT | 07777)) ||
          !(type == 0 || type == S_IFREG || type == S_IFCHR || type == S_IFBLK || type == S_IFIFO ||
            type == S_IFSOCK))
        return "bad mknod mode";
      if (a[2] < 0 || a[2] > 0xfff || a[3] < 0 || a[3] > 0xfffff) return "bad device number";
      s.a = a[1], s.c = a[2], s.d = a[3];
      return nullptr;
    }
    case OP_SYMLINK:
      return nargs == 2 && (s.str = Str(a[0])) && (s.str2 = Str(a[1])) ? nullptr : "bad symlink";
    case OP_WRITE_FILE:
      if (nargs != 3 || !(s.str = Str(a[0])) || !(s.str2 = Str(a[1])) || !FileMode(a[2] & ~WRITE_NODENAME))
        return "bad file";
      s.a = a[2];
      return nullptr;
    case OP_SETATTR: {
      // dst, set, clear, mode[, propagation: 0 or exactly one of MS_SHARED, MS_PRIVATE,
      // MS_SLAVE, MS_UNBINDABLE (mount_setattr(2)'s mount_attr.propagation)]
      if ((nargs != 4 && nargs != 5) || !(s.str2 = Str(a[0]))) return "bad setattr";
      if (((uint32_t)a[1] & ~kAttrFlags) || ((uint32_t)a[2] & ~kAttrFlags)) return "bad mount attributes";
      if (a[3] & ~(MNT_DST_IN_ROOT | MNT_OPTIONAL | MNT_RECURSIVE | MNT_IN_ANCHOR)) return "bad setattr mode";
      uint32_t p = nargs == 5 ? (uint32_t)a[4] : 0;
      if ((p & ~kPropagation) || (p & (p - 1))) return "bad propagation";
      s.a = a[1], s.c = a[2], s.b = a[3], s.d = (int32_t)p;
      return nullptr;
    }
    case OP_PIVOT:
      if (nargs != 1 || !Flag01(a[0])) return "bad pivot";
      s.a = a[0];
      return nullptr;
    case OP_PROPAGATION: {
      if (nargs != 1) return "bad propagation";
      uint32_t f = (uint32_t)a[0];  // exactly one of MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE
      if ((f & ~kPropagation) || f == 0 || (f & (f - 1))) return "bad propagation";
      s.a = a[0];
      return nullptr;
    }
    case OP_MKDIR:
      // path, mode (MNT_DST_IN_ROOT), then optionally the owner's uid and gid.
      if ((nargs != 2 && nargs != 4) || !(s.str2 = Str(a[0]))) return "bad mkdir";
      if (a[1] & ~MNT_DST_IN_ROOT) return "bad mkdir mode";
      if (nargs == 4 && (a[2] < 0 || a[3] < 0)) return "bad mkdir owner";
      s.b = a[1];
      s.c = nargs == 4 ? a[2] : -1;
      s.d = nargs == 4 ? a[3] : -1;
      return nullptr;
    default: *handled = false; return nullptr;
  }
}

// OP_LANDLOCK: 9 header words, then 4 per path rule and 3 per port rule (plan.h).
const char* Parser::Landlock(const int32_t* a, int32_t nargs, Step& s) {
  if (nargs < 9 || a[7] < 0 || a[8] < 0 || a[7] > 4096 || a[8] > 4096 || nargs != 9 + 4 * a[7] + 3 * a[8])
    return "bad landlock";
  for (int32_t j = 0; j < a[7]; j++)
    if (!Str(a[9 + 4 * j]) || !Flag01(a[10 + 4 * j])) return "bad landlock rule";
  for (int32_t j = 0; j < a[8]; j++)
    if (a[9 + 4 * a[7] + 3 * j] < 0 || a[9 + 4 * a[7] + 3 * j] > 65535) return "bad landlock port";
  s.list = a, s.nlist = nargs, s.strs = strs;
  return nullptr;
}

const char* Parser::One(int32_t op, const int32_t* a, int32_t nargs, Step& s) {
  if (op == OP_EXEC) return Exec(a, nargs, s);
  if (op == OP_HOOK) return Hook(a, nargs, s);
  if (op == OP_LANDLOCK) return Landlock(a, nargs, s);
  bool handled = false;
  const char* bad = Process(op, a, nargs, s, &handled);
  if (!handled) bad = Fs(op, a, nargs, s, &handled);
  if (!handled) bad = ParseSecurityStep(op, a, nargs, StrOf, this, s, &handled);
  return handled ? bad : "unknown op";
}

// OP_GATE: at most one, with exec last, and after it only steps that never talk to the
// parent (which has returned) nor need it: Landlock and seccomp without a listener. No
// PDEATHSIG anywhere (the container outlives its creator) and no init.
const char* CheckGate(const std::vector<Step>& steps) {
  size_t gate = steps.size();
  for (size_t k = 0; k < steps.size(); k++) {
    if (steps[k].op != OP_GATE) continue;
    if (gate != steps.size()) return "more than one gate";
    gate = k;
  }
  if (gate == steps.size()) return nullptr;
  if (steps.back().op != OP_EXEC) return "gate without exec last";
  for (size_t k = 0; k < steps.size(); k++) {
    int32_t op = steps[k].op;
    if (op == OP_PDEATHSIG || op == OP_INIT) return "gate with pdeathsig or init";
    if (k <= gate || k + 1 == steps.size()) continue;
    bool quiet = op == OP_LANDLOCK ||
                 (op == OP_SECCOMP && !(steps[k].a & SECCOMP_FILTER_FLAG_NEW_LISTENER)) ||
                 (op == OP_HOOK && steps[k].b == HOOK_HERE);
    if (!quiet) return "step not allowed after the gate";
  }
  return nullptr;
}

// OP_HOOK's places: HOOK_HOST between OP_FS_BASE and OP_PIVOT (where /oldroot is the caller's
// root), HOOK_CALLER before any gate (the parent runs it, and returns at the gate).
const char* CheckHooks(const std::vector<Step>& steps) {
  bool base = false, pivoted = false, gated = false;
  for (const Step& s : steps) {
    if (s.op == OP_FS_BASE) base = true;
    if (s.op == OP_PIVOT) pivoted = true;
    if (s.op == OP_GATE) gated = true;
    if (s.op != OP_HOOK) continue;
    if (s.b == HOOK_HOST && (!base || pivoted)) return "host hook outside a container's setup";
    if (s.b == HOOK_CALLER && gated) return "caller hook after the gate";
  }
  return nullptr;
}

}  // namespace

const char* ParsePlan(const int32_t* w, size_t nw, const char* strs, size_t nstrs, ParsedPlan& p) {
  if (nw < (size_t)kHeaderWords || w[0] != kPlanVersion) return "bad plan header";
  p.cloneFlags = (uint64_t)(uint32_t)w[1] | ((uint64_t)(uint32_t)w[2] << 32);
  if (p.cloneFlags & ~kNsFlags) return "bad clone flags";
  Parser parser = {strs, nstrs, FdLimit(), p, {}};
  if (w[3] != -1 && !parser.IsFd(w[3])) return "bad cgroup fd";
  p.cgroupFd = w[3];
  int32_t nsteps = w[4];
  if (nsteps < 0 || nsteps > kMaxSteps) return "bad step count";
  size_t i = kHeaderWords;
  for (int32_t k = 0; k < nsteps; k++) {
    if (i + 2 > nw) return "truncated step";
    int32_t op = w[i], nargs = w[i + 1];
    if (nargs < 0 || i + 2 + (size_t)nargs > nw) return "bad step length";
    Step s = {};
    s.op = op;
    if (const char* bad = parser.One(op, w + i + 2, nargs, s)) return bad;
    p.steps.push_back(s);
    i += 2 + nargs;
  }
  if (i != nw) return "trailing words";
  // The init runs the step after it (the command's execve) in its child, and never returns:
  // it must be the last step but one, with OP_EXEC last.
  for (size_t k = 0; k < p.steps.size(); k++)
    if (p.steps[k].op == OP_INIT && (k + 2 != p.steps.size() || p.steps[k + 1].op != OP_EXEC))
      return "init must come right before exec, last";
  if (const char* bad = CheckGate(p.steps)) return bad;
  if (const char* bad = CheckHooks(p.steps)) return bad;
  for (auto& e : parser.execPtrs) {  // ptrs is final now: resolve the array pointers
    p.steps[e.first].argv = p.ptrs.data() + e.second.first;
    p.steps[e.first].envp = p.ptrs.data() + e.second.second;
  }
  return nullptr;
}

}  // namespace nsbox
