// Namespaces made on a thread of their own, with what the caller needs inside them made in
// the same trip: `lo` up (a pooled network namespace, src/namespaces/pool.ts) and a
// NETLINK_ROUTE socket (createNamespace('net'): the socket connectToHost and the net module
// use first). nsMake waits for its dedicated thread (the environment's kept one for a network
// namespace, see Maker; csrc/thread.h for other kinds); nsFill makes a batch on a detached
// thread and hands each namespace to JS through a thread-safe function, so the event loop
// never waits for the kernel's ~0.4 ms of network namespace creation.
//
// The threads call unshare(2) on themselves only and then exit, or (the kept one) go back
// into the caller's network namespace: no thread that runs JS or libuv work ever changes
// namespace (STYLE.md "Threads and namespaces"). Every fd is O_CLOEXEC. Thin native: TS
// (src/namespaces/namespace.ts, pool.ts) validates and builds errors.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "netlink.h"
#include "poll.h"
#include "thread.h"

namespace nsbox {
namespace {

// One namespace: what the thread makes and what went wrong.
struct MakeJob {
  int flag = 0;
  char path[64] = {};
  bool lo = false;
  bool rtnl = false;
  int fd = -1;
  int sock = -1;
  int err = 0;
  const char* failed = nullptr;
};

bool Fail(MakeJob* j, const char* what) {
  j->err = errno;
  j->failed = what;
  if (j->fd >= 0) close(j->fd);
  if (j->sock >= 0) close(j->sock);
  j->fd = j->sock = -1;
  return false;
}

// On the calling (dedicated) thread: unshare(flag) moves this thread into a new namespace;
// /proc/thread-self/ns/<name> opened keeps it alive once the thread has gone (namespaces(7)).
// lo up: SIOCGIFFLAGS/SIOCSIFFLAGS on a datagram socket of the new namespace (netdevice(7)),
// what `ip link set lo up` does there. The rtnl socket is bound to this namespace for its
// life (netlink(7): the kernel records the namespace at socket(2)). Each call makes a fresh
// namespace even when the thread is already in one it made before.
bool MakeOne(MakeJob* j) {
  j->fd = j->sock = -1;
  j->err = 0;
  j->failed = nullptr;
  if (unshare(j->flag) < 0) return Fail(j, "unshare");
  j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
  if (j->fd < 0) return Fail(j, "open");
  if (j->lo) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return Fail(j, "socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    if (ok) {
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
      ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    }
    int saved = errno;
    close(s);
    errno = saved;
    if (!ok) return Fail(j, "ioctl");
  }
  if (j->rtnl) {
    j->sock = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (j->sock < 0) return Fail(j, "socket");
    // Extended and capped ACKs, as every nsbox rtnetlink socket has them (best effort): the
    // socket may go straight to netlinkExchange (connectToHost) without a NetlinkSocket.
    int one = 1;
    setsockopt(j->sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(j->sock, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  }
  return true;
}

void* MakeThread(void* arg) {
  MakeOne(static_cast<MakeJob*>(arg));
  return nullptr;
}

bool ReadJob(const Napi::CallbackInfo& info, MakeJob* job) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgInt(info, 0, &job->flag) || !ArgString(info, 1, &name)) return false;
  if (name.empty() || name.size() > 16 || name.find('/') != std::string::npos) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "name must be a /proc/PID/ns file name");
    return false;
  }
  snprintf(job->path, sizeof job->path, "/proc/thread-self/ns/%s", name.c_str());
  bool ok;
  job->lo = BoolArg(info, 2, &ok);
  if (!ok) return false;
  job->rtnl = BoolArg(info, 3, &ok);
  if (!ok) return false;
  if ((job->lo || job->rtnl) && job->flag != CLONE_NEWNET) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "lo and rtnl need a network namespace");
    return false;
  }
  return true;
}

