// Thin wrappers for syscalls glibc 2.36 lacks (or wraps with errno). Each returns the
// result or -errno, so callers never read errno after the fact.
#pragma once
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace nsbox {
namespace sys {

inline long ret(long r) {
  return r < 0 ? -errno : r;
}

inline int pidfd_open(pid_t pid, unsigned flags) {
  return (int)ret(syscall(__NR_pidfd_open, pid, flags));
}
inline int pidfd_send_signal(int pidfd, int sig) {
  return (int)ret(syscall(__NR_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
inline int close_range(unsigned first, unsigned last, unsigned flags) {
  return (int)ret(syscall(__NR_close_range, first, last, flags));
}
inline int fsopen(const char* name, unsigned flags) {
  return (int)ret(syscall(__NR_fsopen, name, flags));
}
inline int open_tree(int dfd, const char* path, unsigned flags) {
  return (int)ret(syscall(__NR_open_tree, dfd, path, flags));
}

}  // namespace sys
}  // namespace nsbox
