// Security steps of the spawn plan (capabilities, no_new_privs, umask, personality,
// seccomp, sysctl, the parent-side settings): parsed here, run in the child (child_security.cc).
#pragma once
#include <stdint.h>

#include "child.h"

namespace nsbox {

// Runs one OP_NO_NEW_PRIVS..OP_PARENT step (but OP_LANDLOCK); returns 0 or -errno and sets
// *sysid (plan.h SysId) to the syscall that failed.
long RunSecurityStep(ChildCtx* ctx, const Step& s, int step, int* sysid);

// Parses one security step's arguments into `s`. Returns nullptr when `op` is not one of
// them (*handled = false) or when it is well formed, else an error message. `str` resolves
// a string offset (nullptr when out of range).
const char* ParseSecurityStep(int32_t op, const int32_t* a, int32_t nargs,
                              const char* (*str)(void* env, int32_t off), void* env, Step& s, bool* handled);

}  // namespace nsbox
