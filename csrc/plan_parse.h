// The parent's check of a serialised spawn plan (plan.h): every word the child will act on
// is bounded here, before clone3(2), so the child (child.cc) can trust what it runs.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <utility>
#include <vector>

#include "child.h"

namespace nsbox {

struct ParsedPlan {
  uint64_t cloneFlags = 0;
  int cgroupFd = -1;
  bool exitPin = false;  // OP_EXIT_PIN: the parent pins the command's mount namespace (spawn.cc)
  std::vector<Step> steps;
  std::vector<char*> ptrs;  // argv/envp arrays, NULL-terminated, pointing into the strings
};

// Parses `w` (nw words) with its string buffer into `p`. Returns nullptr when the plan is
// well formed, else what is wrong (for an ERR_INVALID_ARG_VALUE). Nothing is clamped: a
// number out of its range is refused.
const char* ParsePlan(const int32_t* w, size_t nw, const char* strs, size_t nstrs, ParsedPlan& p);

}  // namespace nsbox
