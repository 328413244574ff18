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

// src/native.ts SpawnMaps, copied out of JS before the clone: nothing JS-side is touched
// while a child exists (a worker may be terminated at any moment, and every napi call that
// could run JS fails from then on).
struct MapsSpec {
  bool present = false;  // maps was an object (a new user namespace)
  bool helper = false;   // mode 'helper': newuidmap/newgidmap
  bool denySetgroups = false;
  std::string uidMap, gidMap;
  std::vector<std::string> uidHelper, gidHelper, idmapSources;
  // The bound on each helper's run (ms): killed and reaped after it, ETIMEDOUT.
  int helperTimeoutMs = 10000;
};

// src/native.ts SpawnParentSide, copied likewise.
struct ParentSpec {
  bool present = false;
  std::vector<uint64_t> rlimits;  // (resource, soft, hard) triples
  bool hasOomScoreAdj = false;
  int32_t oomScoreAdj = 0;
};

// Read `v` (SpawnMaps | null) and `v` (SpawnParentSide | undefined) with raw napi calls whose
// every status is checked. False when a field has the wrong type (a TypeError is thrown) or
// the environment refused (it is being torn down; nothing is thrown then).
bool ReadMaps(napi_env env, napi_value v, MapsSpec* out);
bool ReadParentSide(napi_env env, napi_value v, ParentSpec* out);

// Writes the id maps for process `pid`. A helper (newuidmap/newgidmap) runs for at most
// maps.helperTimeoutMs (ETIMEDOUT), or until `cancelFd` (-1: none) is readable (ECANCELED).
MapsError WriteMaps(const MapsSpec& maps, pid_t pid, int cancelFd = -1);

// Idmapped volumes: detached copies of each source, idmapped with pid's user namespace.
MapsError IdmapTrees(const MapsSpec& maps, pid_t pid, std::vector<Fd>& out);

// The answer to MSG_PARENT: rlimits with prlimit(2), then /proc/PID/oom_score_adj.
MapsError ApplyParentSide(const ParentSpec& parent, pid_t pid);

// The answer to MSG_MAPS: the errno, with the idmapped trees as SCM_RIGHTS. Returns 0 or
// the errno of sendmsg(2).
int SendAnswer(int sock, int32_t answer, const std::vector<Fd>& trees);

}  // namespace nsbox
