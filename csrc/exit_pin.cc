// See exit_pin.h.
#include "exit_pin.h"

#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef PIDFD_GET_MNT_NAMESPACE
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3)  // include/uapi/linux/pidfd.h, Linux 6.11
#endif

namespace nsbox {

namespace {
std::atomic<bool> unsupported{false};
}  // namespace

int TakeExitPin(int pidfd, ExitCloser* closer) {
  if (pidfd < 0 || unsupported.load(std::memory_order_relaxed) || !closer->Admit()) return -1;
  int fd = ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE, 0);
  if (fd < 0 && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP))
    unsupported.store(true, std::memory_order_relaxed);
  if (fd < 0) closer->Unadmit();
  return fd < 0 ? -1 : fd;
}

// Every pin this environment took is closed here (one admitted by Admit, counted back).
void ExitCloser::CloseNow(int fd) {
  close(fd);
  held_.fetch_sub(1, std::memory_order_relaxed);
}

void ExitCloser::Close(int fd) {
  if (fd < 0) return;
  {
    std::lock_guard<std::mutex> g(m_);
    if (!started_ && !failed_ && !stopping_) {
      // Every signal blocked in the thread (it inherits the mask: pthread_sigmask(3)), so
      // process-directed signals go to the threads that handle them, as thread.h's do.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setstacksize(&attr, 64 * 1024);
      int err = pthread_create(&thread_, &attr, Main, this);
      pthread_attr_destroy(&attr);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (err == 0) pthread_setname_np(thread_, "nsbox-exitpin");  // as profiles show it
      started_ = err == 0;
      failed_ = err != 0;
    }
    if (started_ && !stopping_ && queue_.size() < kMaxQueued) {
      queue_.push_back(fd);
      cv_.notify_one();
      return;
    }
  }
  CloseNow(fd);
}

void* ExitCloser::Main(void* arg) {
  ExitCloser* self = static_cast<ExitCloser*>(arg);
  std::vector<int> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> g(self->m_);
      self->cv_.wait(g, [self] { return !self->queue_.empty() || self->stopping_; });
      if (self->queue_.empty()) return nullptr;  // stopping, and nothing left
      batch.swap(self->queue_);
    }
    for (int fd : batch) self->CloseNow(fd);
    batch.clear();
  }
}

void ExitCloser::Stop() {
  bool join;
  {
    std::lock_guard<std::mutex> g(m_);
    if (stopping_) return;
    stopping_ = true;
    join = started_;
    cv_.notify_all();
  }
  if (join) pthread_join(thread_, nullptr);  // it drains the queue first
  for (int fd : queue_) CloseNow(fd);        // never started: nothing was queued
  queue_.clear();
}

}  // namespace nsbox