// The environment's kept thread for network namespace work (nsMake, and every socket made
// inside a network namespace: csrc/netlink.cc RunJob). It waits on a futex, runs one job when
// asked (MakeOne, or a socket job's setns into the namespace and socket), goes back into the
// caller's network namespace (setns(2) on the caller's /proc/thread-self/ns/net, opened for
// each call, so a caller that moved with unshare() and came back does not leave it behind)
// and waits again; if it cannot go back, it exits and the next call starts another. No
// thread stays in a namespace it made, and none runs JS or libuv work. Kept rather than a
// thread per call: creating, exiting and joining a thread cost ~0.07 ms and slowed the
// request that followed (a C loop of connectToHost's work: 0.785 ms with a thread per
// namespace, 0.719 with a kept one, 0.704 on the calling thread). It runs on the caller's
// CPU (re-pinned when the caller has moved): the caller sleeps while it works, so each
// hand-off is a switch on one CPU, not a cross-CPU wake-up.
struct Maker {
  std::atomic<int> go{0};
  std::atomic<int> done{0};
  bool (*fn)(void*) = nullptr;  // the job; true if it left the caller's network namespace
  void* arg = nullptr;
  bool stop = false;
  bool lost = false;  // could not return home: it has exited, join it
  bool running = false;
  int home = -1;  // the caller's network namespace, for this call
  int cpu = -1;
  pthread_t thread{};
};

void FutexWait(std::atomic<int>* a, int v) {
  syscall(SYS_futex, reinterpret_cast<int*>(a), FUTEX_WAIT_PRIVATE, v, nullptr, nullptr, 0);
}

void FutexWake(std::atomic<int>* a) {
  syscall(SYS_futex, reinterpret_cast<int*>(a), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void* MakerThread(void* arg) {
  Maker* m = static_cast<Maker*>(arg);
  pthread_setname_np(pthread_self(), "nsbox-netmaker");  // as ps(1), profiles and the tests see it
  for (;;) {
    while (m->go.load(std::memory_order_acquire) == 0) FutexWait(&m->go, 0);
    m->go.store(0, std::memory_order_relaxed);
    if (m->stop) return nullptr;
    bool moved = m->fn(m->arg);
    bool lost = moved && setns(m->home, CLONE_NEWNET) < 0;
    m->lost = lost;
    m->done.store(1, std::memory_order_release);
    FutexWake(&m->done);
    if (lost) return nullptr;
  }
}

// Stops and joins the maker (environment teardown, or one that could not return home).
void StopMaker(Maker* m) {
  if (m->running) {
    if (!m->lost) {
      m->stop = true;
      m->go.store(1, std::memory_order_release);
      FutexWake(&m->go);
    }
    pthread_join(m->thread, nullptr);
    m->running = false;
  }
  m->lost = m->stop = false;
}

struct MakerHook {
  Addon* addon;
  Maker* maker;
};

void MakerCleanup(void* arg) {
  MakerHook* h = static_cast<MakerHook*>(arg);
  StopMaker(h->maker);
  h->addon->netThread = nullptr;
  delete h->maker;
  delete h;
}

// nsMake's job on the kept thread: it moved unless unshare itself failed.
bool MakeOnMaker(void* arg) {
  MakeJob* j = static_cast<MakeJob*>(arg);
  return MakeOne(j) || strcmp(j->failed, "unshare") != 0;
}

}  // namespace

// Runs fn(arg) on the kept thread, starting it first if needed. 0, or the error that kept it
// from starting (the caller then makes a thread for this one job).
int RunOnNetThread(Addon* addon, bool (*fn)(void*), void* arg) {
  Maker* m = static_cast<Maker*>(addon->netThread);
  if (m == nullptr) return EAGAIN;
  int cpu = sched_getcpu();
  Fd home(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home.valid()) return errno;
  if (!m->running) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) {
      CPU_SET(cpu, &set);
      pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // it starts with every signal blocked
    int err = pthread_create(&m->thread, &attr, MakerThread, m);
    if (err == EINVAL && cpu >= 0) {  // the CPU left our mask meanwhile: unpinned
      pthread_attr_destroy(&attr);
      pthread_attr_init(&attr);
      pthread_attr_setstacksize(&attr, 256 * 1024);
      err = pthread_create(&m->thread, &attr, MakerThread, m);
      cpu = -1;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    if (err != 0) return err;
    m->running = true;
    m->cpu = cpu;
  } else if (cpu >= 0 && cpu != m->cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    m->cpu = pthread_setaffinity_np(m->thread, sizeof set, &set) == 0 ? cpu : -1;
  }
  m->fn = fn;
  m->arg = arg;
  m->home = home.get();
  m->done.store(0, std::memory_order_relaxed);
  m->go.store(1, std::memory_order_release);
  FutexWake(&m->go);
  while (m->done.load(std::memory_order_acquire) == 0) FutexWait(&m->done, 0);
  if (m->lost) StopMaker(m);
  return 0;
}

namespace {

// nsMake(flag, name, lo, rtnl): [nsfd, rtnl socket fd or -1, st_dev, st_ino of nsfd], made on
// a dedicated thread the caller waits for (~0.4 ms for a network namespace, the kernel's
// work): the environment's kept maker for a network namespace, a new thread for another kind.
// The nsfd's identity comes from the fstat(2) that records it as a handle fd, so the handle
// needs no nsStat after.
Napi::Value NsMake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MakeJob job;
  if (!ReadJob(info, &job)) return env.Undefined();
  int err = job.flag == CLONE_NEWNET ? RunOnNetThread(GetAddon(env), MakeOnMaker, &job) : EAGAIN;
  if (err != 0) err = RunOnDedicatedThread(MakeThread, &job);
  if (err != 0) {
    ThrowSys(env, err, "pthread_create");
    return env.Undefined();
  }
  if (job.failed != nullptr) {
    ThrowSys(env, job.err, job.failed, job.failed[0] == 'o' ? job.path : nullptr);
    return env.Undefined();
  }
  struct stat st;
  if (fstat(job.fd, &st) < 0) {
    int err = errno;
    close(job.fd);
    if (job.sock >= 0) close(job.sock);
    ThrowSys(env, err, "fstat");
    return env.Undefined();
  }
  GetAddon(env)->handleFds[job.fd] = {st.st_dev, st.st_ino};  // HoldFd, with the stat kept
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, job.fd));
  out.Set(1u, job.sock >= 0 ? HandFd(env, job.sock) : Napi::Number::New(env, -1));
  out.Set(2u, Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set(3u, Napi::Number::New(env, static_cast<double>(st.st_ino)));
  return out;
}

