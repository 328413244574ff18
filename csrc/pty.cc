// Pseudo-terminals (pty(7)) and fd passing to a console socket (unix(7) SCM_RIGHTS): the
// parent-side half of terminals. The child-side half (a pty made inside a container, then
// its controlling terminal) is child_tty.cc. Thin by design: TS validates and builds errors.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"
#include "unix_connect.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace nsbox {
namespace {

// openPty(rows, cols): [master, slave, path]. posix_openpt(3) is open("/dev/ptmx"); unlockpt(3)
// is TIOCSPTLCK 0; the slave is opened through the master with TIOCGPTPEER (Linux 4.13),
// which names the master's own devpts instance whatever /dev/pts is in this mount namespace
// (no path race, as runc and crun do), else by its path. grantpt(3) is a no-op on devpts.
// rows and cols of 0 leave the kernel's 0x0 size.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t rows, cols;
  if (!ArgU32(info, 0, &rows) || !ArgU32(info, 1, &cols)) return env.Undefined();
  Fd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) {
    ThrowSys(env, errno, "open", "/dev/ptmx");
    return env.Undefined();
  }
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) {
    ThrowSys(env, errno, "ioctl", "/dev/ptmx");
    return env.Undefined();
  }
  unsigned n;
  if (ioctl(master.get(), TIOCGPTN, &n) < 0) {
    ThrowSys(env, errno, "ioctl", "/dev/ptmx");
    return env.Undefined();
  }
  char path[32];
  snprintf(path, sizeof path, "/dev/pts/%u", n);
  Fd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid() && (errno == EINVAL || errno == ENOTTY))
    slave.reset(open(path, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) {
    ThrowSys(env, errno, "open", path);
    return env.Undefined();
  }
  if (rows || cols) {
    struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
    if (ioctl(master.get(), TIOCSWINSZ, &ws) < 0) {
      ThrowSys(env, errno, "ioctl", path);
      return env.Undefined();
    }
  }
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, HandFd(env, master.release()));
  a.Set(1u, HandFd(env, slave.release()));
  a.Set(2u, Napi::String::New(env, path));
  return a;
}

// ptyPath(master): the slave's /dev/pts/N in the master's devpts instance (TIOCGPTN).
Napi::Value PtyPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  unsigned n;
  if (ioctl(fd, TIOCGPTN, &n) < 0) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  return Napi::String::New(env, "/dev/pts/" + std::to_string(n));
}

// ptyResize(fd, rows, cols): TIOCSWINSZ; the foreground process group gets SIGWINCH.
Napi::Value PtyResize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t rows, cols;
  if (!ArgFd(info, 0, &fd) || !ArgU32(info, 1, &rows) || !ArgU32(info, 2, &cols)) return env.Undefined();
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) ThrowSys(env, errno, "ioctl");
  return env.Undefined();
}

// ptyDup(fd): a second fd (F_DUPFD_CLOEXEC) of the master's open file, for a libuv tty
// handle that closes its own.
Napi::Value PtyDup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    ThrowSys(env, errno, "fcntl");
    return env.Undefined();
  }
  return HandFd(env, copy);
}

// ptySize(fd): [rows, cols] (TIOCGWINSZ).
Napi::Value PtySize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  struct winsize ws = {};
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, ws.ws_row));
  a.Set(1u, Napi::Number::New(env, ws.ws_col));
  return a;
}

// ptySetOnlcr(fd, on 0/1): ONLCR of the terminal's output flags (termios(3), TCSANOW). On a master
// the termios ioctls act on its slave's settings (tty_ioctl(4)), so either end will do.
Napi::Value PtySetOnlcr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t on;
  if (!ArgFd(info, 0, &fd) || !ArgU32(info, 1, &on)) return env.Undefined();
  struct termios t;
  if (tcgetattr(fd, &t) < 0) {
    ThrowSys(env, errno, "ioctl");
    return env.Undefined();
  }
  if (on)
    t.c_oflag |= ONLCR;
  else
    t.c_oflag &= ~ONLCR;
  if (tcsetattr(fd, TCSANOW, &t) < 0) ThrowSys(env, errno, "ioctl");
  return env.Undefined();
}

// sendFd(path, fd, name): connect(2) a SOCK_STREAM unix socket to `path` and sendmsg(2) `fd`
// as SCM_RIGHTS with `name` as the data bytes (runc's console-socket message: the data is the
// file's name, and a stream socket needs at least one data byte to carry the control
// message). A local connect and one small send: it blocks only if the listener's backlog or
// buffer is full. TS checks that `path` fits sun_path.
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  int fd;
  if (!ArgString(info, 0, &path) || !ArgFd(info, 1, &fd) || !ArgString(info, 2, &name))
    return env.Undefined();
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path) || name.empty()) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", "sendFd(path: 1..107 bytes, fd, name: non-empty)");
    return env.Undefined();
  }
  int err = 0;
  const char* syscall = "";
  Fd sock = ConnectUnix(path, &err, &syscall);
  if (!sock.valid()) {
    ThrowSys(env, err, syscall, syscall[0] == 'c' ? path.c_str() : nullptr);
    return env.Undefined();
  }
  struct iovec iov = {const_cast<char*>(name.data()), name.size()};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cbuf;
  memset(&cbuf, 0, sizeof cbuf);
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = sizeof cbuf.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = sendmsg(sock.get(), &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n < 0) ThrowSys(env, errno, "sendmsg", path.c_str());
  return env.Undefined();
}

}  // namespace

void InitPty(Napi::Env env, Napi::Object exports) {
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("ptyPath", Napi::Function::New(env, PtyPath, "ptyPath"));
  exports.Set("ptyResize", Napi::Function::New(env, PtyResize, "ptyResize"));
  exports.Set("ptySize", Napi::Function::New(env, PtySize, "ptySize"));
  exports.Set("ptySetOnlcr", Napi::Function::New(env, PtySetOnlcr, "ptySetOnlcr"));
  exports.Set("ptyDup", Napi::Function::New(env, PtyDup, "ptyDup"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
}

}  // namespace nsbox
