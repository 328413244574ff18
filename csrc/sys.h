// Thin wrappers for syscalls glibc 2.36 lacks (or wraps with errno). Each returns the
// result or -errno, so callers never read errno after the fact.
#pragma once
#include <errno.h>
#include <linux/ioctl.h>
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
// ioctl(pidfd, PIDFD_GET_*_NAMESPACE): include/uapi/linux/pidfd.h, Linux 6.11. _IO(0xFF, 1..10).
#ifndef PIDFD_GET_CGROUP_NAMESPACE
#define PIDFD_GET_CGROUP_NAMESPACE _IO(0xFF, 1)
#define PIDFD_GET_IPC_NAMESPACE _IO(0xFF, 2)
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3)
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4)
#define PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE _IO(0xFF, 6)
#define PIDFD_GET_TIME_NAMESPACE _IO(0xFF, 7)
#define PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE _IO(0xFF, 8)
#define PIDFD_GET_USER_NAMESPACE _IO(0xFF, 9)
#define PIDFD_GET_UTS_NAMESPACE _IO(0xFF, 10)
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
