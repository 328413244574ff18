// The parent half of spawn: validate the plan (cheaply; TS validated it first), clone3 the
// child on a private stack sharing our memory (CLONE_VM: no copy of Node's address space,
// the vfork idea), write its id maps when it asks, and block only until it has exec'd or
// failed — as child_process.spawn does. See plan.h for the protocol and child.cc for the child.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/mount.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "child.h"
#include "child_security.h"
#include "errors.h"
#include "exit_pin.h"
#include "fd.h"
#include "gate.h"
#include "init_image.h"
#include "plan.h"
#include "plan_parse.h"
#include "spawn_maps.h"
#include "spawn_session.h"
#include "spawn_start.h"
#include "sys.h"

namespace nsbox {

namespace {

constexpr size_t kStackSize = 256 * 1024;

void* Stack(Addon* addon) {
  if (!addon->stack) {
    void* s =
        mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED) return nullptr;
    mprotect(s, 4096, PROT_NONE);  // guard page: an overflow faults instead of corrupting
    addon->stack = s;
    addon->stackSize = kStackSize;
  }
  return addon->stack;
}

// Checks spawn's arguments and reads them into plain C++ values, before anything is made.
bool ReadSpawnArgs(const Napi::CallbackInfo& info, ParsedPlan& plan, MapsSpec& maps, ParentSpec& parent) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsBuffer()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "spawn(Int32Array, Buffer, object|null, object|undefined)");
    return false;
  }
  Napi::Int32Array ops = info[0].As<Napi::Int32Array>();
  Napi::Buffer<char> strings = info[1].As<Napi::Buffer<char>>();
  if (const char* bad = ParsePlan(ops.Data(), ops.ElementLength(), strings.Data(), strings.Length(), plan)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", bad);
    return false;
  }
  // Everything spawn needs from JS is read now, before a child exists, with raw napi calls
  // whose statuses are checked (spawn_maps.h): a worker may be terminated at any moment.
  return ReadMaps(env, info[2], &maps) && ReadParentSide(env, info[3], &parent);
}

}  // namespace

// Whether our credentials can lose anything a ptrace check weighs (child.cc HideIds): a
// non-empty permitted set, and CAP_SETUID to give a child a saved uid unlike its others.
struct OwnCaps {
  bool permitted;
  bool setuid;
};
static OwnCaps ReadOwnCaps() {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return {true, false};  // assume the worst
  return {(data[0].permitted | data[1].permitted) != 0, (data[0].effective & (1U << CAP_SETUID)) != 0};
}

// A uid of our user namespace that is not our euid, for HideIds' saved uid: 65534 (the
// overflow uid) when mapped, else the first mapped one; -1 if ours is the only one. Read once:
// a process's user namespace and its maps never change under it (setns(2) into a user
// namespace refuses a multi-threaded process).
static long HideSuid() {
  static const long suid = [] {
    uid_t me = geteuid();
    long first = -1;
    FILE* f = fopen("/proc/self/uid_map", "re");
    if (f == nullptr) return -1L;
    unsigned long inside, outside, count;
    bool nobody = false;
    while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
      if (count == 0) continue;
      if (me != 65534 && inside <= 65534 && 65534 - inside < count) nobody = true;
      for (unsigned long id = inside; first < 0 && id < inside + count && id < inside + 2; id++)
        if (id != me) first = (long)id;
    }
    fclose(f);
    return nobody ? 65534L : first;
  }();
  return suid;
}

