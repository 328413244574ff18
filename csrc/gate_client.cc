// The asking side of a create/start gate's namespace request (plan.h kGateNamespaces; the
// child's answer is child_gate.cc): a runtime's `exec` into a created container whose process,
// non-dumpable while it waits, keeps its /proc/PID/ns/* closed to an unprivileged owner.
// Thin: TS validates the path and wraps the fds (Namespace checks each one's type).
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "plan.h"
#include "unix_connect.h"

namespace nsbox {
namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// connect(2)s to the gate at `path` and sends its one-byte request `what`: the connected
// socket, or an invalid Fd with the JS exception thrown.
Fd AskGate(Napi::Env env, const std::string& path, char what) {
  int err = 0;
  const char* syscall = "";
  Fd sock = ConnectUnix(path, &err, &syscall);
  if (!sock.valid()) {
    ThrowSys(env, err, syscall, path.c_str());
    return Fd();
  }
  ssize_t n;
  while ((n = send(sock.get(), &what, 1, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != 1) {
    ThrowSys(env, n < 0 ? errno : EIO, "sendmsg", path.c_str());
    return Fd();
  }
  return sock;
}

// Waits until `sock` is readable, until `deadline` (NowMs() time; -1: no bound). False with
// the JS exception thrown: poll(2)'s error, or ETIMEDOUT naming `syscall`, the read it awaited.
bool WaitReadable(Napi::Env env, int sock, int64_t deadline, const char* syscall, const std::string& path) {
  for (;;) {
    struct pollfd p = {sock, POLLIN, 0};
    int wait = -1;
    if (deadline >= 0) {
      int64_t left = deadline - NowMs();
      wait = left < 0 ? 0 : (int)left;
    }
    int pr = poll(&p, 1, wait);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) {
      ThrowSys(env, errno, "poll", path.c_str());
      return false;
    }
    if (pr == 0) {
      ThrowSys(env, ETIMEDOUT, syscall, path.c_str());
      return false;
    }
    return true;
  }
}

// gateNamespaces(path, timeoutMs): connect(2) to the gate's socket, send kGateNamespaces, and
// receive the answer: an array of kGateNsKinds fds (-1 where the child sent none), all
// CLOEXEC (MSG_CMSG_CLOEXEC). Blocks the calling thread for at most timeoutMs (poll(2)
// before the read; a local connect never waits for the child: the kernel queues it).
// A child that closes without answering (an older build, or it is starting) is ECONNRESET;
// past the timeout, ETIMEDOUT.
Napi::Value GateNamespaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int32_t timeout;
  if (!ArgString(info, 0, &path) || !ArgInt(info, 1, &timeout)) return env.Undefined();
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path) || timeout < 0) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "gateNamespaces(path: 1..107 bytes, timeoutMs >= 0)");
    return env.Undefined();
  }
  Fd sock = AskGate(env, path, kGateNamespaces);
  if (!sock.valid()) return env.Undefined();
  ssize_t n;
  if (!WaitReadable(env, sock.get(), NowMs() + timeout, "recvmsg", path)) return env.Undefined();
  char have[kGateNsKinds] = {};
  union {
    char buf[CMSG_SPACE(sizeof(int) * kGateNsKinds)];
    struct cmsghdr align;
  } cbuf;
  memset(&cbuf, 0, sizeof cbuf);
  struct iovec iov = {have, sizeof have};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof cbuf.buf;
  while ((n = recvmsg(sock.get(), &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR) {
  }
  int recvErr = n < 0 ? errno : 0;
  // Every fd received is ours to close, whatever else went wrong.
  std::vector<Fd> fds;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  if (recvErr) {
    ThrowSys(env, recvErr, "recvmsg", path.c_str());
    return env.Undefined();
  }
  size_t wanted = 0;
  for (char h : have) wanted += h == 1;
  if (n != (ssize_t)sizeof have || (mh.msg_flags & MSG_CTRUNC) || fds.size() != wanted) {
    ThrowSys(env, n == 0 ? ECONNRESET : EPROTO, "recvmsg", path.c_str());
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, kGateNsKinds);
  size_t next = 0;
  for (int i = 0; i < kGateNsKinds; i++)
    out.Set(i, Napi::Number::New(env, have[i] == 1 ? fds[next++].release() : -1));
  return out;
}

// gateStart(path, timeoutMs): the start (plan.h kGateStart) without the event loop, for a
// process with nothing else to do meanwhile (nsbox-oci's `start`): connect(2), send the start,
// unlink(2) the path (a container starts once; ENOENT ignored: another start removed it), then
// read to end of file — the child's ack, and a failure report if a step after the gate failed;
// the connection closes on the execve(2). Returns the bytes read, which TS decodes as
// openStartGate does. Blocks the calling thread until then, for at most timeoutMs (-1: no
// bound: the child's startContainer hooks run in this wait, each bounded by its own timeout).
Napi::Value GateStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int32_t timeout;
  if (!ArgString(info, 0, &path) || !ArgInt(info, 1, &timeout)) return env.Undefined();
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path) || timeout < -1) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "gateStart(path: 1..107 bytes, timeoutMs >= -1)");
    return env.Undefined();
  }
  Fd sock = AskGate(env, path, kGateStart);
  if (!sock.valid()) return env.Undefined();
  ssize_t n;
  unlink(path.c_str());
  int64_t deadline = timeout < 0 ? -1 : NowMs() + timeout;
  std::string got;
  char buf[4096];
  for (;;) {
    if (!WaitReadable(env, sock.get(), deadline, "read", path)) return env.Undefined();
    n = read(sock.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    // ECONNRESET: the child died without closing cleanly; TS reports what was read.
    if (n < 0 && errno != ECONNRESET) {
      ThrowSys(env, errno, "read", path.c_str());
      return env.Undefined();
    }
    if (n <= 0) break;
    // A failure report is a Msg and at most a hook's stderr tail: 64 KiB is far past it.
    if (got.size() + n > 65536) {
      ThrowSys(env, EPROTO, "read", path.c_str());
      return env.Undefined();
    }
    got.append(buf, n);
  }
  return Napi::Buffer<char>::Copy(env, got.data(), got.size());
}

}  // namespace

void InitGateClient(Napi::Env env, Napi::Object exports) {
  exports.Set("gateNamespaces", Napi::Function::New(env, GateNamespaces, "gateNamespaces"));
  exports.Set("gateStart", Napi::Function::New(env, GateStart, "gateStart"));
}

}  // namespace nsbox
