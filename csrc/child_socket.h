// A socket (or a /proc/sys/net file) made inside a network namespace that only its owning user
// namespace may enter: run in a short-lived child (child_socket.cc, child.cc's rules: raw
// syscalls only) that shares our fd table. See netlink.cc RunJob.
#pragma once

namespace nsbox {

// Lives in a MAP_SHARED page: the child (its own mm) reads the job and writes the result.
struct SocketChildArgs {
  int userfd;  // the network namespace's owning user namespace (NS_GET_USERNS)
  int nsfd;
  int domain, type, protocol;
  const void* addr;  // our memory: the child's copy of it is identical
  unsigned addrlen;
  int backlog;
  const char* path;
  int oflags;
  int slot;  // the fd number the result replaces with dup3 (the fd table is shared)
  int err;   // out: errno of the failed step
  int step;  // out: 0 done, else a SocketChildStep
};

enum SocketChildStep { SC_SETNS_USER = 1, SC_SETNS_NET, SC_SOCKET, SC_BIND, SC_LISTEN, SC_OPEN, SC_DUP3 };

// The child's main: setns(user), setns(net), then the socket or the file, dup3'ed onto slot.
int SocketChildMain(void* arg);

}  // namespace nsbox
