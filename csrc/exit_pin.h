// A run's mount namespace held by the parent over the run's exit (plan.h OP_EXIT_PIN).
//
// A process that exits as the last user of its mount namespace tears the namespace down in
// do_exit (exit_task_namespaces → put_mnt_ns → umount_tree, then an RCU grace period in
// namespace_unlock) before its parent can see the exit: with a template run's ~20 mounts that
// put ~80 µs on every run's exit → waitid path (docs/performance.md, "Sandbox templates").
// Once the command has exec'd, the parent takes its own reference to the namespace with
// ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE) (Linux 6.11; an O_CLOEXEC nsfs fd, held by this process
// only), so the exiting task drops a reference that is not the last; after the exit has been
// seen the reference goes to a background thread (ExitCloser), whose close(2) does the
// teardown off the JS thread and off the next run's path.
#pragma once
#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <vector>

namespace nsbox {

// ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE): the live process's mount namespace as an O_CLOEXEC
// fd, or -1 when it cannot be had (ESRCH: it has exited already; EACCES; ENOTTY/EINVAL on a
// kernel before 6.11, which is remembered and never asked again). Never fails a spawn.
int TakeExitPin(int pidfd);

// One per environment (Addon): a thread, started at the first Close, that closes the fds
// handed to it. Stop (environment teardown) closes what is still queued and joins it.
class ExitCloser {
 public:
  ExitCloser() = default;
  ExitCloser(const ExitCloser&) = delete;
  ExitCloser& operator=(const ExitCloser&) = delete;
  ~ExitCloser() { Stop(); }

  // Hands `fd` (ours) to the thread; closes it here instead when the thread cannot be
  // started, after Stop, or when kMaxQueued are already waiting (the thread cannot keep up:
  // the caller then pays, as the exiting task did before). Never fails; -1 is ignored.
  void Close(int fd);
  // Closes every queued fd and joins the thread. Idempotent.
  void Stop();

 private:
  static constexpr size_t kMaxQueued = 1024;
  static void* Main(void* self);
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<int> queue_;
  pthread_t thread_;
  bool started_ = false, failed_ = false, stopping_ = false;
};

}  // namespace nsbox
