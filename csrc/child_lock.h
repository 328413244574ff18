// Containment steps of the spawn plan, run in the child (see child_lock.cc).
#pragma once
#include "child.h"

namespace nsbox {

// Runs one OP_LOCK..OP_NO_TIOCSTI step; returns 0 or -errno and sets *sysid (plan.h SysId).
long RunLockStep(ChildCtx* ctx, const Step& s, int* sysid);

// OP_NETWORK (plan index `step`): lo up, then the parent's MSG_NETWORK handshake when asked.
long RunNetworkStep(ChildCtx* ctx, const Step& s, int step, int* sysid);

}  // namespace nsbox
