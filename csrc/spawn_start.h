// What spawn (spawn.cc, blocking) and spawnAsync (spawn_async.cc, off the JS thread) share:
// the clone of the child and the outcome of its status session (spawn_session.h).
#pragma once
#include <stddef.h>

#include "addon.h"
#include "child.h"
#include "fd.h"
#include "gate.h"
#include "napi.h"
#include "plan_parse.h"
#include "spawn_session.h"

namespace nsbox {

// A started child and what the parent keeps of it. With CLONE_VM the child runs on the
// caller's stack memory and reads `ctx` and the plan: all of it stays put (and alive) until
// the session has ended.
struct Started {
  Fd sock;        // the status socket, parent end
  Fd childPidfd;  // the direct child's pidfd
  Fd gate;        // OP_GATE's listening socket until the clone
  GatePath gatePath;
  ChildCtx ctx;
  int gateStep = -1;
  long pid = 0;
  // On failure: the step (-1: clone3) and syscall of a CloneFailure; null for socketpair(2).
  int failStep = -1;
  const char* failSyscall = nullptr;
};

// The gate's socket, the status socketpair, clone3(2) on `stack`. Returns 0 or an errno
// (with st.failStep and st.failSyscall).
int StartChild(ParsedPlan& plan, void* stack, size_t stackSize, Started& st);

// Blocking (waitid on the intermediate, kill and reap on failure): the live process after a
// session that ended without a protocol error; *livePid its pid.
Fd* Settle(Session& ss, Fd& childPidfd, long pid, long* livePid);

// The JS results (src/native.ts NativeSpawnResult).
Napi::Value Outcome(Napi::Env env, Addon* addon, Session& ss, Fd* live, long livePid);
Napi::Value ProtocolFailure(Napi::Env env, const Session& ss, long pid);
Napi::Object CloneFailure(Napi::Env env, long err, int step, const char* syscall);

// spawn_async.cc
void InitSpawnAsync(Napi::Env env, Napi::Object exports);

}  // namespace nsbox
