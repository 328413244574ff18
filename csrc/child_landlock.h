// The Landlock step of the spawn plan, run in the child (see child_landlock.cc).
#pragma once
#include "child.h"

namespace nsbox {

// Runs one OP_LANDLOCK step; returns 0 or -errno and sets *sysid (plan.h SysId, with the
// failing rule's index in the upper bits: kSysItemShift).
long RunLandlockStep(const Step& s, int* sysid);

}  // namespace nsbox
