// The parent's side of spawn's status protocol (plan.h), between clone3(2) and the child's
// execve: the messages the child sends and what the parent does for each (spawn.cc makes the
// child and hands the result to JS).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "child.h"
#include "exit_pin.h"
#include "fd.h"
#include "napi.h"
#include "plan.h"
#include "spawn_maps.h"

namespace nsbox {

// waitid(2) on a pidfd until it has exited; 0 or the errno.
int WaitReap(int pidfd);

// SIGKILL and reap a process known only by its pid, if it is our own unreaped child (a
// grandchild made with CLONE_PARENT): while it is unreaped its pid cannot name another.
void KillOwnChild(pid_t pid);

// One spawn's side of the status protocol (plan.h), between clone3 and the child's exec.
struct Session {
  int sock;
  long pid;  // the direct child
  int nsteps;
  const Step* steps;  // the parsed plan (our copy: the child may have its own)
  const MapsSpec& maps;
  const ParentSpec& parent;
  napi_env env = nullptr;
  napi_value onNetwork = nullptr;  // spawn's 5th argument: (pid) => errno, run at MSG_NETWORK
  // Off the JS thread (spawn_async.cc): MSG_NETWORK's call is handed to it through this.
  int32_t (*netCall)(void* arg, pid_t from) = nullptr;
  void* netArg = nullptr;
  int cancelFd = -1;  // readable: stop waiting for a helper (spawn_async.cc, at teardown)
  Fd grandPidfd;
  long grandPid = 0;  // the grandchild made by OP_FORK, once it is reported
  Msg failure = {};
  bool failed = false;
  std::string failText;  // the end of a failed hook's stderr (OP_HOOK), if any
  // The text that came after the Msg being handled (a MSG_ERROR of a failed hook).
  const char* text = nullptr;
  size_t textLen = 0;
  MapsError mapsErr;
  Fd listener;         // the seccomp user-notification fd (OP_SECCOMP with NEW_LISTENER)
  Fd terminal;         // the pty master made by the child (OP_TERMINAL with TTY_NEW)
  int gateStep = -1;   // the plan's OP_GATE, if any
  bool gated = false;  // MSG_GATE came: the child waits for a start, we stop reading
  // Messages from a sender that is neither the child nor its reported grandchild: the
  // grandchild's may overtake the MSG_PID that names it, so a few (with any fd that came
  // along) wait for that, then are handled in order.
  Msg early[4];
  pid_t earlyFrom[4];
  Fd earlyFd[4];
  int nearly = 0;
  // A protocol error: the parent cannot go on talking to the child (errno, syscall, step).
  int protoErr = 0;
  const char* protoSyscall = nullptr;
  int protoStep = -2;            // -2: the protocol itself, no step of the plan
  std::vector<Fd> pinned;        // OP_PIN: the namespaces opened for a template, in the plan's order
  bool wantExitPin = false;      // OP_EXIT_PIN in the plan: Settle takes exitPin after the exec
  ExitCloser* closer = nullptr;  // the environment's (Addon::closer): admits and closes pins
  Fd exitPin;                    // the live process's mount namespace (exit_pin.h), to HoldChild
  Fd execPipe;                   // MSG_EXEC: the exec stub's report, read once the socket has closed

  void EndOfStream();
  bool Protocol(int err, const char* syscall, int step = -2) {
    protoErr = err, protoSyscall = syscall, protoStep = step;
    return false;
  }
  void Fail(const Msg& m, const char* tail = nullptr, size_t tailLen = 0) {
    if (failed) return;
    failed = true, failure = m;
    if (tail) failText.assign(tail, tailLen);
  }
  bool Handle(const Msg& m, pid_t from, Fd& passed);
  int32_t CallNetwork(pid_t from);
  bool Answer(int32_t answer, int step);
  bool RunHook(const Msg& m, pid_t from);
  bool Pin(const Msg& m, pid_t from);
  void Receive();
  void KillAll(int childPidfd);
};

}  // namespace nsbox
