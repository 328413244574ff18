// The init of a new pid namespace, run by the child as its last step (see child_init.cc).
#pragma once
#include "child.h"

namespace nsbox {

// OP_INIT: becomes the init, starts `exec` (the plan's OP_EXEC) in a child, and never
// returns once that has exec'd. Returns -errno with *sysid (plan.h SysId) on failure;
// *execFailed then says the command's execve(2) failed (the exec step's failure).
long RunInit(ChildCtx* ctx, const Step& exec, bool dropCopy, int* sysid, bool* execFailed);

}  // namespace nsbox
