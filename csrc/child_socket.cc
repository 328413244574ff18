// The child of netlink.cc's RunInOwnerUserns (child.cc's rules: raw syscalls only — it is a
// copy of a multi-threaded process, so no libc lock may be taken and errno is not ours).
// setns(2) into a user namespace is refused to a process that shares its mm or its fs with
// another (userns_install), so this is a child with its own mm (copy-on-write) and its own fs,
// sharing only the fd table (CLONE_FILES): what it makes is ours the moment it dup3s it onto
// the slot the parent reserved. Its creator owns the user namespace, so it has every
// capability there after joining it (user_namespaces(7)), and so may join the network
// namespace (setns(2): CAP_SYS_ADMIN over both the netns's and the caller's user namespace).
#include "child_socket.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "rawsys.h"

namespace nsbox {

namespace {
using raw::sc;

int Fail(SocketChildArgs* a, int step, long r) {
  a->err = static_cast<int>(-r);
  a->step = step;
  return 1;
}
}  // namespace

int SocketChildMain(void* arg) {
  auto* a = static_cast<SocketChildArgs*>(arg);
  // Non-dumpable before it joins: it shares Node's fd table, so a process of the container's
  // user namespace must not ptrace it or pidfd_getfd(2) from it (its own mm: Node is unchanged).
  long r = sc(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (r < 0) return Fail(a, SC_SETNS_USER, r);
  r = sc(SYS_setns, a->userfd, CLONE_NEWUSER);
  if (r < 0) return Fail(a, SC_SETNS_USER, r);
  r = sc(SYS_setns, a->nsfd, CLONE_NEWNET);
  if (r < 0) return Fail(a, SC_SETNS_NET, r);
  long fd;
  if (a->path) {
    fd = sc(SYS_openat, AT_FDCWD, a->path, a->oflags | O_CLOEXEC);
    if (fd < 0) return Fail(a, SC_OPEN, fd);
  } else {
    fd = sc(SYS_socket, a->domain, a->type | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) return Fail(a, SC_SOCKET, fd);
    if (a->addr) {
      int one = 1;
      if (a->backlog >= 0) sc(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      r = sc(SYS_bind, fd, a->addr, a->addrlen);
      if (r < 0) {
        sc(SYS_close, fd);
        return Fail(a, SC_BIND, r);
      }
    }
    if (a->backlog >= 0) {
      r = sc(SYS_listen, fd, a->backlog);
      if (r < 0) {
        sc(SYS_close, fd);
        return Fail(a, SC_LISTEN, r);
      }
    }
  }
  r = sc(SYS_dup3, fd, a->slot, O_CLOEXEC);
  sc(SYS_close, fd);
  if (r < 0) return Fail(a, SC_DUP3, r);
  a->step = 0;
  return 0;
}

}  // namespace nsbox
