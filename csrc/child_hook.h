// OP_HOOK (plan.h): a program run from the spawn plan, by the child (child_hook.cc) or, for a
// HOOK_CALLER step, by the parent (spawn_hook.cc). Both use RunHookProcess, which keeps to
// child.cc's rules: raw syscalls only, no allocation, no locks.
#pragma once
#include <stdint.h>

#include "child.h"

namespace nsbox {

// One hook to run, and what became of it.
struct HookRun {
  const char* path;
  char* const* argv;
  char* const* envp;
  int32_t timeoutMs;        // 0: no limit
  const char* stdinBefore;  // its stdin: this text, then pid in decimal (when >= 0), then stdinAfter
  long pid;
  const char* stdinAfter;
  const char* root;  // chroot(2) into this directory before execve(2), or nullptr
  char* stack;       // the top of a stack (16 KiB or more) its process runs on until execve
  // Results.
  int sysid;   // the SysId of the failing syscall (SYS_STEP: execve)
  int status;  // -1, its exit code (0-255), or 256 + the signal that ended it
  int taillen;
  char tail[kHookTail];  // the end of its stderr
};

// Runs the hook to its end: a process of its own (clone(CLONE_VM|CLONE_VFORK)) in a process
// group of its own, stdin a pipe with the text, stdout read and dropped, stderr read (its end
// kept), every other fd closed, PR_SET_PDEATHSIG SIGKILL; waited for on a pidfd (ppoll(2)) up
// to its timeout, when its group is SIGKILLed. Returns 0 once it has exited with status 0;
// ETIMEDOUT, ECANCELED (a non-zero exit or a signal) or a syscall's errno, negated.
long RunHookProcess(HookRun* h);

// OP_HOOK at step `step`, in the child. 0 or -errno with *sysid (and the status above it).
long RunHookStep(ChildCtx* ctx, const Step& s, int step, int* sysid);

// Our pid as the parent sees it, asked once (MSG_HOSTPID) and kept in ctx->hostpid.
long LearnHostPid(ChildCtx* ctx, int step, int* sysid);

}  // namespace nsbox
