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

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace nsbox {

class ExitCloser;

// ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE): the live process's mount namespace as an O_CLOEXEC
// fd, or -1 when it cannot be had (ESRCH: it has exited already; EACCES; ENOTTY/EINVAL on a
// kernel before 6.11, which is remembered and never asked again) or is not wanted now
// (ExitCloser::Admit). Never fails a spawn. Any thread.
int TakeExitPin(int pidfd, ExitCloser* closer);

// One per environment (Addon): a thread, started at the first Close, that closes the fds
// handed to it. Stop (environment teardown) closes what is still queued and joins it.
class ExitCloser {
 public:
  ExitCloser() = default;
  ExitCloser(const ExitCloser&) = delete;
  ExitCloser& operator=(const ExitCloser&) = delete;
  ~ExitCloser() { Stop(); }

  // Whether one more pin may be taken: fewer than kMaxHeld are held or waiting to be closed.
  // A pin pays off when runs are few at a time (their exit is what the caller waits for); with
  // many in flight the machine is busy anyway, and a pin's own cost (the ioctl, a hand-off to
  // this thread, an fd more in every clone's copy of the table, which can make another run's
  // child the one that drops the namespace) would be paid for nothing. Any thread.
  bool Admit() {
    if (held_.load(std::memory_order_relaxed) >= kMaxHeld) return false;
    held_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // An admitted pin that was not taken after all.
  void Unadmit() { held_.fetch_sub(1, std::memory_order_relaxed); }

  // Hands `fd` (ours) to the thread; closes it here instead when the thread cannot be
  // started, after Stop, or when kMaxQueued are already waiting (the thread cannot keep up:
  // the caller then pays, as the exiting task did before). Never fails; -1 is ignored.
  void Close(int fd);
  // Closes every queued fd and joins the thread. Idempotent.
  void Stop();

 private:
  static constexpr size_t kMaxQueued = 1024;
  static constexpr int kMaxHeld = 2;
  static void* Main(void* self);
  void CloseNow(int fd);
  std::atomic<int> held_{0};
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<int> queue_;
  pthread_t thread_;
  bool started_ = false, failed_ = false, stopping_ = false;
};

}  // namespace nsbox