// What an init keeps of its copy of our memory (child_init.cc DropCopy): its stack and this
// addon's image (every PT_LOAD segment, found once with dl_iterate_phdr); and the rseq(2) area
// glibc registered for this thread (from 2.35: __rseq_offset and __rseq_size, looked up so
// that an older glibc, which registers none, still loads the addon), which the init
// unregisters first. Without the image nothing is dropped. Not for a child that must have
// its own mm anyway (it joins a user namespace, or makes itself non-dumpable): its init keeps
// its copy, as before (that path was not measured).
static void KeepForInit(void* stack, size_t stackSize, InitKeep& k) {
  static const std::pair<unsigned long, unsigned long> image = [] {
    std::pair<unsigned long, unsigned long> r{0, 0};
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&ChildMain), &info) == 0 || info.dli_fbase == nullptr) return r;
    struct Find {
      uintptr_t base;
      std::pair<unsigned long, unsigned long>* out;
    } find = {reinterpret_cast<uintptr_t>(info.dli_fbase), &r};
    dl_iterate_phdr(
        [](struct dl_phdr_info* p, size_t, void* arg) -> int {
          Find* f = static_cast<Find*>(arg);
          unsigned long lo = ~0UL, hi = 0;
          for (int i = 0; i < p->dlpi_phnum; i++) {
            const ElfW(Phdr)& ph = p->dlpi_phdr[i];
            if (ph.p_type != PT_LOAD) continue;
            lo = std::min<unsigned long>(lo, p->dlpi_addr + ph.p_vaddr);
            hi = std::max<unsigned long>(hi, p->dlpi_addr + ph.p_vaddr + ph.p_memsz);
          }
          if (hi == 0 || f->base < lo || f->base >= hi) return 0;
          const unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
          *f->out = {lo & ~(page - 1), (hi + page - 1) & ~(page - 1)};
          return 1;
        },
        &find);
    return r;
  }();
  static const ptrdiff_t* rseqOffset = static_cast<const ptrdiff_t*>(dlsym(RTLD_DEFAULT, "__rseq_offset"));
  static const unsigned* rseqSize = static_cast<const unsigned*>(dlsym(RTLD_DEFAULT, "__rseq_size"));
  if (image.second == 0) return;
  k.keep[0] = reinterpret_cast<unsigned long>(stack);
  k.keep[1] = k.keep[0] + stackSize;
  k.keep[2] = image.first;
  k.keep[3] = image.second;
  if (rseqOffset != nullptr && rseqSize != nullptr && *rseqSize > 0) {
    k.rseq_addr =
        reinterpret_cast<unsigned long>(static_cast<char*>(__builtin_thread_pointer()) + *rseqOffset);
    k.rseq_len = (*rseqSize + 31) & ~31u;
#if defined(__x86_64__)
    k.rseq_sig = 0x53053053;
#elif defined(__aarch64__)
    k.rseq_sig = 0xd428bc00;
#else
    k.keep[1] = 0;  // an arch whose signature we do not know: keep everything
#endif
  }
}

