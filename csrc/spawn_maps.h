// The parent's answers to a child's MSG_MAPS (see spawn.cc): id maps written into
// /proc/PID/{setgroups,uid_map,gid_map} or by newuidmap/newgidmap, and the idmapped trees of
// idmapped volumes, sent back with the answer.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "fd.h"
#include "napi.h"

namespace nsbox {

struct MapsError {
  int err = 0;
  std::string syscall, path;
};

// Writes the maps described by `maps` (src/native.ts SpawnMaps) for process `pid`.
MapsError WriteMaps(Napi::Object maps, pid_t pid);

// Idmapped volumes: detached copies of each source, idmapped with pid's user namespace.
MapsError IdmapTrees(Napi::Object maps, pid_t pid, std::vector<Fd>& out);

// The answer to MSG_PARENT: `parent` (src/native.ts SpawnParentSide) applied to `pid`:
// rlimits with prlimit(2), then /proc/PID/oom_score_adj.
MapsError ApplyParentSide(Napi::Value parent, pid_t pid);

// The answer to MSG_MAPS: the errno, with the idmapped trees as SCM_RIGHTS.
void SendAnswer(int sock, int32_t answer, const std::vector<Fd>& trees);

}  // namespace nsbox
