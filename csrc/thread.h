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
#include <pthread.h>
#include <sched.h>
#include <signal.h>

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

struct Addon;

// Runs fn(arg) on the environment's thread kept for network namespace work (csrc/ns_make.cc),
// which goes back into the caller's network namespace afterwards when fn returns true (it
// left it). Returns 0, or an error if that thread could not be used (then the caller runs
// the job on a thread of its own, RunOnDedicatedThread). JS thread of the environment only.
int RunOnNetThread(Addon* addon, bool (*fn)(void*), void* arg);

}  // namespace nsbox