// nsMakeConnected's work on the maker thread, once the namespace and its rtnetlink socket
// exist: up to three exchanges (csrc/netlink_sync.cc ExchangeOn), the first on the host
// socket and making the veth with NLM_F_ECHO; the indexes its echo carries (the host end's,
// and the peer's as IFLA_LINK) are written into the later requests where TS asked. TS built
// every message and decodes every answer; this runs them in the same thread trip that made
// the namespace, as one C program would.
constexpr size_t kMaxConnectWrites = 4;

struct ConnectStep {
  std::string req;
  uint32_t seqs[kMaxExchange];
  size_t count = 0;
  bool inner = false;  // on the socket made in the new namespace, else on the host socket
};

struct ConnectJob {
  MakeJob make;
  ConnectStep steps[3];
  size_t nsteps = 0;
  // (step, byte offset, what): 0 the host end's index, 1 the peer's (steps 1 and 2, from the
  // echo), 2 the new namespace's fd (step 0: the peer's IFLA_NET_NS_FD); each offset 4-aligned
  // and inside its request (checked on the JS thread).
  uint32_t patches[3 * 8];
  size_t npatches = 0;
  // Files written after step 0 (the host end's sysctls while it is down), from the caller's
  // network namespace: /proc/sys/net follows the writer's, so the thread goes home first.
  std::string writes[2 * kMaxConnectWrites];
  size_t nwrites = 0;
  int home = -1;
  int writeFailed = -1;  // which write failed (err, failed: "setns", "open" or "write")
  int hostFd = -1;
  char* buf = nullptr;
  std::string answers[3];
  size_t done = 0;  // steps answered (the last may hold a refusal)
  int err = 0;      // a transport failure in step `done`
  const char* failed = nullptr;
  uint32_t hostIndex = 0, childIndex = 0;
};

