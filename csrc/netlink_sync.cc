// Synchronous rtnetlink round trips. rtnetlink handles a request inside sendmsg(2): its
// answers are queued (or, on a full receive queue, dropped with ENOBUFS) by the time
// sendmsg returns, so reading them at once needs no event-loop turn.
// - netlinkTransact: spawn's network step (src/net/spawn-network.ts), requests sent one at
//   a time on a blocking socket, each waiting for its ACK. The parent is already blocked in
//   spawn while the child waits at its network step.
// - netlinkExchange: connectToHost and connectToBridge (src/net/connect.ts), one datagram of
//   requests on a non-blocking socket, read back until each is ACKed; netlinkSocketIn makes
//   the socket inside a namespace when none was made with it.
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
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

// The environment's host-side NETLINK_ROUTE socket for netlinkExchange(-1, …): made on first
// use in the caller's network namespace, closed by the environment's cleanup hook (process
// exit, worker termination). Joins no multicast group and is never polled by libuv, so it
// never keeps the process alive.
struct HostRtnl {
  int fd = -1;
  char* buf = nullptr;  // kRecvSize bytes, for every exchange of this environment
};

void CloseHostRtnl(void* arg) {
  HostRtnl* h = static_cast<HostRtnl*>(arg);
  if (h->fd >= 0) close(h->fd);
  delete[] h->buf;
  delete h;
}

// A guard, not a wait: the answers are queued before sendto(2) returns (see the top).
constexpr int kExchangeTimeoutMs = 1000;

}  // namespace

// See netlink.h: reads the request datagram's headers into `seqs`: every message well-formed,
// a request asking for an ACK, not a dump (whose end is NLMSG_DONE, produced as it is read),
// sequence numbers distinct. False with ERR_INVALID_ARG_VALUE thrown otherwise.
bool CheckExchange(Napi::Env env, const char* p, size_t left, uint32_t* seqs, size_t* count) {
  const char* why = nullptr;
  size_t n = 0;
  if (left == 0) why = "netlinkExchange: empty request";
  while (why == nullptr && left > 0) {
    nlmsghdr h;
    if (left < sizeof h) {
      why = "netlinkExchange: trailing bytes shorter than a netlink header";
      break;
    }
    memcpy(&h, p, sizeof h);
    size_t step = NLMSG_ALIGN(h.nlmsg_len);
    bool isGet = h.nlmsg_type >= RTM_BASE && (h.nlmsg_type & 3) == 2;
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > left || (step > left && h.nlmsg_len != left))
      why = "netlinkExchange: a message length overruns the request";
    else if ((h.nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK)) != (NLM_F_REQUEST | NLM_F_ACK))
      why = "netlinkExchange: every message must be a request with NLM_F_ACK";
    else if (isGet && (h.nlmsg_flags & NLM_F_DUMP) != 0)
      why = "netlinkExchange: a dump cannot be exchanged";
    else if (n == kMaxExchange)
      why = "netlinkExchange: too many messages";
    for (size_t i = 0; why == nullptr && i < n; i++)
      if (seqs[i] == h.nlmsg_seq) why = "netlinkExchange: sequence numbers must be distinct";
    if (why != nullptr) break;
    seqs[n++] = h.nlmsg_seq;
    if (step >= left) break;
    p += step;
    left -= step;
  }
  if (why != nullptr) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", why);
    return false;
  }
  *count = n;
  return true;
}

// True when `answers` holds nothing but ACKs (NLMSG_ERROR with error 0): the common case of
// a batch of changes, which JS then need not copy or parse.
bool AnswersOnlyAcks(const std::string& answers) {
  int len = static_cast<int>(answers.size());
  for (const nlmsghdr* m = reinterpret_cast<const nlmsghdr*>(answers.data()); NLMSG_OK(m, len);
       m = NLMSG_NEXT(m, len)) {
    if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_len < NLMSG_LENGTH(sizeof(int))) return false;
    if (static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error != 0) return false;
  }
  return true;
}

