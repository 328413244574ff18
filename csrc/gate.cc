// The gate's listening socket (gate.h).
#include "gate.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fd.h"

namespace nsbox {

int MakeGate(const char* path, const char** syscall) {
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  *syscall = "bind";
  if (len == 0 || len >= sizeof sa.sun_path) return -ENAMETOOLONG;
  memcpy(sa.sun_path, path, len);
  *syscall = "socket";
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return -errno;
  // bind(2) gives a unix socket's file the socket inode's mode, less the umask (unix_bind):
  // set before bind, the mode is never wider than 0600, not even for an instant.
  *syscall = "fchmod";
  if (fchmod(fd.get(), 0600) < 0) return -errno;
  *syscall = "bind";
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0)
    return errno == EADDRINUSE ? -EEXIST : -errno;
  *syscall = "listen";
  if (listen(fd.get(), 4) < 0) {
    int err = errno;
    unlink(path);
    return -err;
  }
  return fd.release();
}

}  // namespace nsbox