// The host end's index and its peer's (IFLA_LINK) from the RTM_NEWLINK echo to `seq`.
bool EchoIndexes(const std::string& a, uint32_t seq, uint32_t* host, uint32_t* child) {
  int len = static_cast<int>(a.size());
  for (const nlmsghdr* m = reinterpret_cast<const nlmsghdr*>(a.data()); NLMSG_OK(m, len);
       m = NLMSG_NEXT(m, len)) {
    if (m->nlmsg_seq != seq || m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg)))
      continue;
    const ifinfomsg* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(m));
    int rl = static_cast<int>(m->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
    uint32_t link = 0;
    for (const rtattr* r =
             reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(ifi) + NLMSG_ALIGN(sizeof *ifi));
         RTA_OK(r, rl); r = RTA_NEXT(r, rl)) {
      if (r->rta_type == IFLA_LINK && RTA_PAYLOAD(r) >= sizeof link) memcpy(&link, RTA_DATA(r), sizeof link);
    }
    if (ifi->ifi_index <= 0 || link == 0) return false;
    *host = static_cast<uint32_t>(ifi->ifi_index);
    *child = link;
    return true;
  }
  return false;
}

bool Refused(const std::string& a) {
  int len = static_cast<int>(a.size());
  for (const nlmsghdr* m = reinterpret_cast<const nlmsghdr*>(a.data()); NLMSG_OK(m, len);
       m = NLMSG_NEXT(m, len)) {
    if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
        static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error != 0)
      return true;
  }
  return false;
}

void Patch(ConnectJob* j, bool first) {
  for (size_t p = 0; p < j->npatches; p++) {
    uint32_t* pt = &j->patches[3 * p];
    if ((pt[2] == 2) != first) continue;
    uint32_t v = pt[2] == 2 ? static_cast<uint32_t>(j->make.fd) : pt[2] == 0 ? j->hostIndex : j->childIndex;
    memcpy(&j->steps[pt[0]].req[pt[1]], &v, sizeof v);
  }
}

// The host-side writes, in order, each a whole value in one write(2). False (err, failed,
// writeFailed set) at the first that fails.
bool WriteHost(ConnectJob* j) {
  if (j->nwrites == 0) return true;
  if (setns(j->home, CLONE_NEWNET) < 0) {
    j->err = errno;
    j->failed = "setns";
    return false;
  }
  for (size_t w = 0; w < j->nwrites; w++) {
    const std::string& path = j->writes[2 * w];
    const std::string& value = j->writes[2 * w + 1];
    Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    ssize_t n = fd.valid() ? write(fd.get(), value.data(), value.size()) : -1;
    if (n != static_cast<ssize_t>(value.size())) {
      j->err = n < 0 ? errno : EIO;
      j->failed = fd.valid() ? "write" : "open";
      j->writeFailed = static_cast<int>(w);
      return false;
    }
  }
  return true;
}

void RunConnect(ConnectJob* j) {
  Patch(j, true);
  for (size_t i = 0; i < j->nsteps; i++) {
    ConnectStep& st = j->steps[i];
    if (i == 1) {
      // No echo (a kernel before 6.1): TS looks the indexes up and goes on by itself.
      if (!EchoIndexes(j->answers[0], j->steps[0].seqs[0], &j->hostIndex, &j->childIndex)) return;
      Patch(j, false);
      if (!WriteHost(j)) return;
    }
    int fd = st.inner ? j->make.sock : j->hostFd;
    j->err =
        ExchangeOn(fd, st.req.data(), st.req.size(), st.seqs, st.count, j->buf, &j->answers[i], &j->failed);
    if (j->err != 0) return;
    j->done = i + 1;
    if (Refused(j->answers[i])) return;
  }
}

bool ConnectOnMaker(void* arg) {
  ConnectJob* j = static_cast<ConnectJob*>(arg);
  bool moved = MakeOnMaker(&j->make);
  if (j->make.failed == nullptr) RunConnect(j);
  return moved;
}

void* ConnectThread(void* arg) {
  ConnectJob* j = static_cast<ConnectJob*>(arg);
  if (MakeOne(&j->make)) RunConnect(j);
  return nullptr;
}

