// rtnetlink transport: NETLINK_ROUTE sockets opened inside a chosen network namespace and
// driven by this environment's libuv loop. Thin on purpose: this file opens, sends and
// receives datagrams; src/net/netlink/ numbers requests, matches replies, assembles dumps
// and builds errors (STYLE.md "thin native, thick TS").
//
// A socket belongs to the network namespace of the thread that created it, for its whole
// life (netlink(7); the kernel records sock_net at socket(2)). So the socket is made on a
// dedicated, short-lived pthread that does setns(nsfd, CLONE_NEWNET), socket(2) and exits:
// no JS or libuv pool thread ever enters the namespace (vishvananda/netlink's
// GetNetlinkSocketAt does the same with a locked goroutine).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "netlink.h"
#include "poll.h"
#include "child.h"
#include "child_socket.h"
#include "thread.h"

namespace nsbox {
namespace {

void RunSocketJob(SocketJob* job) {
  if (job->nsfd >= 0 && setns(job->nsfd, CLONE_NEWNET) < 0) {
    job->err = errno;
    job->failed = "setns";
    return;
  }
  if (job->path) {
    // /proc/sys/net/* is looked up in the opening thread's network namespace; the open file
    // keeps that namespace's sysctl, so the caller may write it from any thread.
    int f = open(job->path, job->oflags | O_CLOEXEC);
    if (f < 0) {
      job->err = errno;
      job->failed = "open";
      return;
    }
    job->fd = f;
    return;
  }
  int fd = socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
  if (fd < 0) {
    job->err = errno;
    job->failed = "socket";
    return;
  }
  if (job->addr) {
    int one = 1;
    if (job->backlog >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, job->addr, job->addrlen) < 0) {
      job->err = errno;
      job->failed = "bind";
      close(fd);
      return;
    }
  }
  if (job->backlog >= 0 && listen(fd, job->backlog) < 0) {
    job->err = errno;
    job->failed = "listen";
    close(fd);
    return;
  }
  job->fd = fd;
}

void* SocketThread(void* arg) {
  RunSocketJob(static_cast<SocketJob*>(arg));
  return nullptr;
}

// The same on the kept thread (RunOnNetThread): it left our namespace if setns succeeded.
bool SocketOnNetThread(void* arg) {
  SocketJob* job = static_cast<SocketJob*>(arg);
  RunSocketJob(job);
  return job->failed == nullptr || strcmp(job->failed, "setns") != 0;
}

}  // namespace

