// rtnetlink sockets made inside a network namespace (netlink.cc): the job a dedicated thread
// runs, shared by the polled sockets (netlink.cc) and spawn's synchronous requests
// (netlink_sync.cc).
#pragma once
#include <linux/netlink.h>
#include <sys/socket.h>

#include <string>

#include "addon.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace nsbox {

constexpr size_t kRecvSize = 1 << 16;  // larger than any rtnetlink datagram the kernel builds

// One datagram without blocking: its length, or -1 with errno (EAGAIN: none queued).
// *fromKernel is false for one another process sent (the caller drops it); *truncated when it
// did not fit in `len`.
inline ssize_t RecvDatagram(int fd, char* buf, size_t len, bool* fromKernel, bool* truncated) {
  sockaddr_nl from = {};
  iovec iov = {buf, len};
  msghdr mh = {};
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
  *fromKernel = from.nl_pid == 0;
  *truncated = (mh.msg_flags & MSG_TRUNC) != 0;
  return n;
}

// What the namespace thread does: enter `nsfd` (unless -1), socket(2), optionally bind(2)
// and listen(2) an inet socket there (sockets-in-netns) — or open(2) `path`, whose
// /proc/sys/net entry resolves to that namespace's sysctl — and exit. Only syscalls on the
// job's fields: no JS, no allocation, no locks.
struct SocketJob {
  int nsfd;
  int domain, type, protocol;
  const sockaddr* addr = nullptr;  // bind here when set
  socklen_t addrlen = 0;
  int backlog = -1;            // listen when >= 0
  const char* path = nullptr;  // open(2) this file instead of socket(2) (a /proc/sys/net sysctl)
  int oflags = 0;
  int fd = -1;
  int err = 0;
  const char* failed = nullptr;
};

// The most requests one exchange carries (connectToHost sends 4 in a datagram).
constexpr size_t kMaxExchange = 16;

// One rtnetlink exchange (netlink_sync.cc): sends `req` (`count` requests, each with NLM_F_ACK,
// their sequence numbers in `seqs`) on `fd` as one datagram, then reads (`buf`: kRecvSize
// bytes) until each is answered by its NLMSG_ERROR or NLMSG_DONE, appending every datagram
// that answered one of them to *out (each padded to 4 bytes). 0, or an errno with *failed
// naming the syscall ('sendto', 'recvmsg', 'poll'). No N-API: any thread may call it.
int ExchangeOn(int fd, const char* req, size_t len, const uint32_t* seqs, size_t count, char* buf,
               std::string* out, const char** failed);
// Checks a request datagram for ExchangeOn and reads its sequence numbers (at most
// kMaxExchange); false with ERR_INVALID_ARG_VALUE thrown. JS thread.
bool CheckExchange(Napi::Env env, const char* req, size_t len, uint32_t* seqs, size_t* count);
// True when `answers` holds nothing but ACKs.
bool AnswersOnlyAcks(const std::string& answers);
// The environment's host-side NETLINK_ROUTE socket (made on first use in the caller's
// namespace, closed at teardown) and its receive buffer; -errno if it cannot be made. JS thread.
int HostRtnlSocket(Napi::Env env, char** buf);

// Runs `job`: on a dedicated thread that enters job->nsfd, or on the calling thread when it
// is -1. False with a JS exception pending when it failed.
bool RunJob(Napi::Env env, SocketJob* job);

}  // namespace nsbox
