// bpf(2) for the cgroup device filter (src/cgroups/devices.ts): load a BPF_PROG_TYPE_CGROUP_DEVICE
// program that TS generated, attach it to a cgroup v2 directory, list and detach programs.
// Thin by design: TS generates, validates and builds the errors (syscall names are the bpf
// commands, as netlink errors name their message types).
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"

namespace nsbox {
namespace {

long Bpf(int cmd, union bpf_attr* attr) {
  long r;
  while ((r = syscall(__NR_bpf, cmd, attr, sizeof *attr)) < 0 && errno == EINTR) {
  }
  return r;
}

// The verifier gives up with EAGAIN when a signal is pending (verifier.c do_check: "if
// (signal_pending(current)) return -EAGAIN"), and Node's threads get signals (SIGPROF from
// --cpu-prof's sampler, SIGCHLD, a caller's SIGWINCH). So the load runs with this thread's
// signals blocked (one pending meanwhile is delivered at the unblock, as spawn does around
// clone3), and an EAGAIN all the same (SIGKILL, SIGSTOP) loads again, as libbpf does
// (PROG_LOAD_ATTEMPTS, 5).
long BpfProgLoad(union bpf_attr* attr) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long r = -1;
  int err = 0;
  for (int attempt = 0; attempt < 5; attempt++)
    if ((r = Bpf(BPF_PROG_LOAD, attr)) >= 0 || (err = errno) != EAGAIN) break;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (r < 0) errno = err;
  return r;
}

// The verifier's log is asked for only after a refusal: loading twice on the error path costs
// nothing in the common case, and a log buffer that is too small would itself fail a load.
constexpr uint32_t kLogSize = 64 * 1024;

// bpfLoadDeviceProgram(insns): [fd, 0, ''] or [-1, errno, verifier log]. The license is
// "Apache-2.0": a cgroup device program calls no GPL-only helper (runc loads with "Apache").
// The kernel makes prog fds O_CLOEXEC.
Napi::Value LoadDeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "bpfLoadDeviceProgram(insns: Buffer)");
    return env.Undefined();
  }
  auto insns = info[0].As<Napi::Buffer<uint8_t>>();
  if (insns.Length() == 0 || insns.Length() % sizeof(struct bpf_insn) != 0 ||
      insns.Length() / sizeof(struct bpf_insn) > 1000000) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "bpfLoadDeviceProgram: not a whole number of instructions");
    return env.Undefined();
  }
  static const char kLicense[] = "Apache-2.0";
  std::vector<char> log;
  union bpf_attr a;
  auto load = [&](bool withLog) {
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.expected_attach_type = BPF_CGROUP_DEVICE;
    a.insns = reinterpret_cast<uint64_t>(insns.Data());
    a.insn_cnt = (uint32_t)(insns.Length() / sizeof(struct bpf_insn));
    a.license = reinterpret_cast<uint64_t>(kLicense);
    memcpy(a.prog_name, "nsbox_devices", sizeof "nsbox_devices");
    if (withLog) {
      log.assign(kLogSize, '\0');
      a.log_level = 1;
      a.log_size = kLogSize;
      a.log_buf = reinterpret_cast<uint64_t>(log.data());
    }
    return (int)BpfProgLoad(&a);
  };
  int fd = load(false);
  int err = errno;
  if (fd < 0 && (err == EACCES || err == EINVAL)) {
    fd = load(true);
    err = errno;
  }
  Napi::Array out = Napi::Array::New(env, 3);
  if (fd >= 0) {
    out.Set(0u, HandFd(env, fd));
    out.Set(1u, Napi::Number::New(env, 0));
    out.Set(2u, Napi::String::New(env, ""));
  } else {
    out.Set(0u, Napi::Number::New(env, -1));
    out.Set(1u, Napi::Number::New(env, err));
    out.Set(2u, Napi::String::New(
                    env, log.empty() ? "" : std::string(log.data(), strnlen(log.data(), log.size()))));
  }
  return out;
}

Fd OpenCgroup(Napi::Env env, const std::string& dir) {
  Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) ThrowSys(env, errno, "open", dir.c_str());
  return fd;
}

// The ids of the device programs attached to this cgroup itself (not inherited).
bool Query(Napi::Env env, int cg, const std::string& dir, std::vector<uint32_t>* ids) {
  for (uint32_t cap = 16;; cap *= 4) {
    ids->assign(cap, 0);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.query.target_fd = cg;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = reinterpret_cast<uint64_t>(ids->data());
    a.query.prog_cnt = cap;
    if (Bpf(BPF_PROG_QUERY, &a) == 0) {
      ids->resize(a.query.prog_cnt);
      return true;
    }
    if (errno != ENOSPC || cap > 65536) {
      ThrowSys(env, errno, "BPF_PROG_QUERY", dir.c_str());
      return false;
    }
  }
}

// bpfQueryDevicePrograms(dir): ids of the device programs attached to the cgroup.
Napi::Value QueryDevicePrograms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir;
  if (!ArgString(info, 0, &dir)) return env.Undefined();
  Fd cg = OpenCgroup(env, dir);
  std::vector<uint32_t> ids;
  if (!cg.valid() || !Query(env, cg.get(), dir, &ids)) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); i++) out.Set((uint32_t)i, Napi::Number::New(env, ids[i]));
  return out;
}

// bpfSetDevicePrograms(dir, progFd): attaches progFd to the cgroup (BPF_F_ALLOW_MULTI, as runc
// and systemd do), then detaches every device program that was attached to it before. The new
// one is attached first so the cgroup is never without a filter; while both are attached a
// request must pass both (stricter, never looser). BPF_F_REPLACE (Linux 5.7) would swap one
// program atomically, but a cgroup may hold several (another manager's); this works on every
// kernel with BPF_CGROUP_DEVICE (4.15). The attachment holds the program: progFd can be
// closed afterwards, and the program goes when the cgroup does.
Napi::Value SetDevicePrograms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir;
  int prog;
  if (!ArgString(info, 0, &dir) || !ArgFd(info, 1, &prog)) return env.Undefined();
  Fd cg = OpenCgroup(env, dir);
  std::vector<uint32_t> old;
  if (!cg.valid() || !Query(env, cg.get(), dir, &old)) return env.Undefined();
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.target_fd = cg.get();
  a.attach_bpf_fd = prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &a) < 0) {
    ThrowSys(env, errno, "BPF_PROG_ATTACH", dir.c_str());
    return env.Undefined();
  }
  for (uint32_t id : old) {
    memset(&a, 0, sizeof a);
    a.prog_id = id;
    Fd p((int)Bpf(BPF_PROG_GET_FD_BY_ID, &a));
    if (!p.valid()) {
      if (errno == ENOENT) continue;  // detached and freed meanwhile
      ThrowSys(env, errno, "BPF_PROG_GET_FD_BY_ID", dir.c_str());
      return env.Undefined();
    }
    memset(&a, 0, sizeof a);
    a.target_fd = cg.get();
    a.attach_bpf_fd = p.get();
    a.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT) {
      ThrowSys(env, errno, "BPF_PROG_DETACH", dir.c_str());
      return env.Undefined();
    }
  }
  return env.Undefined();
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfLoadDeviceProgram", Napi::Function::New(env, LoadDeviceProgram, "bpfLoadDeviceProgram"));
  exports.Set("bpfQueryDevicePrograms",
              Napi::Function::New(env, QueryDevicePrograms, "bpfQueryDevicePrograms"));
  exports.Set("bpfSetDevicePrograms", Napi::Function::New(env, SetDevicePrograms, "bpfSetDevicePrograms"));
}

}  // namespace nsbox