namespace {

const char* StepName(int step) {
  switch (step) {
    case SC_SETNS_USER:
    case SC_SETNS_NET: return "setns";
    case SC_SOCKET: return "socket";
    case SC_BIND: return "bind";
    case SC_LISTEN: return "listen";
    case SC_OPEN: return "open";
    default: return "dup3";
  }
}

// The job again, from inside the user namespace that owns job->nsfd: for a caller without
// CAP_SYS_ADMIN in its own user namespace (a rootless caller, whose setns(CLONE_NEWNET) the
// kernel refuses) that owns the container's user namespace. A thread cannot join a user
// namespace (the process is multi-threaded), so a child does, sharing only our fd table
// (child_socket.cc). False when that cannot apply (the netns is owned by our own user
// namespace, or NS_GET_USERNS is refused): the first failure stands.
bool RunInOwnerUserns(SocketJob* job) {
  Fd userns(ioctl(job->nsfd, NS_GET_USERNS));  // O_CLOEXEC (open_related_ns)
  if (userns.get() < 0) return false;
  struct stat theirs, ours;
  if (fstat(userns.get(), &theirs) < 0 || stat("/proc/thread-self/ns/user", &ours) < 0) return false;
  if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) return false;
  Fd slot(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (slot.get() < 0) return false;
  void* page =
      mmap(nullptr, sizeof(SocketChildArgs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return false;
  auto* a = static_cast<SocketChildArgs*>(page);
  *a = {userns.get(),
        job->nsfd,
        job->domain,
        job->type,
        job->protocol,
        job->addr,
        job->addrlen,
        job->backlog,
        job->path,
        job->oflags,
        slot.get(),
        0,
        -1};
  // The child's stack: its own copy of this buffer (no CLONE_VM), so concurrent callers on
  // other threads never share one.
  alignas(16) static char stack[16 * 1024];
  // No handler of ours may run in the child: every signal stays blocked until it has exited
  // (CLONE_VFORK: clone returns then). Exit signal 0: libuv's SIGCHLD handler stays quiet.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = nsbox_clone(CLONE_FILES | CLONE_VFORK, stack + sizeof stack, SocketChildMain, a);
  int status = 0;
  if (pid > 0)
    while (waitpid(static_cast<pid_t>(pid), &status, __WALL) < 0 && errno == EINTR) {
    }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    job->err = static_cast<int>(-pid);
    job->failed = "clone";
  } else if (a->step == 0) {
    job->fd = slot.release();
    job->err = 0;
    job->failed = nullptr;
  } else if (a->step > 0) {
    job->err = a->err;
    job->failed = StepName(a->step);
  } else {
    job->err = ECHILD;  // died before it reported (a signal)
    job->failed = "clone";
  }
  munmap(page, sizeof(SocketChildArgs));
  return true;
}

}  // namespace

// Runs the job on a dedicated thread when it must enter a namespace (the environment's kept
// one, csrc/ns_make.cc, else a new one); on the calling thread when nsfd is -1 (the caller's
// own namespace: nothing to enter). See csrc/thread.h. When
// the thread may not enter it (EPERM: no CAP_SYS_ADMIN in our own user namespace), a child
// that joins the namespace's owning user namespace first makes it (RunInOwnerUserns).
bool RunJob(Napi::Env env, SocketJob* job) {
  if (job->nsfd < 0) {
    RunSocketJob(job);
  } else {
    int err = RunOnNetThread(GetAddon(env), SocketOnNetThread, job);
    if (err != 0) err = RunOnDedicatedThread(SocketThread, job);
    if (err != 0) {
      ThrowSys(env, err, "pthread_create");
      return false;
    }
    if (job->failed && job->err == EPERM && strcmp(job->failed, "setns") == 0) RunInOwnerUserns(job);
  }
  if (job->failed) {
    ThrowSys(env, job->err, job->failed);
    return false;
  }
  return true;
}

namespace {

// A NETLINK_ROUTE (or NETLINK_NETFILTER) socket polled by this environment's loop. send(buf) is one sendto(2)
// to the kernel; each datagram received is handed to onMessage(buffer) as it arrives; a receive error
// (ENOBUFS: the socket's queue overflowed, events were lost) as onMessage(null, errno).
class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "NetlinkSocket",
        {InstanceMethod<&NetlinkSocket::Send>("send"), InstanceMethod<&NetlinkSocket::Close>("close"),
         InstanceMethod<&NetlinkSocket::SetRef>("ref"),
         InstanceMethod<&NetlinkSocket::CloseDetached>("closeDetached"),
         InstanceMethod<&NetlinkSocket::ReceiveNow>("receiveNow"),
         InstanceAccessor<&NetlinkSocket::PortId>("portId")});
  }

  // new NetlinkSocket(nsfd, groups, onMessage[, protocol[, made]]): protocol NETLINK_ROUTE
  // (default) or NETLINK_NETFILTER (nf_tables); no other family is opened here. `made`: an
  // unbound NETLINK_ROUTE socket (SOCK_NONBLOCK) that nsMake already opened in the namespace
  // in the same thread trip as the namespace itself; taken over instead of a new one.
  NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
    Napi::Env env = info.Env();
    // A `made` socket is this object's from the start, whatever fails below: JS never
    // closes an fd it passed here.
    Fd madeFd;
    if (info.Length() > 4 && info[4].IsNumber()) {
      int made = info[4].As<Napi::Number>().Int32Value();
      if (made >= 0 && GetAddon(env)->handleFds.erase(made) == 1) madeFd = Fd(made);
    }
    int nsfd;
    uint32_t groups;
    if (!ArgOptFd(info, 0, &nsfd) || !ArgU32(info, 1, &groups) || !ArgFunction(info, 2)) return;
    int protocol = NETLINK_ROUTE;
    if (info.Length() > 3 && !info[3].IsUndefined() && !ArgInt(info, 3, &protocol)) return;
    if (protocol != NETLINK_ROUTE && protocol != NETLINK_NETFILTER) {
      ThrowType(env, "ERR_INVALID_ARG_VALUE",
                "NetlinkSocket: protocol must be NETLINK_ROUTE or NETLINK_NETFILTER");
      return;
    }
    SocketJob job;
    if (madeFd.valid() && protocol == NETLINK_ROUTE) {
      job.fd = madeFd.release();
    } else {
      job.nsfd = nsfd;
      job.domain = AF_NETLINK;
      job.type = SOCK_RAW | SOCK_NONBLOCK;
      job.protocol = protocol;
      if (!RunJob(env, &job)) return;
    }
    Fd fd(job.fd);
    // Extended ACK: the kernel's reason as text (NLMSGERR_ATTR_MSG); capped ACK: an error
    // does not echo the whole request back. Both are best effort (older kernels lack them).
    int one = 1;
    setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    sockaddr_nl sa = {};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = groups;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      ThrowSys(env, errno, "bind");
      return;
    }
    socklen_t len = sizeof sa;
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
      ThrowSys(env, errno, "getsockname");
      return;
    }
    portId_ = sa.nl_pid;
    env_ = env;
    if (groups == 0) {
      // Requests only: polled from the first ref(true), which JS asks for only when a request
      // is still waiting after the answers queued inside sendto(2) were read (receiveNow).
      // connectToHost's sockets never need the poll handle. Until then the environment's
      // cleanup hook closes the fd (IdleTeardown).
      if (napi_add_env_cleanup_hook(env, IdleTeardown, this) != napi_ok) {
        ThrowSys(env, ENOMEM, "napi_add_env_cleanup_hook");
        return;
      }
      idle_ = std::move(fd);
    } else if (int r = poll_.Start(env, std::move(fd), UV_READABLE, OnReadable, OnTeardown, this)) {
      ThrowSys(env, -r, "uv_poll_start");
      return;
    }
    onMessage_ = Napi::Persistent(info[2].As<Napi::Function>());
  }

  ~NetlinkSocket() override { Stop(); }

 private:
  bool Deliver(napi_value a0, napi_value a1) {
    napi_value argv[2] = {a0, a1};
    return CallJs(env_, static_cast<napi_ref>(onMessage_), 2, argv);
  }

  static void OnReadable(void* owner, int status, int) {
    NetlinkSocket* self = static_cast<NetlinkSocket*>(owner);
    if (status < 0 || self->onMessage_.IsEmpty()) return;
    if (!self->buf_) self->buf_ = new char[kRecvSize];
    napi_env env = self->env_;
    // Drain what is queued now, one callback per datagram; a callback may close the socket.
    for (int i = 0; i < 256 && self->poll_.active(); i++) {
      bool fromKernel, truncated;
      ssize_t n = RecvDatagram(self->poll_.fd(), self->buf_, kRecvSize, &fromKernel, &truncated);
      int err = n < 0 ? errno : 0;
      if (n < 0 && (err == EAGAIN || err == EINTR)) return;
      if (n >= 0 && !fromKernel) continue;  // only the kernel speaks to us
      if (n >= 0 && truncated) err = EMSGSIZE;
      napi_handle_scope scope;
      if (napi_open_handle_scope(env, &scope) != napi_ok) return;
      napi_value a0, a1;
      if (err == 0) {
        void* data;
        napi_create_buffer_copy(env, static_cast<size_t>(n), self->buf_, &data, &a0);
        napi_get_undefined(env, &a1);
      } else {
        napi_get_null(env, &a0);
        napi_create_int32(env, err, &a1);
      }
      bool ok = self->Deliver(a0, a1);
      napi_close_handle_scope(env, scope);
      if (!ok) return;
    }
  }

  static void OnTeardown(void* owner) { static_cast<NetlinkSocket*>(owner)->Stop(); }

  // The environment ends while the socket was never polled: close it (the hook is gone).
  static void IdleTeardown(void* owner) {
    NetlinkSocket* self = static_cast<NetlinkSocket*>(owner);
    if (!self->idle_.valid()) return;
    self->idle_.reset();
    delete[] self->buf_;
    self->buf_ = nullptr;
  }

  // Drops the idle fd's cleanup hook; the fd itself is the caller's to move or close.
  void Unhook() {
    if (idle_.valid()) napi_remove_env_cleanup_hook(env_, IdleTeardown, this);
  }

  bool open() const { return poll_.active() || idle_.valid(); }
  int fd() const { return poll_.active() ? poll_.fd() : idle_.get(); }

  // Starts polling an idle socket (ref(true) with a request waiting). 0 or a libuv error.
  int StartPoll() {
    if (!idle_.valid()) return 0;
    Unhook();
    Fd fd(idle_.release());
    int r = poll_.Start(env_, std::move(fd), UV_READABLE, OnReadable, OnTeardown, this);
    if (r != 0) {
      // Still ours (Start leaves it with the caller on failure): idle again, hook again.
      if (napi_add_env_cleanup_hook(env_, IdleTeardown, this) == napi_ok) idle_ = std::move(fd);
    }
    return r;
  }

  // Stops polling and closes the socket (see PolledFd::Stop).
  void Stop() {
    delete[] buf_;
    buf_ = nullptr;
    Unhook();
    idle_.reset();
    poll_.Stop();
    if (!onMessage_.IsEmpty()) onMessage_.Reset();
  }

  // send(buffer): 0, or a positive errno (EBADF once closed). A netlink send to the kernel
  // is processed synchronously within sendto(2); it does not block on a full queue here
  // because the socket is non-blocking.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsBuffer()) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "send(buffer)");
      return env.Undefined();
    }
    if (!open()) return Napi::Number::New(env, EBADF);
    Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
    sockaddr_nl to = {};
    to.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd(), b.Data(), b.Length(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    } while (n < 0 && errno == EINTR);
    return Napi::Number::New(env, n < 0 ? errno : 0);
  }

  // receiveNow(): what is queued now, read at once (recvmsg MSG_DONTWAIT) instead of on the
  // next event-loop turn: rtnetlink answers a request inside sendto(2), so right after a send
  // its answer is there. An array of datagrams (Buffers) and receive errors (errno numbers,
  // EMSGSIZE for a truncated datagram), in order; empty once closed.
  Napi::Value ReceiveNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!open()) return out;
    if (!buf_) buf_ = new char[kRecvSize];
    for (uint32_t i = 0; i < 256; i++) {
      bool fromKernel, truncated;
      ssize_t n = RecvDatagram(fd(), buf_, kRecvSize, &fromKernel, &truncated);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0) {
        out.Set(out.Length(), Napi::Number::New(env, errno));
        break;
      }
      if (!fromKernel) continue;  // only the kernel speaks to us
      if (truncated)
        out.Set(out.Length(), Napi::Number::New(env, EMSGSIZE));
      else
        out.Set(out.Length(), Napi::Buffer<char>::Copy(env, buf_, static_cast<size_t>(n)));
    }
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  // closeDetached(): stops polling and closes the fd on a detached thread. Closing a
  // NETLINK_NETFILTER socket runs nf_tables' release notifier inside close(2), which waits for
  // pending table destruction (an RCU grace period, milliseconds): not on the event loop.
  // Falls back to closing here if no thread can be made.
  Napi::Value CloseDetached(const Napi::CallbackInfo& info) {
    Unhook();
    int fd = poll_.active() ? poll_.Detach() : idle_.release();
    delete[] buf_;
    buf_ = nullptr;
    if (!onMessage_.IsEmpty()) onMessage_.Reset();
    if (fd >= 0) {
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      pthread_t t;
      int err = pthread_create(
          &t, &attr,
          [](void* arg) -> void* {
            close(static_cast<int>(reinterpret_cast<intptr_t>(arg)));
            return nullptr;
          },
          reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      pthread_attr_destroy(&attr);
      if (err != 0) close(fd);
    }
    return info.Env().Undefined();
  }

  // ref(on): keeps the loop alive for this socket (true) or not. The first ref(true) of an
  // idle socket starts its polling; a positive errno if that fails (the request then fails).
  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    bool ok, on = BoolArg(info, 0, &ok);
    if (!ok) return info.Env().Undefined();
    if (on) {
      if (int r = StartPoll()) return Napi::Number::New(info.Env(), -r);
    }
    poll_.SetRef(on);
    return info.Env().Undefined();
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }

  napi_env env_ = nullptr;
  PolledFd poll_;
  Fd idle_;  // the socket while it is not polled (groups 0, no request waiting yet)
  uint32_t portId_ = 0;
  char* buf_ = nullptr;
  Napi::FunctionReference onMessage_;
};

