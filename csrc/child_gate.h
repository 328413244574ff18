// The create/start gate, run by the child (see child_gate.cc).
#pragma once
#include "child.h"

namespace nsbox {

// OP_GATE at step `step`: resolves the exec step's file, tells the parent, waits for a start.
// Returns 0 once started (ctx->sock is then the starter's connection), or -errno with
// *sysid; *at is the step to blame (the exec step for a command that cannot be run).
long RunGate(ChildCtx* ctx, int step, int* sysid, int* at);

}  // namespace nsbox
