// OP_TERMINAL: a controlling terminal for the child (child_tty.cc).
#pragma once

#include "child.h"

namespace nsbox {

// Runs OP_TERMINAL (plan.h); returns 0 or -errno and sets *sysid (plan.h SysId) to the
// syscall that failed.
long RunTerminalStep(ChildCtx* ctx, const Step& s, int step, int* sysid);

}  // namespace nsbox