namespace {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

// See netlink.h. Off the JS thread too (nsMakeConnected's maker thread): no N-API here.
int ExchangeOn(int fd, const char* req, size_t len, const uint32_t* seqs, size_t count, char* buf,
               std::string* out, const char** failed) {
  sockaddr_nl to = {};
  to.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    *failed = "sendto";
    return errno;
  }
  bool done[kMaxExchange] = {};
  size_t waiting = count;
  int64_t deadline = NowMs() + kExchangeTimeoutMs;
  while (waiting > 0) {
    bool fromKernel, truncated;
    n = RecvDatagram(fd, buf, kRecvSize, &fromKernel, &truncated);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      int64_t left = deadline - NowMs();
      pollfd pfd = {fd, POLLIN, 0};
      int r = left > 0 ? poll(&pfd, 1, static_cast<int>(left)) : 0;
      if (r < 0 && errno != EINTR) {
        *failed = "poll";
        return errno;
      }
      if (r == 0) {
        *failed = "recvmsg";
        return ETIMEDOUT;
      }
      continue;
    }
    if (n < 0) {
      *failed = "recvmsg";
      return errno;
    }
    if (!fromKernel) continue;  // only the kernel speaks to us
    if (truncated) {
      *failed = "recvmsg";
      return EMSGSIZE;
    }
    bool ours = false;
    int left = static_cast<int>(n);
    for (nlmsghdr* m = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      for (size_t i = 0; i < count; i++) {
        if (m->nlmsg_seq != seqs[i]) continue;
        ours = true;
        if (!done[i] && (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE)) {
          done[i] = true;
          waiting--;
        }
      }
    }
    if (ours) {
      out->append(buf, static_cast<size_t>(n));
      out->append((4 - out->size() % 4) % 4, '\0');
    }
  }
  return 0;
}

int HostRtnlSocket(Napi::Env env, char** buf) {
  HostRtnl* host = static_cast<HostRtnl*>(GetAddon(env)->hostRtnl);
  if (host == nullptr) return -ENOMEM;
  if (!host->buf) host->buf = new char[kRecvSize];
  *buf = host->buf;
  if (host->fd < 0) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) return -errno;
    int one = 1;
    setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    host->fd = s;
  }
  return host->fd;
}

namespace {

// netlinkExchange(fd, request): sends `request` (one or more rtnetlink requests, each with
// NLM_F_ACK and its own sequence number) as one datagram on the NETLINK_ROUTE socket `fd` (-1:
// the environment's host socket, see HostRtnl), then reads until every request is answered by
// its NLMSG_ERROR (its ACK or its refusal; an NLMSG_DONE ends one too). Returns every
// datagram that answered one of them, concatenated (each padded to 4 bytes), for
// src/net/netlink to split and match, or undefined when they are all plain ACKs (error 0);
// answers to other sequence numbers are dropped. Reads
// with MSG_DONTWAIT; should an answer not be queued yet, poll(2) waits for it at most
// kExchangeTimeoutMs (then ETIMEDOUT, syscall 'recvmsg'). Throws SysError 'socket', 'sendto',
// 'recvmsg' (ENOBUFS: the queue overflowed and answers were lost; EMSGSIZE: truncated).
Napi::Value NetlinkExchange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgOptFd(info, 0, &fd)) return env.Undefined();
  if (!info[1].IsBuffer()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "netlinkExchange(fd, buffer)");
    return env.Undefined();
  }
  Napi::Buffer<char> req = info[1].As<Napi::Buffer<char>>();
  uint32_t seqs[kMaxExchange];
  size_t count = 0;
  if (!CheckExchange(env, req.Data(), req.Length(), seqs, &count)) return env.Undefined();
  char* buf = nullptr;
  int host = HostRtnlSocket(env, &buf);
  if (host < 0) {
    ThrowSys(env, -host, "socket");
    return env.Undefined();
  }
  if (fd < 0) fd = host;
  std::string out;
  const char* failed = nullptr;
  int err = ExchangeOn(fd, req.Data(), req.Length(), seqs, count, buf, &out, &failed);
  if (err != 0) {
    ThrowSys(env, err, failed);
    return env.Undefined();
  }
  if (AnswersOnlyAcks(out)) return env.Undefined();
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

// netlinkSocketIn(nsfd): a NETLINK_ROUTE socket (SOCK_NONBLOCK, O_CLOEXEC, extended and
// capped ACKs) made in the network namespace of nsfd by a dedicated thread (RunJob: no JS or
// libuv thread enters it), for netlinkExchange. Returns the fd, recorded as a handle fd:
// release it with native.close().
Napi::Value NetlinkSocketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketJob job;
  if (!ArgFd(info, 0, &job.nsfd)) return env.Undefined();
  job.domain = AF_NETLINK;
  job.type = SOCK_RAW | SOCK_NONBLOCK;
  job.protocol = NETLINK_ROUTE;
  if (!RunJob(env, &job)) return env.Undefined();
  int one = 1;
  setsockopt(job.fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(job.fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return HandFd(env, job.fd);
}

}  // namespace

void InitNetlinkSync(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkTransact", Napi::Function::New(env, NetlinkTransact, "netlinkTransact"));
  HostRtnl* host = new HostRtnl();
  if (napi_add_env_cleanup_hook(env, CloseHostRtnl, host) != napi_ok) {
    delete host;
    return;
  }
  GetAddon(env)->hostRtnl = host;
  exports.Set("netlinkExchange", Napi::Function::New(env, NetlinkExchange, "netlinkExchange"));
  exports.Set("netlinkSocketIn", Napi::Function::New(env, NetlinkSocketIn, "netlinkSocketIn"));
}

}  // namespace nsbox