// nsMakeConnected(steps): a new network namespace with an rtnetlink socket in it (nsMake's
// job) and, in the same trip on the same thread, `steps`: [request Buffer, inner] × 1..3,
// then patches (a Uint32Array of (step, offset, what) triples: see ConnectJob). Returns [nsfd, sock, st_dev,
// st_ino, done, hostIndex, childIndex, errno, syscall, answers0, answers1, answers2]: `done` steps were
// answered (each answer a Buffer, or undefined when all ACKs); errno/syscall is a transport failure in step
// `done`; sock is -1 (closed) once every step was answered, else the socket, recorded as a handle fd.
// hostIndex 0: no echo, the later steps were not sent. Throws SysError as nsMake does for the
// namespace itself.
Napi::Value NsMakeConnected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ConnectJob job;
  job.make.flag = CLONE_NEWNET;
  snprintf(job.make.path, sizeof job.make.path, "/proc/thread-self/ns/net");
  job.make.rtnl = true;
  if (!info[0].IsArray() || !info[1].IsTypedArray()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "nsMakeConnected([Buffer, inner]..., Uint32Array)");
    return env.Undefined();
  }
  Napi::Array steps = info[0].As<Napi::Array>();
  job.nsteps = steps.Length() / 2;
  if (job.nsteps < 1 || job.nsteps > 3 || steps.Length() % 2 != 0) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: 1 to 3 steps");
    return env.Undefined();
  }
  for (size_t i = 0; i < job.nsteps; i++) {
    Napi::Value b = steps.Get(static_cast<uint32_t>(2 * i));
    if (!b.IsBuffer()) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "nsMakeConnected: a step is not a Buffer");
      return env.Undefined();
    }
    Napi::Buffer<char> buf = b.As<Napi::Buffer<char>>();
    ConnectStep& st = job.steps[i];
    if (!CheckExchange(env, buf.Data(), buf.Length(), st.seqs, &st.count)) return env.Undefined();
    st.req.assign(buf.Data(), buf.Length());
    st.inner = steps.Get(static_cast<uint32_t>(2 * i + 1)).ToBoolean();
  }
  if (job.steps[0].inner || job.steps[0].count != 1) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: step 0 is one request on the host socket");
    return env.Undefined();
  }
  Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint32_array || ta.ElementLength() % 3 != 0 ||
      ta.ElementLength() > sizeof job.patches / sizeof job.patches[0]) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: patches are (step, offset, which) triples");
    return env.Undefined();
  }
  Napi::Uint32Array pa = info[1].As<Napi::Uint32Array>();
  job.npatches = pa.ElementLength() / 3;
  for (size_t p = 0; p < job.npatches; p++) {
    uint32_t step = pa[3 * p], off = pa[3 * p + 1], which = pa[3 * p + 2];
    if (step >= job.nsteps || which > 2 || (which == 2) != (step == 0) || off % 4 != 0 ||
        off + 4 > job.steps[step].req.size()) {
      ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: a patch lies outside its request");
      return env.Undefined();
    }
    job.patches[3 * p] = step;
    job.patches[3 * p + 1] = off;
    job.patches[3 * p + 2] = which;
  }
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsArray()) {
      ThrowType(env, "ERR_INVALID_ARG_TYPE", "nsMakeConnected: writes are [path, value] strings");
      return env.Undefined();
    }
    Napi::Array wa = info[2].As<Napi::Array>();
    if (wa.Length() % 2 != 0 || wa.Length() > 2 * kMaxConnectWrites || job.nsteps < 2) {
      ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: up to 4 [path, value] writes, before step 1");
      return env.Undefined();
    }
    for (uint32_t k = 0; k < wa.Length(); k++) {
      Napi::Value v = wa.Get(k);
      if (!v.IsString()) {
        ThrowType(env, "ERR_INVALID_ARG_TYPE", "nsMakeConnected: writes are [path, value] strings");
        return env.Undefined();
      }
      job.writes[k] = v.As<Napi::String>().Utf8Value();
      if (k % 2 == 0 && (job.writes[k].empty() || job.writes[k][0] != '/' ||
                         job.writes[k].find('\0') != std::string::npos)) {
        ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsMakeConnected: a write's path is not absolute");
        return env.Undefined();
      }
    }
    job.nwrites = wa.Length() / 2;
  }
  Fd home;
  if (job.nwrites > 0) {
    home = Fd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!home.valid()) {
      ThrowSys(env, errno, "open", "/proc/thread-self/ns/net");
      return env.Undefined();
    }
    job.home = home.get();
  }
  job.hostFd = HostRtnlSocket(env, &job.buf);
  if (job.hostFd < 0) {
    ThrowSys(env, -job.hostFd, "socket");
    return env.Undefined();
  }
  int err = RunOnNetThread(GetAddon(env), ConnectOnMaker, &job);
  if (err != 0) err = RunOnDedicatedThread(ConnectThread, &job);
  if (err != 0) {
    ThrowSys(env, err, "pthread_create");
    return env.Undefined();
  }
  if (job.make.failed != nullptr) {
    ThrowSys(env, job.make.err, job.make.failed, job.make.failed[0] == 'o' ? job.make.path : nullptr);
    return env.Undefined();
  }
  struct stat st;
  if (fstat(job.make.fd, &st) < 0) {
    int e = errno;
    close(job.make.fd);
    close(job.make.sock);
    ThrowSys(env, e, "fstat");
    return env.Undefined();
  }
  GetAddon(env)->handleFds[job.make.fd] = {st.st_dev, st.st_ino};  // HoldFd, with the stat kept
  Napi::Array out = Napi::Array::New(env, 13);
  out.Set(0u, Napi::Number::New(env, job.make.fd));
  if (job.done == job.nsteps && job.err == 0 && !Refused(job.answers[job.nsteps - 1])) {
    close(job.make.sock);
    out.Set(1u, Napi::Number::New(env, -1));
  } else {
    out.Set(1u, HandFd(env, job.make.sock));
  }
  out.Set(2u, Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set(3u, Napi::Number::New(env, static_cast<double>(st.st_ino)));
  out.Set(4u, Napi::Number::New(env, static_cast<double>(job.done)));
  out.Set(5u, Napi::Number::New(env, job.hostIndex));
  out.Set(6u, Napi::Number::New(env, job.childIndex));
  out.Set(7u, Napi::Number::New(env, job.err));
  out.Set(8u, job.failed ? Napi::String::New(env, job.failed) : env.Undefined());
  for (size_t i = 0; i < 3; i++) {
    const std::string& a = job.answers[i];
    out.Set(static_cast<uint32_t>(9 + i),
            i < job.done && !AnswersOnlyAcks(a)
                ? Napi::Buffer<char>::Copy(env, a.data(), a.size()).As<Napi::Value>()
                : env.Undefined());
  }
  out.Set(12u, Napi::Number::New(env, job.writeFailed));
  return out;
}

