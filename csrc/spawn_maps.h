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

// src/native.ts SpawnMaps, read once before clone3(2): while the child runs, the parent
// answers it without calling into JS (no getter can throw, or change its answer, then).
struct MapsSpec {
  bool present = false;  // false: `maps` was null (a MSG_MAPS is answered EINVAL)
  bool helper = false;   // mode 'helper' (newuidmap/newgidmap) rather than 'direct'
  bool denySetgroups = false;
  std::string uidMap, gidMap;
  std::vector<std::string> uidHelper, gidHelper, idmapSources;
};

// src/native.ts SpawnParentSide, read once before clone3(2).
struct ParentSpec {
  bool present = false;  // false: undefined (a MSG_PARENT is answered EINVAL)
  std::vector<uint64_t> rlimits;  // (resource, soft, hard) triples
  bool hasOom = false;
  int32_t oomScoreAdj = 0;
};

// Read and check spawn's `maps` and `parent` arguments. Return nullptr, or what is wrong
// (an ERR_INVALID_ARG_TYPE/VALUE message); a getter that threw leaves its exception pending.
const char* ReadMaps(Napi::Value v, MapsSpec* out);
const char* ReadParentSide(Napi::Value v, ParentSpec* out);

// Writes the maps described by `maps` for process `pid`.
MapsError WriteMaps(const MapsSpec& maps, pid_t pid);

// Idmapped volumes: detached copies of each source, idmapped with pid's user namespace.
MapsError IdmapTrees(const MapsSpec& maps, pid_t pid, std::vector<Fd>& out);

// The answer to MSG_PARENT: `parent` applied to `pid`: rlimits with prlimit(2), then
// /proc/PID/oom_score_adj.
MapsError ApplyParentSide(const ParentSpec& parent, pid_t pid);

// The answer to MSG_MAPS: the errno, with the idmapped trees as SCM_RIGHTS. Returns 0 or
// the errno of sendmsg(2).
int SendAnswer(int sock, int32_t answer, const std::vector<Fd>& trees);

}  // namespace nsbox
