// The child side of spawn: runs the parsed plan with async-signal-safe code only.
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include <linux/prctl.h>

#include "plan.h"

namespace nsbox {

// One parsed step. Pointers point into memory the parent keeps alive until the child has
// exec'd or exited (the parent blocks on the status socket until then).
struct Step {
  int32_t op;
  int32_t a;            // first numeric argument (fd, flags, id, signal, count)
  int32_t b;            // second numeric argument
  int32_t c, d;         // third and fourth (mknod major/minor, setattr clear)
  const char* str;      // string argument (hostname, cwd, exec file, mount source)
  const char* str2;     // mount target, symlink path, file content
  const char* str3;     // mount fstype
  const char* str4;     // mount data
  const int32_t* list;  // list arguments (gids; fd pairs)
  int32_t nlist;
  char* const* argv;  // OP_EXEC
  char* const* envp;  // OP_EXEC
  const char* strs;   // the plan's string buffer: base of string offsets in `list` (OP_LANDLOCK)
};

constexpr int kMaxTrees = 8;

// What an init keeps when it lets go of its copy of Node's memory (child_init.cc DropCopy;
// spawn.cc KeepForInit fills it): [keep[0], keep[1]) its stack, [keep[2], keep[3]) the addon's
// image (its code and constants); the rseq(2) area the cloning thread registered (glibc's, in
// that thread's TLS: the init inherits the registration and the kernel writes there), its
// length and signature. keep all zero: it keeps everything; rseq_addr 0: none registered.
// Node's binary in our mm (its file mappings, as /proc/self/maps lists them) and the fields
// PR_SET_MM_MAP sets with the exe (prctl(2); brk as at the clone): spawn.cc reads them.
// Node's binary is 7 or 8 mappings, and V8 maps part of it again for each isolate (a Worker).
constexpr int kMaxExeRanges = 64;

struct ExeLayout {
  unsigned long ranges[2 * kMaxExeRanges];  // [lo, hi) pairs
  int nranges;
  struct prctl_mm_map map;
};

struct InitKeep {
  unsigned long keep[4];
  unsigned long rseq_addr;
  unsigned rseq_len, rseq_sig;
};

struct ChildCtx {
  const Step* steps;
  int nsteps;
  int sock;         // status socket, child end (CLOEXEC)
  int parent_sock;  // parent end: closed first thing in the child
  int rootfd;       // O_PATH fd of /newroot once the root is mounted there (child_fs.cc), or -1
  int basefd;       // O_PATH fd of the base tmpfs root (child_fs.cc), or -1
  int ntrees;       // detached (idmapped) mount trees received from the parent
  int trees[8];     // kMaxTrees
  int procfd;  // O_PATH fd of this process's /proc/PID (host procfs), kept by OP_PIVOT for OP_LOCK, or -1
  char* helper_stack;    // top of the small stack OP_LOCK's helper runs on (the bottom of ours)
  int redump;            // 1: we share Node's mm, which was dumpable: make it so again after setuid/setgid
  int gate;              // OP_GATE's listening socket (made by the parent), or -1
  int gated;             // 1 once started: ctx->sock is the starter's connection (plan.h kGate*)
  char exec_path[4096];  // the exec step's file as OP_GATE resolved it (run as is), or ""
  int tty;      // 1: OP_TERMINAL made fd 0 our controlling terminal (an init hands it to the command)
  int hostpid;  // our pid as the parent sees it (MSG_HOSTPID), once an OP_HOOK has asked, or 0
  int errlen;   // bytes in errtext: the end of a failed OP_HOOK's stderr, sent with its MSG_ERROR
  char errtext[kHookTail];
  int entered;    // 1 once OP_ENTER joined a mount namespace: no /oldroot, files mount via /proc/self/fd
  int fork_next;  // OP_FORK with vm: the step its CLONE_VM copy goes on from
  // A plain OP_FORK (a = 0, b = 0: into a joined pid or time namespace) made as late as the plan
  // allows (child.cc ForkFirst): step + 1, or 0. The pdeathsig a step asked for meanwhile, which
  // the copy sets again (a fork clears it); whether a filter is loaded (clone(2), not clone3).
  int fork_deferred;
  int fork_pdeathsig;
  int filtered;
  InitKeep init_keep;  // OP_INIT with dropCopy: what the init keeps of its copy of Node's memory
  int init_fd;         // the init image's memfd (init_image.h), or -1: the exec'd init's, the exec stub's
  int exec_init;       // 1: OP_INIT execs the image (else the init is a fork, as before)
  // A child with a copy of Node's mm (not CLONE_VM): HideExe (child.cc) unmaps Node's binary
  // from it and makes the init image its exe first thing, so no /proc/PID/exe of a process
  // nsbox puts in a sandbox's pid namespace leads to Node's binary (CVE-2019-5736).
  int hide_exe;
  ExeLayout exe;
  // The step before which our credentials stop being Node's in Node's own user namespace (the
  // first OP_SETGID, OP_CAPSET or OP_SECCOMP there), or -1: HideIds (child.cc) runs before it.
  int hide_at;
  long hide_suid;  // >= 0: the saved uid HideIds sets (a uid of Node's namespace, not its euid)
  int hidden;      // 1 once HideIds set hide_suid: OP_SETUID keeps it as the saved uid
  // OP_MOUNT with MNT_ANCHOR: the mounts (proc, sys, volumes with later steps) whose root
  // later steps resolve beneath (MNT_IN_ANCHOR, OP_SYSCTL, OP_LOCK's sysfs): dst as given (a
  // plan string), in root or not (OP_PIVOT makes in-root ones absolute), the root's fd.
  int nanchors;
  struct {
    const char* dst;
    int in_root;
    int fd;
  } anchors[64];
};

// strlen(3) for the child, which may not call libc (the child's objects are built with
// -fno-builtin, so the compiler does not turn this loop back into a strlen call).
// OP_EXEC's search (child.cc): whether its file is searched in PATH (execvp(3)'s rule: asked,
// and no slash in it), and the PATH searched (the command's environment's, else execvp(3)'s
// default). The start gate resolves the file the same way (child_gate.cc).
bool Searched(const Step& s);
const char* SearchPath(const Step& s);

// strcmp(3) == 0, for the child.
inline bool Same(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

inline size_t CStrLen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// `v` (>= 0) in decimal at `out` (room for 20 digits), without a NUL; returns the count.
inline long Digits(long v, char* out) {
  char rev[24];
  int k = 0;
  do {
    rev[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && k < 20);
  for (int i = 0; i < k; i++) out[i] = rev[k - 1 - i];
  return k;
}

// write(2) of all of `len` bytes, again after EINTR or a short write: 0 or -errno.
long WriteAll(long fd, const char* p, size_t len);

// Entry point of the cloned child; never returns (execs or exits).
int ChildMain(void* ctx);

// OP_EXEC's execve(2), with a PATH search when the step asks (`resolved`: the file a start
// gate resolved, run as is). With the step's kExecStub and the image's memfd `stub`, through
// the exec stub (init_image.h): execveat(2) of the sealed memfd, which makes the command's
// execve itself and, should it fail, reports the errno on `report` — as the MSG_ERROR of step
// `step` (the status socket) or, with `step` -1, as four bytes (an exec'd init's socket);
// `report` -1: nothing (the command exits 127). Returns -errno on failure (of the stub's exec).
long ExecStep(const Step& s, const char* resolved, int stub, int report, long step);

// Sends the parent a Msg {kind, step} with `fd` attached (SCM_RIGHTS) over the status socket:
// the seccomp listener (MSG_LISTENER), the pty master (MSG_TERMINAL). 0 or -errno.
long SendFdToParent(ChildCtx* ctx, int32_t kind, int step, int fd);

// clone3(2) that runs fn(arg) on the new stack in the child (like clone(2)'s wrapper).
// Returns the child's pid (or -errno) in the parent.
extern "C" long nsbox_clone3(void* args, unsigned long size, int (*fn)(void*), void* arg);

// clone(2) with `flags` (exit signal in the low byte) that runs fn(arg) in the child on the
// stack whose top is `stack`. Returns the child's pid (or -errno) in the parent.
extern "C" long nsbox_clone(unsigned long flags, void* stack, int (*fn)(void*), void* arg);

}  // namespace nsbox
