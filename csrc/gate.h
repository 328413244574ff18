// The parent's side of spawn's create/start gate (OP_GATE, plan.h; the child's is
// child_gate.cc): the listening socket the child waits on.
#pragma once
#include <unistd.h>

namespace nsbox {

// OP_GATE's listening socket at `path`, made before the clone: SOCK_STREAM (node:net can
// connect to it), CLOEXEC here (the child inherits it through clone, not exec), mode 0600
// before bind(2), so only its owner — the caller — and root can connect. An existing path is
// EEXIST, never replaced. Returns the fd, or -errno with *syscall.
int MakeGate(const char* path, const char** syscall);

// Removes the gate's path unless the spawn succeeded (the child then listens there).
struct GatePath {
  const char* path = nullptr;
  bool keep = false;
  ~GatePath() {
    if (path && !keep) unlink(path);
  }
};

}  // namespace nsbox
