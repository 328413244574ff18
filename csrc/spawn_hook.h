// The parent's side of OP_HOOK (plan.h HOOK_CALLER): a hook the parent runs, in its own
// namespaces, root and credentials, while the child waits (MSG_HOOK).
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include <string>

#include "child.h"

namespace nsbox {

// Runs the hook of step `s` (RunHookProcess, child_hook.cc) with `pid` in its state. Returns 0
// or -errno, with the MSG_ERROR value (SysId and status) in *value and the end of its stderr
// in *tail.
long RunCallerHook(const Step& s, pid_t pid, int32_t* value, std::string* tail);

}  // namespace nsbox
