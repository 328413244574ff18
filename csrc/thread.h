// Dedicated short-lived threads that enter a namespace, act and exit (STYLE.md "Threads and
// namespaces"). The creator blocks in pthread_join right after, so the thread is pinned to
// the CPU the creator runs on: that CPU is free the moment the creator blocks. Left to the
// scheduler's fork balancing, a new thread on a loaded machine can wait milliseconds in
// another CPU's run queue (measured: 7 in 300 starts over 0.5 ms on a loaded 2-vCPU VM,
// none when pinned). It starts with every signal blocked (it inherits the creator's mask,
// pthread_sigmask(3)), so process-directed signals go to the threads that handle them.
// pthread_create rather than std::thread: node-gyp builds with -fno-exceptions, and a failed
// std::thread constructor would abort the process instead of reporting EAGAIN.
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

namespace nsbox {

// Runs fn(arg) on a new thread and waits for it. Returns 0 or the pthread_create error.
inline int RunOnDedicatedThread(void* (*fn)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  int cpu = sched_getcpu();
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_attr_setaffinity_np(&attr, sizeof set, &set);
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, fn, arg);
  if (err == EINVAL && cpu >= 0) {
    // The CPU left our affinity mask meanwhile (cpuset change): start unpinned.
    pthread_attr_destroy(&attr);
    pthread_attr_init(&attr);
    err = pthread_create(&thread, &attr, fn, arg);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err == 0) pthread_join(thread, nullptr);
  return err;
}

// The calling thread's way back to its network namespace, for work that leaves it for a few
// syscalls inside one native call (no JS, no libuv callback runs meanwhile): the C floor's
// way (bench/net-floor.c), cheaper than a dedicated thread, whose creation and two cross-CPU
// wake-ups cost ~0.07 ms (a thread kept for the environment costs the same wake-ups:
// measured equal). Arm() opens /proc/thread-self/ns/net and setns(2)s into it: a no-op that
// the kernel checks exactly as the way back (netns_install: CAP_SYS_ADMIN in the caller's
// user namespace and in the one owning the namespace), so false means nothing moved and the
// caller takes the dedicated thread instead. The destructor goes back; should that fail all
// the same, the thread would run on in a foreign namespace, which is never allowed to happen
// silently: the process ends with a fatal error. Network namespaces only: a thread cannot
// come back into its mount or user namespace (docs/threading.md).
class NetnsReturn {
 public:
  NetnsReturn() = default;
  NetnsReturn(const NetnsReturn&) = delete;
  NetnsReturn& operator=(const NetnsReturn&) = delete;
  ~NetnsReturn() { Return(); }

  // Goes back now (idempotent); errno is kept.
  void Return() {
    if (fd_ < 0) return;
    int saved = errno;
    if (setns(fd_, CLONE_NEWNET) < 0)
      napi_fatal_error(
          "nsbox", NAPI_AUTO_LENGTH,
          "setns(2) back into the calling thread's network namespace failed after it was allowed",
          NAPI_AUTO_LENGTH);
    close(fd_);
    fd_ = -1;
    errno = saved;
  }

  bool Arm() {
    fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd_ >= 0 && setns(fd_, CLONE_NEWNET) == 0) return true;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return false;
  }

 private:
  int fd_ = -1;
};

}  // namespace nsbox
