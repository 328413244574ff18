// A connected SOCK_STREAM unix(7) socket to a path, for the parent-side clients of nsbox's own
// sockets: a console socket (pty.cc sendFd) and a start gate (gate_client.cc).
#pragma once
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "fd.h"

namespace nsbox {

// connect(2)s a CLOEXEC stream socket to `path` (1..107 bytes: TS checks). Returns the
// connected socket, or an invalid Fd with *err = errno and *syscall naming the call that failed.
inline Fd ConnectUnix(const std::string& path, int* err, const char** syscall) {
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    *err = ENAMETOOLONG;
    *syscall = "connect";
    return Fd();
  }
  memcpy(sa.sun_path, path.data(), path.size());
  Fd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    *err = errno;
    *syscall = "socket";
    return Fd();
  }
  int r;
  while ((r = connect(sock.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa)) < 0 &&
         errno == EINTR) {
  }
  if (r < 0) {
    *err = errno;
    *syscall = "connect";
    return Fd();
  }
  return sock;
}

}  // namespace nsbox