// What HideExe (child.cc) needs to give a child with a copy of our mm the init image as its
// exe: every mapping of Node's binary in our mm (/proc/self/maps, read at each call: V8 maps
// parts of it again for each isolate it makes) and the mm fields PR_SET_MM_MAP sets along with
// the exe (/proc/self/stat, fixed once the program runs; brk read at each call). False if they
// cannot be read (too many mappings, no /proc): the child keeps Node's exe then.
static bool ReadExeLayout(ExeLayout& out) {
  struct Fixed {
    bool ok = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string path;  // as /proc/self/maps names it (the link's text)
    struct prctl_mm_map map = {};
  };
  static const Fixed fixed = [] {
    Fixed r;
    struct stat st;
    if (stat("/proc/self/exe", &st) < 0) return r;
    r.dev = st.st_dev;
    r.ino = st.st_ino;
    char link[4096];
    ssize_t len = readlink("/proc/self/exe", link, sizeof link - 1);
    if (len <= 0) return r;
    r.path.assign(link, (size_t)len);
    FILE* f = fopen("/proc/self/stat", "re");
    if (f == nullptr) return r;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* p = strrchr(buf, ')');
    if (p == nullptr) return r;
    unsigned long long v[52] = {};
    int field = 2;  // the comm, which ')' ends
    for (p++; *p && field < 51;) {
      while (*p == ' ') p++;
      char* end;
      unsigned long long x = strtoull(p, &end, 10);
      if (end == p)
        while (*p && *p != ' ') p++;  // the state letter
      else
        p = end;
      v[++field] = x;
    }
    if (field < 51) return r;
    r.map.start_code = v[26];
    r.map.end_code = v[27];
    r.map.start_stack = v[28];
    r.map.start_data = v[45];
    r.map.end_data = v[46];
    r.map.start_brk = v[47];
    r.map.arg_start = v[48];
    r.map.arg_end = v[49];
    r.map.env_start = v[50];
    r.map.env_end = v[51];
    r.ok = r.map.start_code != 0 && r.map.end_code > r.map.start_code;
    return r;
  }();
  if (!fixed.ok) return false;
  out.map = fixed.map;
  out.map.brk = (uint64_t)syscall(SYS_brk, 0);
  out.nranges = 0;
  if (out.map.brk < out.map.start_brk) return false;
  Fd maps(open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (!maps.valid()) return false;
  // Lines "lo-hi perms offset major:minor inode path"; only whole lines are parsed.
  char buf[16384];
  size_t have = 0;
  bool eof = false;
  while (!eof || have > 0) {
    if (!eof) {
      ssize_t n = read(maps.get(), buf + have, sizeof buf - 1 - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) eof = true;
      have += (size_t)n;
    }
    buf[have] = 0;
    char* nl = strchr(buf, '\n');
    if (nl == nullptr) {
      if (!eof && have < sizeof buf - 1) continue;
      nl = buf + have;  // the last line, without its newline
    }
    *nl = 0;
    unsigned long lo, hi, off, ino;
    unsigned maj, min;
    char perms[8];
    int pathAt = 0;
    // A mapping of the binary, by its path (the text /proc/self/exe reads: on btrfs or
    // overlayfs the device stat(2) gives is not the one the maps show) or by device and inode.
    if (sscanf(buf, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &maj, &min, &ino, &pathAt) == 7 &&
        ((ino == (unsigned long)fixed.ino && makedev(maj, min) == fixed.dev) ||
         (pathAt > 0 && fixed.path == buf + pathAt))) {
      if (out.nranges == kMaxExeRanges) return false;
      out.ranges[2 * out.nranges] = lo;
      out.ranges[2 * out.nranges + 1] = hi;
      out.nranges++;
    }
    size_t used = nl < buf + have ? (size_t)(nl + 1 - buf) : have;
    memmove(buf, buf + used, have - used);
    have -= used;
  }
  return out.nranges > 0;
}

// Clones the child (see spawn_session.h): the gate's socket, the status socketpair, clone3.
int StartChild(ParsedPlan& plan, void* stack, size_t stackSize, Started& st) {
  // The create/start gate's socket, before the child exists (it inherits the fd).
  int gateStep = -1;
  for (size_t k = 0; k < plan.steps.size(); k++)
    if (plan.steps[k].op == OP_GATE) gateStep = (int)k;
  st.gateStep = gateStep;
  if (gateStep >= 0) {
    const char* syscall = nullptr;
    int fd = MakeGate(plan.steps[gateStep].str, &syscall);
    if (fd < 0) return st.failStep = gateStep, st.failSyscall = syscall, -fd;
    st.gate.reset(fd);
    st.gatePath.path = plan.steps[gateStep].str;
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return errno;  // failSyscall null: thrown
  st.sock.reset(sv[0]);
  Fd childSock(sv[1]);

  // Only our own child may talk to us: the kernel stamps every message with its sender's pid.
  int one = 1;
  setsockopt(st.sock.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  // OP_LOCK's helper runs on the bottom 64 KiB of the stack, above the guard page; the child
  // itself uses the top and never comes near it.
  char* helperStack = static_cast<char*>(stack) + 4096 + 64 * 1024;
  st.ctx = {plan.steps.data(),
            (int)plan.steps.size(),
            childSock.get(),
            st.sock.get(),
            -1,
            -1,
            0,
            {},
            -1,
            helperStack,
            0,
            st.gate.get(),
            0,
            {},
            -1};
  ChildCtx& ctx = st.ctx;
  int pidfd = -1;
  struct clone_args ca = {};
  // Share memory unless the child must setns into a user namespace: the kernel refuses that
  // to a process whose mm has other users (userns_install checks mm_users).
  // A child that makes itself non-dumpable (before joining a container) needs its own mm too:
  // the flag belongs to the mm, and Node's must stay as it is.
  // An init (OP_INIT) outlives this call: it needs its own mm too — a copy-on-write fork of
  // ours (docs/performance.md has the cost), or, where the plan allows it, one of its own from
  // the init image (below). Nothing it uses is shared with us from then on: the plan, the
  // context and the stack are its copies; it reports over the status socket.
  //
  // A child that takes another uid in our own user namespace (`uid` without a user namespace
  // of its own) must not do it in Node's mm: from its setresuid(2) until execve(2) its
  // credentials are those of every other process of that uid, and a shared mm that Redump
  // kept dumpable would let any of them open /proc/PID/mem (ptrace_may_access(): same ids,
  // an empty permitted set, a dumpable mm) and read or write Node's memory. Its own copy is
  // made non-dumpable by the credential change itself (commit_creds), as child_process's fork
  // is: no Redump then. In a user namespace of its own, the ids belong to that namespace and
  // only a process inside it (none but ours, before the exec) or holding CAP_SYS_PTRACE over
  // it passes cap_ptrace_access_check(): so only a setuid before any user namespace is made
  // (clone3's, OP_UNSHARE's, OP_FORK's, OP_LOCK's) or joined counts.
  //
  // Less than Node's credentials while still in Node's user namespace — a gid of another's,
  // fewer capabilities, a seccomp filter — are hidden from ptrace by a saved uid of another's
  // from the first such step (child.cc HideIds), or, when Node cannot set one, by an mm of the
  // child's own made non-dumpable there.
  bool forced = false, hasInit = false, outlives = false, execAllowed = false, leavesIds = false;
  bool ourUserns = !(plan.cloneFlags & CLONE_NEWUSER);
  int weakensAt = -1, stubStep = -1;
  for (size_t k = 0; k < plan.steps.size(); k++) {
    const Step& s = plan.steps[k];
    if (weakensAt < 0 && ourUserns && (s.op == OP_SETGID || s.op == OP_CAPSET || s.op == OP_SECCOMP))
      weakensAt = (int)k;
    forced = forced || (s.op == OP_SETNS && s.b == CLONE_NEWUSER) || (s.op == OP_DUMPABLE && s.a == 0);
    hasInit = hasInit || s.op == OP_INIT;
    if (s.op == OP_EXEC && s.b) stubStep = (int)k;
    execAllowed = execAllowed || (s.op == OP_INIT && s.b == 1);
    // The gate's child outlives this call too (the caller may exit before the start). A hook
    // run by the child: its mm is made non-dumpable meanwhile (child_hook.cc), so the hook
    // cannot ptrace it; that flag belongs to the mm, and Node's must stay as it is.
    outlives = outlives || s.op == OP_GATE || (s.op == OP_HOOK && s.b != HOOK_CALLER);
    if (((s.op == OP_UNSHARE || s.op == OP_FORK) && (s.a & CLONE_NEWUSER)) || s.op == OP_LOCK ||
        ((s.op == OP_SETNS || s.op == OP_ENTER) && s.b == CLONE_NEWUSER))
      ourUserns = false;
    leavesIds = leavesIds || (ourUserns && s.op == OP_SETUID && (uid_t)s.a != geteuid());
  }
  bool init = hasInit || outlives;
  // Another uid (leavesIds) is another process's credentials already, made non-dumpable by
  // the kernel; with an empty permitted set there is nothing to lose.
  long hideSuid = -1;
  bool hideByMm = false;
  if (weakensAt >= 0 && !leavesIds && !forced) {
    OwnCaps own = ReadOwnCaps();
    if (!own.permitted)
      weakensAt = -1;
    else if (own.setuid && (hideSuid = HideSuid()) >= 0)
      hideByMm = false;
    else
      hideByMm = true;
  } else {
    weakensAt = -1;
  }
  ctx.hide_at = weakensAt;
  ctx.hide_suid = hideSuid;
  ctx.hidden = 0;
  // An init alone (no gate, no hook of the child's) that the plan lets exec (spawn.ts: no
  // seccomp profile of the caller's, CAP_SYS_PTRACE out of the command's bounding and
  // inheritable sets) and that may share our mm: the init image (init_image.h) instead of a
  // fork of Node. Without a memfd for it (vm.memfd_noexec = 2), the fork.
  // The same memfd holds the exec stub (child.cc ExecStep), which an exec step may ask for
  // (spawn.ts: the command could write Node's binary through /proc/self/exe): without it that
  // spawn fails, as it cannot be made safe.
  bool execInit = execAllowed && !outlives && !forced && !leavesIds && !hideByMm;
  // A child with its own mm (a copy of ours) gets the image as its exe (child.cc HideExe).
  bool mayOwnMm = forced || init || leavesIds || hideByMm;
  Fd image;
  if (execInit || stubStep >= 0 || mayOwnMm) {
    int fd = MakeInitImage();
    if (fd >= 0)
      image.reset(fd);
    else if (stubStep >= 0)
      return st.failStep = stubStep, st.failSyscall = "memfd_create", -fd;
  }
  ctx.init_fd = image.get();
  ctx.exec_init = execInit && image.valid();
  bool ownMm = forced || (init && !ctx.exec_init) || leavesIds || hideByMm;
  ctx.hide_exe = ownMm && image.valid() && ReadExeLayout(ctx.exe);
  if (ctx.hide_exe) ctx.exe.map.exe_fd = (uint32_t)image.get();
  if (init && !forced && !ctx.exec_init) KeepForInit(stack, stackSize, ctx.init_keep);
  // plan.cloneFlags holds CLONE_NEW* flags only (ParsePlan); the rest is ours to choose.
  ca.flags = plan.cloneFlags | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | (ownMm ? 0 : CLONE_VM);
  // An init's own mm stays dumpable through the credential steps, as a shared one would (the
  // lock's helper opens its /proc files); OP_INIT makes it non-dumpable before the command.
  ctx.redump = !forced && !leavesIds && prctl(PR_GET_DUMPABLE) == 1;
  if (plan.cgroupFd >= 0) {
    ca.flags |= CLONE_INTO_CGROUP;
    ca.cgroup = (uint64_t)plan.cgroupFd;
  }
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = 0;  // no SIGCHLD: we watch the pidfd; libuv's SIGCHLD handler stays quiet
  ca.stack = (uint64_t)(uintptr_t)stack;
  ca.stack_size = stackSize;

  // Signals stay blocked across clone so no handler of ours runs on the child's stack;
  // the child resets every disposition and unblocks just before execve.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = nsbox_clone3(&ca, sizeof ca, ChildMain, &ctx);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return st.failStep = -1, st.failSyscall = "clone3", (int)-pid;
  childSock.reset();
  st.childPidfd.reset(pidfd);
  st.pid = pid;
  st.gate.reset();  // the child has its copy; ours must not outlive the spawn
  return 0;
}

// The blocking half of the outcome, once the session has ended: the intermediate a fork made
// is reaped; on failure the live process is killed and reaped. Returns the live process's
// pidfd (the child's, or the grandchild's) and sets *livePid.
Fd* Settle(Session& ss, Fd& childPidfd, long pid, long* livePid) {
  Fd* live = &childPidfd;
  *livePid = pid;
  if (ss.grandPid > 0) {
    WaitReap(childPidfd.get());  // the intermediate exits right after reporting
    live = &ss.grandPidfd;
    *livePid = ss.grandPid;
  }
  if (ss.failed) {
    if (live->valid()) {
      sys::pidfd_send_signal(live->get(), SIGKILL);
      WaitReap(live->get());
    } else {
      KillOwnChild((pid_t)ss.grandPid);
    }
  } else if (ss.wantExitPin && ss.closer && !ss.gated && live->valid()) {
    // The command has exec'd (the status socket closed on CLOEXEC): its mount namespace is
    // the run's own. Taken here, on the thread that ran the session (spawnAsync's: not JS's).
    ss.exitPin.reset(TakeExitPin(live->get(), ss.closer));
  }
  return live;
}

// The result once the child has exec'd or failed (after Settle): on success the live
// process is handed to JS.
Napi::Value Outcome(Napi::Env env, Addon* addon, Session& ss, Fd* live, long livePid) {
  Napi::Object result = Napi::Object::New(env);
  if (ss.failed) {
    result.Set("ok", false);
    result.Set("step", ss.failure.step);
    result.Set("errno", ss.failure.err);
    result.Set("sysid", ss.failure.value);
    if (!ss.failText.empty()) result.Set("stderr", Napi::String::New(env, ss.failText));
    result.Set("pid", (double)livePid);
    if (!ss.mapsErr.syscall.empty()) {
      result.Set("syscall", ss.mapsErr.syscall);
      result.Set("path", ss.mapsErr.path);
    }
    return result;
  }
  result.Set("ok", true);
  result.Set("pid", (double)livePid);
  if (ss.gated) result.Set("gated", true);
  // The child is the environment's before JS sees it: if the worker is terminated from here
  // on, teardown reaps it (pidfd.cc Cleanup) and closes the listener (addon.cc Teardown).
  // A Set refused during teardown is not fatal (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS).
  int pidfdOut = live->release();
  HoldChild(addon, pidfdOut, ss.exitPin.release());
  result.Set("pidfd", pidfdOut);
  if (ss.listener.valid()) result.Set("listener", HandFd(env, ss.listener.release()));
  if (ss.terminal.valid()) result.Set("terminal", HandFd(env, ss.terminal.release()));
  if (!ss.pinned.empty()) {
    Napi::Array pinned = Napi::Array::New(env, ss.pinned.size());
    for (size_t k = 0; k < ss.pinned.size(); k++)
      pinned.Set((uint32_t)k, HandFd(env, ss.pinned[k].release()));
    result.Set("pinned", pinned);
  }
  return result;
}

// The result when the status protocol broke: the child and any grandchild are already
// killed and reaped (Session::KillAll).
Napi::Value ProtocolFailure(Napi::Env env, const Session& ss, long pid) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", false);
  result.Set("step", ss.protoStep);
  result.Set("errno", ss.protoErr);
  result.Set("pid", (double)pid);
  result.Set("syscall", ss.protoSyscall);
  return result;
}

// A failure before any child exists: clone3 itself (step -1) or the gate's socket.
Napi::Object CloneFailure(Napi::Env env, long err, int step, const char* syscall) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", false);
  result.Set("step", step);
  result.Set("errno", (double)err);
  result.Set("pid", 0);
  result.Set("syscall", syscall);
  return result;
}

namespace {

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ParsedPlan plan;
  MapsSpec maps;
  ParentSpec parent;
  if (!ReadSpawnArgs(info, plan, maps, parent)) return env.Undefined();
  Addon* addon = GetAddon(env);
  // The network hook runs JS while a child uses the clone stack: no spawn from there.
  if (addon->spawning) {
    ThrowSys(env, EBUSY, "clone3");
    return env.Undefined();
  }
  struct Busy {
    bool& flag;
    ~Busy() { flag = false; }
  } busy{addon->spawning = true};
  void* stack = Stack(addon);
  if (!stack) {
    ThrowSys(env, errno, "mmap");
    return env.Undefined();
  }

  Started st;
  if (int err = StartChild(plan, stack, kStackSize, st)) {
    if (st.failSyscall == nullptr) return ThrowSys(env, err, "socketpair"), env.Undefined();
    return CloneFailure(env, err, st.failStep, st.failSyscall);
  }
  Fd& sock = st.sock;
  Fd& childPidfd = st.childPidfd;
  long pid = st.pid;
  int gateStep = st.gateStep;
  GatePath& gatePath = st.gatePath;
  Session ss = {sock.get(), pid, (int)plan.steps.size(), plan.steps.data(), maps, parent};
  ss.gateStep = gateStep;
  ss.wantExitPin = plan.exitPin;
  ss.closer = &addon->closer;
  if (info.Length() > 4 && info[4].IsFunction()) ss.env = env, ss.onNetwork = info[4];
  ss.Receive();
  if (ss.protoErr) {
    ss.KillAll(childPidfd.get());
    return ProtocolFailure(env, ss, pid);
  }
  sock.reset();
  gatePath.keep = ss.gated && !ss.failed;
  long livePid;
  Fd* live = Settle(ss, childPidfd, pid, &livePid);
  return Outcome(env, addon, ss, live, livePid);
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  InitSpawnAsync(env, exports);
}

}  // namespace nsbox