// A batch for nsFill: the template job, how many, the thread-safe function to JS, and the
// thread. Owned by the JS thread: freed when the batch's last message is delivered (after the
// thread is joined), or by the environment's cleanup hook, which stops and joins the thread
// first. The thread never frees it. Joining matters: a worker's environment unloads the addon
// when it ends, and a thread still running its code then would crash the process.
struct FillJob {
  MakeJob proto;
  int count = 0;
  napi_env env = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  pthread_t thread{};
  std::atomic<bool> stop{false};
};

// What crosses to the JS thread for one namespace (or the failure that ended the batch), or
// (`done`) the end of the batch.
struct Made {
  int fd;
  int err;
  const char* failed;
  FillJob* done;
};

void FillCleanup(void* arg) {
  FillJob* f = static_cast<FillJob*>(arg);
  f->stop = true;
  pthread_join(f->thread, nullptr);
  delete f;
}

// On the JS thread: onMade(fd, errno, syscall). env is null when the environment is being
// torn down: the fd is closed then, as nobody can take it any more (and a `done` is the
// cleanup hook's to handle).
void DeliverMade(napi_env env, napi_value fn, void*, void* data) {
  Made* m = static_cast<Made*>(data);
  if (env == nullptr || fn == nullptr || m->done != nullptr) {
    if (m->fd >= 0) close(m->fd);
    if (env != nullptr && m->done != nullptr) {
      // The thread has released the function and is returning: join it, then free the batch.
      napi_remove_env_cleanup_hook(env, FillCleanup, m->done);
      pthread_join(m->done->thread, nullptr);
      delete m->done;
    }
    delete m;
    return;
  }
  if (m->fd >= 0) HoldFd(GetAddon(Napi::Env(env)), m->fd);
  napi_value argv[3], global, result;
  napi_create_int32(env, m->fd, &argv[0]);
  napi_create_int32(env, m->err, &argv[1]);
  napi_create_string_utf8(env, m->failed ? m->failed : "", NAPI_AUTO_LENGTH, &argv[2]);
  napi_get_global(env, &global);
  delete m;
  if (napi_call_function(env, global, fn, 3, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

// The batch thread: one namespace after another, each handed over as soon as it exists;
// stops at the first failure (reported), when the environment's cleanup hook asks, or when
// the function is closing (what it holds is closed). Not pinned: it runs beside the JS
// thread, not instead of it. A refill is background work: SCHED_BATCH (sched(7): it does not
// preempt a task that wakes, such as a spawn's child) at nice 10 (setpriority(2) on its tid:
// this thread only). Not lower, nor SCHED_IDLE: creating a network namespace takes the rtnl
// lock (loopback's registration, lo up), and a thread starved by other load while holding it
// would stall every netlink user of the machine; nice 19 was measured here at 31 ms a
// namespace beside two compilers.
void* FillThread(void* arg) {
  FillJob* f = static_cast<FillJob*>(arg);
  struct sched_param sp = {};
  sched_setscheduler(0, SCHED_BATCH, &sp);  // 0: this thread
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  napi_threadsafe_function tsfn = f->tsfn;
  for (int i = 0; i < f->count && !f->stop; i++) {
    MakeJob j = f->proto;
    bool ok = MakeOne(&j);
    Made* m = new Made{ok ? j.fd : -1, ok ? 0 : j.err, ok ? nullptr : j.failed, nullptr};
    if (f->stop || napi_call_threadsafe_function(tsfn, m, napi_tsfn_blocking) != napi_ok) {
      // Stopping, or napi_closing: the environment is ending (and a refused call has
      // already released this thread's hold on the function: it must not be used again).
      if (m->fd >= 0) close(m->fd);
      delete m;
      if (!f->stop) return nullptr;
      break;
    }
    if (!ok) break;
  }
  // The end of the batch, then the release; after that this thread touches nothing of the
  // batch (the JS thread joins it and frees it).
  Made* done = new Made{-1, 0, nullptr, f};
  if (napi_call_threadsafe_function(tsfn, done, napi_tsfn_blocking) != napi_ok) {
    delete done;
    return nullptr;
  }
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return nullptr;
}

// nsFill(flag, name, lo, rtnl, count, onMade): starts a thread that makes `count` namespaces
// and calls onMade(fd, 0, '') for each, or onMade(-1, errno, syscall) once for the failure
// that stops it. Returns at once. rtnl must be false (one fd per namespace).
Napi::Value NsFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FillJob* f = new FillJob;
  int64_t count;
  if (!ReadJob(info, &f->proto) || !ArgInteger(info, 4, 1, 4096, &count) || !ArgFunction(info, 5)) {
    delete f;
    return env.Undefined();
  }
  if (f->proto.rtnl) {
    delete f;
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "nsFill makes no rtnl socket");
    return env.Undefined();
  }
  f->count = static_cast<int>(count);
  f->env = env;
  napi_value name;
  napi_create_string_utf8(env, "nsbox.namespacePool", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, info[5], nullptr, name, 0, 1, nullptr, nullptr, nullptr,
                                      DeliverMade, &f->tsfn) != napi_ok) {
    delete f;
    ThrowSys(env, ENOMEM, "napi_create_threadsafe_function");
    return env.Undefined();
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread starts with every signal blocked
  int err = pthread_create(&f->thread, nullptr, FillThread, f);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    napi_release_threadsafe_function(f->tsfn, napi_tsfn_abort);
    delete f;
    ThrowSys(env, err, "pthread_create");
    return env.Undefined();
  }
  // Registered after the function's own hook, so it runs before it (reverse order).
  napi_add_env_cleanup_hook(env, FillCleanup, f);
  return env.Undefined();
}

}  // namespace

void InitNsMake(Napi::Env env, Napi::Object exports) {
  MakerHook* hook = new MakerHook{GetAddon(env), new Maker()};
  if (napi_add_env_cleanup_hook(env, MakerCleanup, hook) == napi_ok) {
    hook->addon->netThread = hook->maker;
  } else {  // every call makes its own thread
    delete hook->maker;
    delete hook;
  }
  exports.Set("nsMake", Napi::Function::New(env, NsMake, "nsMake"));
  exports.Set("nsFill", Napi::Function::New(env, NsFill, "nsFill"));
  exports.Set("nsMakeConnected", Napi::Function::New(env, NsMakeConnected, "nsMakeConnected"));
}

}  // namespace nsbox