// inetSocketIn(nsfd, family, type, addr, port, backlog): an AF_INET/AF_INET6 socket made
// in the namespace of nsfd by the dedicated thread, bound to addr:port (addr: 4 or 16 raw
// bytes, or empty for no bind) and listening when backlog >= 0. Returns the fd (O_CLOEXEC,
// blocking: node:net sets O_NONBLOCK itself when it adopts the fd).
Napi::Value InetSocketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketJob job;
  int64_t port64;
  if (!ArgOptFd(info, 0, &job.nsfd) || !ArgInt(info, 1, &job.domain) || !ArgInt(info, 2, &job.type) ||
      !ArgInteger(info, 4, 0, 65535, &port64) || !ArgInt(info, 5, &job.backlog))
    return env.Undefined();
  if (!info[3].IsBuffer()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "inetSocketIn(nsfd, family, type, addr, port, backlog)");
    return env.Undefined();
  }
  job.protocol = 0;
  Napi::Buffer<uint8_t> addr = info[3].As<Napi::Buffer<uint8_t>>();
  uint16_t port = static_cast<uint16_t>(port64);
  sockaddr_in sin = {};
  sockaddr_in6 sin6 = {};
  if (job.domain == AF_INET && addr.Length() == 4) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    memcpy(&sin.sin_addr, addr.Data(), 4);
    job.addr = reinterpret_cast<sockaddr*>(&sin);
    job.addrlen = sizeof sin;
  } else if (job.domain == AF_INET6 && addr.Length() == 16) {
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    memcpy(&sin6.sin6_addr, addr.Data(), 16);
    job.addr = reinterpret_cast<sockaddr*>(&sin6);
    job.addrlen = sizeof sin6;
  } else if (addr.Length() != 0 || (job.domain != AF_INET && job.domain != AF_INET6)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "inetSocketIn: address length does not match family");
    return env.Undefined();
  }
  if (!RunJob(env, &job)) return env.Undefined();
  return Napi::Number::New(env, job.fd);
}

