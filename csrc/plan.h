// The spawn plan: built and serialised in TS (src/namespaces/plan.ts), validated again here,
// executed by the child (child.cc) with async-signal-safe code only.
//
// Wire format (Int32Array):
//   header: PLAN_VERSION, clone_flags_lo, clone_flags_hi, cgroup_fd (-1 = none), nsteps
//   then nsteps times: op, nargs, arg[0..nargs)
// String arguments are byte offsets into a separate buffer of NUL-terminated strings.
// New steps (mounts, pivot_root, capabilities, seccomp, landlock) are new opcodes here,
// a case in child.cc and a builder in TS: nothing else changes.
#pragma once
#include <stdint.h>

namespace nsbox {

constexpr int32_t kPlanVersion = 1;
constexpr int kHeaderWords = 5;

enum Op : int32_t {
  OP_SETNS = 1,          // fd, nstype                 join an existing namespace
  OP_UNSHARE = 2,        // flags                      new namespaces after joins
  OP_USERNS_SYNC = 3,    // -                          parent writes uid/gid maps, then acks
  OP_FORK = 4,           // flags                      clone(CLONE_PARENT|flags); grandchild goes on
  OP_SETSID = 5,         // -
  OP_SETPGID = 6,        // pgid (0 = own group)
  OP_SETHOSTNAME = 7,    // str
  OP_SETDOMAINNAME = 8,  // str
  OP_SETGROUPS = 9,      // n, gid...
  OP_SETGID = 10,        // gid
  OP_SETUID = 11,        // uid
  OP_CHDIR = 12,         // str
  OP_FDS = 13,           // n, (target, source)...   then close every other fd
  OP_PDEATHSIG = 14,     // signal                     race-free via the status socket
  OP_EXEC = 15,          // file str, search(0/1), argc, argv str..., envc, env str...
  OP_MAX_
};

// Child -> parent messages over the SOCK_SEQPACKET status socket.
enum MsgKind : int32_t {
  MSG_ERROR = 1,  // step index, errno
  MSG_MAPS = 2,   // value = pid whose maps to write (0 = the direct child)
  MSG_PID = 3,    // value = pid of the grandchild made by OP_FORK
};

struct Msg {
  int32_t kind;
  int32_t step;
  int32_t err;
  int32_t value;
};

}  // namespace nsbox
