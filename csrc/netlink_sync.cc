// spawn's network step (src/net/spawn-network.ts): rtnetlink requests sent one at a time on
// a blocking socket, each waiting for its ACK. The parent is already blocked in spawn while
// the child waits at its network step; rtnetlink handles a request inside sendmsg(2), so
// each answer is queued by the time recv(2) is called.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "netlink.h"

namespace nsbox {
namespace {

// netlinkTransact(nsfd, requests): sends each rtnetlink request (a "doit" one: a change or a
// get; or a dump, answered up to its NLMSG_DONE) in turn on one blocking socket made in the namespace of nsfd
// (-1: ours) and returns, per request, every datagram the kernel answered with, concatenated, up to and
// including its NLMSG_ERROR (NLM_F_ACK is set on each). Stops after the first request the kernel refused.
// Synchronous, for spawn's network step only: the kernel handles rtnetlink inside sendmsg(2), so the answer
// is already queued when recv(2) is called; a 5 s SO_RCVTIMEO guards against a kernel that never answers.
// src/net/netlink decodes.
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketJob job;
  if (!ArgOptFd(info, 0, &job.nsfd)) return env.Undefined();
  if (!info[1].IsArray()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "netlinkTransact(nsfd, Buffer[])");
    return env.Undefined();
  }
  Napi::Array reqs = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < reqs.Length(); i++) {
    Napi::Value v = reqs.Get(i);
    if (!v.IsBuffer() || v.As<Napi::Buffer<char>>().Length() < sizeof(nlmsghdr)) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE",
                "netlinkTransact(nsfd, Buffer[]): a request is not a netlink message");
      return env.Undefined();
    }
  }
  job.domain = AF_NETLINK;
  job.type = SOCK_RAW;
  job.protocol = NETLINK_ROUTE;
  if (!RunJob(env, &job)) return env.Undefined();
  Fd fd(job.fd);
  int one = 1;
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::unique_ptr<char[]> buf(new char[kRecvSize]);
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t i = 0; i < reqs.Length(); i++) {
    Napi::Buffer<char> b = reqs.Get(i).As<Napi::Buffer<char>>();
    std::string msg(b.Data(), b.Length());
    nlmsghdr* h = reinterpret_cast<nlmsghdr*>(&msg[0]);
    h->nlmsg_flags |= NLM_F_ACK;
    h->nlmsg_seq = i + 1;
    sockaddr_nl to = {};
    to.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      ThrowSys(env, errno, "sendto");
      return env.Undefined();
    }
    std::string answer;
    bool acked = false, refused = false;
    while (!acked) {
      do {
        n = recv(fd.get(), buf.get(), kRecvSize, 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        ThrowSys(env, errno == EAGAIN ? ETIMEDOUT : errno, "recvmsg");
        return env.Undefined();
      }
      bool ours = false;
      int len = static_cast<int>(n);
      for (nlmsghdr* m = reinterpret_cast<nlmsghdr*>(buf.get()); NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
        if (m->nlmsg_seq != i + 1) continue;  // a stray answer to an earlier request
        ours = true;
        if (m->nlmsg_type == NLMSG_DONE) acked = true;  // a dump's end (an ACK may follow it: ignored)
        if (m->nlmsg_type == NLMSG_ERROR) {
          acked = true;
          const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(m));
          refused = m->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) && e->error != 0;
        }
      }
      if (ours) answer.append(buf.get(), static_cast<size_t>(n));
    }
    out.Set(i, Napi::Buffer<char>::Copy(env, answer.data(), answer.size()));
    if (refused) break;
  }
  return out;
}

}  // namespace

void InitNetlinkSync(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkTransact", Napi::Function::New(env, NetlinkTransact, "netlinkTransact"));
}

}  // namespace nsbox