// openInNetns(nsfd, path, write): a file opened O_RDONLY or O_WRONLY (and O_CLOEXEC) by the
// dedicated thread inside the network namespace of nsfd (-1: ours), for the namespace's own
// /proc/sys/net sysctls. Returns the fd.
Napi::Value OpenInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketJob job;
  std::string path;
  bool ok;
  if (!ArgOptFd(info, 0, &job.nsfd) || !ArgString(info, 1, &path)) return env.Undefined();
  bool write = BoolArg(info, 2, &ok);
  if (!ok) return env.Undefined();
  job.path = path.c_str();
  job.oflags = write ? O_WRONLY : O_RDONLY;
  if (!RunJob(env, &job)) return env.Undefined();
  return Napi::Number::New(env, job.fd);
}

#define SET(name) c.Set(#name, Napi::Number::New(env, static_cast<double>(name)))

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  // struct sizes
  c.Set("SIZEOF_NLMSGHDR", Napi::Number::New(env, sizeof(nlmsghdr)));
  c.Set("SIZEOF_NLMSGERR", Napi::Number::New(env, sizeof(nlmsgerr)));
  c.Set("SIZEOF_IFINFOMSG", Napi::Number::New(env, sizeof(ifinfomsg)));
  c.Set("SIZEOF_IFADDRMSG", Napi::Number::New(env, sizeof(ifaddrmsg)));
  c.Set("SIZEOF_RTMSG", Napi::Number::New(env, sizeof(rtmsg)));
  c.Set("SIZEOF_NDMSG", Napi::Number::New(env, sizeof(ndmsg)));
  c.Set("SIZEOF_RTATTR", Napi::Number::New(env, sizeof(rtattr)));
  c.Set("NLMSG_ALIGNTO", Napi::Number::New(env, NLMSG_ALIGNTO));
  c.Set("NLA_ALIGNTO", Napi::Number::New(env, NLA_ALIGNTO));
  SET(NLA_F_NESTED);
  SET(NLA_F_NET_BYTEORDER);
  SET(AF_UNSPEC);
  SET(AF_INET);
  SET(AF_INET6);
  SET(AF_BRIDGE);
  SET(SOCK_STREAM);
  SET(SOCK_DGRAM);
  // nlmsghdr
  SET(NLM_F_REQUEST);
  SET(NLM_F_MULTI);
  SET(NLM_F_ACK);
  SET(NLM_F_ECHO);
  SET(NLM_F_DUMP_INTR);
  SET(NLM_F_ROOT);
  SET(NLM_F_MATCH);
  SET(NLM_F_DUMP);
  SET(NLM_F_REPLACE);
  SET(NLM_F_EXCL);
  SET(NLM_F_CREATE);
  SET(NLM_F_APPEND);
  SET(NLM_F_CAPPED);
  SET(NLM_F_ACK_TLVS);
  SET(NLMSG_NOOP);
  SET(NLMSG_ERROR);
  SET(NLMSG_DONE);
  SET(NLMSG_OVERRUN);
  SET(NLMSGERR_ATTR_MSG);
  SET(NLMSGERR_ATTR_OFFS);
  // rtnetlink message types
  SET(RTM_NEWLINK);
  SET(RTM_DELLINK);
  SET(RTM_GETLINK);
  SET(RTM_SETLINK);
  SET(RTM_NEWADDR);
  SET(RTM_DELADDR);
  SET(RTM_GETADDR);
  SET(RTM_NEWROUTE);
  SET(RTM_DELROUTE);
  SET(RTM_GETROUTE);
  SET(RTM_NEWNEIGH);
  SET(RTM_DELNEIGH);
  SET(RTM_GETNEIGH);
  // links
  SET(IFLA_ADDRESS);
  SET(IFLA_BROADCAST);
  SET(IFLA_IFNAME);
  SET(IFLA_MTU);
  SET(IFLA_LINK);
  SET(IFLA_MASTER);
  SET(IFLA_OPERSTATE);
  SET(IFLA_LINKINFO);
  SET(IFLA_NET_NS_PID);
  SET(IFLA_NET_NS_FD);
  SET(IFLA_TXQLEN);
  SET(IFLA_LINK_NETNSID);
  SET(IFLA_IFALIAS);
  SET(IFLA_CARRIER);
  SET(IFLA_NUM_TX_QUEUES);
  SET(IFLA_NUM_RX_QUEUES);
  SET(IFLA_EXT_MASK);
  SET(RTEXT_FILTER_SKIP_STATS);
  SET(IFLA_AF_SPEC);
  SET(IFLA_INET_CONF);
  SET(IPV4_DEVCONF_ACCEPT_REDIRECTS);
  SET(IPV4_DEVCONF_RP_FILTER);
  SET(IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE);
  SET(IFLA_INFO_KIND);
  SET(IFLA_INFO_DATA);
  SET(IFLA_INFO_SLAVE_KIND);
  SET(VETH_INFO_PEER);
  SET(IFLA_MACVLAN_MODE);
  SET(MACVLAN_MODE_PRIVATE);
  SET(MACVLAN_MODE_VEPA);
  SET(MACVLAN_MODE_BRIDGE);
  SET(MACVLAN_MODE_PASSTHRU);
  SET(MACVLAN_MODE_SOURCE);
  SET(IFLA_VLAN_ID);
  SET(IFLA_VLAN_PROTOCOL);
  SET(IFLA_IPVLAN_MODE);
  SET(IPVLAN_MODE_L2);
  SET(IPVLAN_MODE_L3);
  SET(IPVLAN_MODE_L3S);
  SET(IFLA_VXLAN_ID);
  SET(IFLA_VXLAN_GROUP);
  SET(IFLA_VXLAN_GROUP6);
  SET(IFLA_VXLAN_LINK);
  SET(IFLA_VXLAN_LOCAL);
  SET(IFLA_VXLAN_LOCAL6);
  SET(IFLA_VXLAN_PORT);
  SET(IFF_UP);
  SET(IFF_BROADCAST);
  SET(IFF_LOOPBACK);
  SET(IFF_POINTOPOINT);
  SET(IFF_RUNNING);
  SET(IFF_NOARP);
  SET(IFF_PROMISC);
  SET(IFF_MULTICAST);
  SET(IFF_LOWER_UP);
  SET(IF_OPER_UNKNOWN);
  SET(IF_OPER_NOTPRESENT);
  SET(IF_OPER_DOWN);
  SET(IF_OPER_LOWERLAYERDOWN);
  SET(IF_OPER_TESTING);
  SET(IF_OPER_DORMANT);
  SET(IF_OPER_UP);
  SET(ARPHRD_ETHER);
  SET(ARPHRD_LOOPBACK);
  SET(ARPHRD_NONE);
  // addresses
  SET(IFA_ADDRESS);
  SET(IFA_LOCAL);
  SET(IFA_LABEL);
  SET(IFA_BROADCAST);
  SET(IFA_CACHEINFO);
  SET(IFA_FLAGS);
  SET(IFA_F_PERMANENT);
  SET(IFA_F_NODAD);
  SET(IFA_F_SECONDARY);
  // routes
  SET(RTA_DST);
  SET(RTA_SRC);
  SET(RTA_IIF);
  SET(RTA_OIF);
  SET(RTA_GATEWAY);
  SET(RTA_PRIORITY);
  SET(RTA_PREFSRC);
  SET(RTA_TABLE);
  SET(RTA_METRICS);
  SET(RTN_UNSPEC);
  SET(RTN_UNICAST);
  SET(RTN_LOCAL);
  SET(RTN_BROADCAST);
  SET(RTN_ANYCAST);
  SET(RTN_MULTICAST);
  SET(RTN_BLACKHOLE);
  SET(RTN_UNREACHABLE);
  SET(RTN_PROHIBIT);
  SET(RTPROT_UNSPEC);
  SET(RTPROT_KERNEL);
  SET(RTPROT_BOOT);
  SET(RTPROT_STATIC);
  SET(RT_SCOPE_UNIVERSE);
  SET(RT_SCOPE_SITE);
  SET(RT_SCOPE_LINK);
  SET(RT_SCOPE_HOST);
  SET(RT_SCOPE_NOWHERE);
  SET(RT_TABLE_UNSPEC);
  SET(RT_TABLE_MAIN);
  SET(RT_TABLE_LOCAL);
  SET(RT_TABLE_DEFAULT);
  // neighbours
  SET(NDA_DST);
  SET(NDA_LLADDR);
  SET(NUD_INCOMPLETE);
  SET(NUD_REACHABLE);
  SET(NUD_STALE);
  SET(NUD_DELAY);
  SET(NUD_PROBE);
  SET(NUD_FAILED);
  SET(NUD_NOARP);
  SET(NUD_PERMANENT);
  SET(NUD_NONE);
  // multicast groups
  SET(RTMGRP_LINK);
  SET(RTMGRP_NEIGH);
  SET(RTMGRP_IPV4_IFADDR);
  SET(RTMGRP_IPV4_ROUTE);
  SET(RTMGRP_IPV6_IFADDR);
  SET(RTMGRP_IPV6_ROUTE);
  return c;
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.DefineProperty(LazyTable<Constants>("netlinkConstants"));
  exports.Set("NetlinkSocket", NetlinkSocket::Class(env));
  exports.Set("inetSocketIn", Napi::Function::New(env, InetSocketIn, "inetSocketIn"));
  exports.Set("openInNetns", Napi::Function::New(env, OpenInNetns, "openInNetns"));
}

}  // namespace nsbox
