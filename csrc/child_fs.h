// Filesystem steps of the spawn plan, run in the child (see child_fs.cc).
#pragma once
#include "child.h"

namespace nsbox {

// Runs one OP_FS_BASE..OP_PIVOT step; returns 0 or -errno and sets *sysid (plan.h SysId) to
// the syscall that failed.
long RunFsStep(ChildCtx* ctx, const Step& s, int* sysid);

}  // namespace nsbox
