// tmpcopyup (runc's and crun's mount extension, which podman puts on /run, /tmp and
// /var/log/journal of a systemd container): the tmpfs just mounted over a directory of the
// image starts as a copy of that directory. Run by the child with child.cc's rules: raw
// syscalls, no allocation, stack buffers only.
//
// Everything is reached relative to directory fds, by names read with getdents64(2) (one
// component, no '/'), opened O_NOFOLLOW: a symlink in the image is copied as a symlink and
// never followed, so the copy cannot read or write outside the two trees. The destination is
// a tmpfs nobody else has seen yet, so entries are created O_EXCL and then given their owner
// (fchownat, before the mode: chown clears set-id bits) and mode (the umask does not apply).
// Like crun: no timestamps, and hard links become separate files. Extended attributes of
// files and directories are copied after the owner and mode (chown(2) would clear a
// security.capability); one the tmpfs cannot hold or we may not set (EOPNOTSUPP, EPERM: a
// trusted.* one without CAP_SYS_ADMIN) is left out, as crun leaves it out. Symlinks and
// device nodes keep none (f*xattr(2) needs an open file), and neither does an entry whose
// names take over 4 KiB; a value over 4 KiB is left out (stack buffers only).
#include "child_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "child.h"
#include "nr.h"
#include "plan.h"
#include "rawsys.h"

namespace nsbox {
namespace {

using raw::sc;

// getdents64(2)'s record (linux/dirent.h has no userspace header for it).
struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

bool Dots(const char* n) {
  return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

long Close(long fd) {
  return sc(__NR_close, fd);
}

// A regular file's bytes. Not inlined: its buffer must not sit in every level of the recursion.
__attribute__((noinline)) long CopyFile(int sdir, int ddir, const char* name, int* sysid) {
  char buf[8192];
  *sysid = SYS_OPENAT;
  // O_NONBLOCK: should the entry have become a FIFO since it was looked at, open does not wait.
  long in = sc(__NR_openat, sdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return in;
  long out = sc(__NR_openat, ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) return Close(in), out;
  long r;
  for (;;) {
    *sysid = SYS_READ;
    r = sc(__NR_read, in, buf, sizeof buf);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    *sysid = SYS_WRITE;
    if ((r = WriteAll(out, buf, r)) < 0) break;
  }
  Close(in);
  Close(out);
  return r;
}

// A symlink, its target as it is (resolved only ever inside the container).
__attribute__((noinline)) long CopyLink(int sdir, int ddir, const char* name, int* sysid) {
  char target[4096];
  *sysid = SYS_READLINKAT;
  long n = sc(__NR_readlinkat, sdir, name, target, sizeof target);
  if (n < 0) return n;
  if (n >= (long)sizeof target) return -ENAMETOOLONG;
  target[n] = 0;
  *sysid = SYS_SYMLINKAT;
  return sc(__NR_symlinkat, target, ddir, name);
}

long CopyDir(int src, int dst, int depth, int* sysid);

// The extended attributes of `name` in `sdir` onto the same name in `ddir` (a file or a
// directory we just made). Not inlined: its buffers must not sit in every level of the
// recursion.
__attribute__((noinline)) long CopyXattrs(int sdir, int ddir, const char* name, bool dir, int* sysid) {
  char names[4096];
  char value[4096];
  int flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (dir ? O_DIRECTORY : 0);
  *sysid = SYS_OPENAT;
  long s = sc(__NR_openat, sdir, name, flags);
  if (s < 0) return s;
  *sysid = SYS_FLISTXATTR;
  long n = sc(__NR_flistxattr, s, names, sizeof names);
  if (n == -EOPNOTSUPP || n == -ERANGE || n == 0) return Close(s), 0;
  if (n < 0) return Close(s), n;
  *sysid = SYS_OPENAT;
  long d = sc(__NR_openat, ddir, name, flags);
  if (d < 0) return Close(s), d;
  long r = 0;
  for (long at = 0; at < n;) {
    const char* key = names + at;
    at += (long)CStrLen(key) + 1;
    *sysid = SYS_FGETXATTR;
    long len = sc(__NR_fgetxattr, s, key, value, sizeof value);
    if (len == -ENODATA || len == -ERANGE) continue;  // removed since it was listed, or over 4 KiB
    if (len < 0) {
      r = len;
      break;
    }
    *sysid = SYS_FSETXATTR;
    long w = sc(__NR_fsetxattr, d, key, value, len, 0);
    if (w < 0 && w != -EOPNOTSUPP && w != -EPERM) {
      r = w;
      break;
    }
  }
  Close(s);
  Close(d);
  return r;
}

// One entry of `sdir`, made in `ddir`, then its owner and mode.
long CopyEntry(int sdir, int ddir, const char* name, int depth, int* sysid) {
  struct stat st;
  *sysid = SYS_NEWFSTATAT;
  long r = sc(__NR_newfstatat, sdir, name, &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return r;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: r = CopyFile(sdir, ddir, name, sysid); break;
    case S_IFLNK: r = CopyLink(sdir, ddir, name, sysid); break;
    case S_IFDIR: {
      if (depth >= kCopyMaxDepth) return -ELOOP;
      *sysid = SYS_MKDIRAT;
      if ((r = sc(__NR_mkdirat, ddir, name, 0700)) < 0) return r;
      *sysid = SYS_OPENAT;
      long s = sc(__NR_openat, sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return s;
      long d = sc(__NR_openat, ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return Close(s), d;
      r = CopyDir((int)s, (int)d, depth + 1, sysid);
      Close(s);
      Close(d);
      break;
    }
    default:  // FIFO, socket, character or block device
      *sysid = SYS_MKNODAT;
      r = sc(__NR_mknodat, ddir, name, st.st_mode & (S_IFMT | 0600), (unsigned)st.st_rdev);
  }
  if (r < 0) return r;
  *sysid = SYS_FCHOWNAT;
  if ((r = sc(__NR_fchownat, ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)) < 0) return r;
  if (S_ISLNK(st.st_mode)) return 0;  // a symlink's own mode means nothing on Linux
  // fchmodat(2) has no flags: it follows a symlink, but this entry is not one (we made it).
  *sysid = SYS_FCHMODAT;
  if ((r = sc(__NR_fchmodat, ddir, name, st.st_mode & 07777)) < 0) return r;
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
  return CopyXattrs(sdir, ddir, name, S_ISDIR(st.st_mode), sysid);
}

long CopyDir(int src, int dst, int depth, int* sysid) {
  alignas(8) char buf[1024];
  for (;;) {
    *sysid = SYS_GETDENTS64;
    long n = sc(__NR_getdents64, src, buf, sizeof buf);
    if (n <= 0) return n;
    for (long at = 0; at < n;) {
      const Dirent64* e = reinterpret_cast<const Dirent64*>(buf + at);
      at += e->reclen;
      if (Dots(e->name)) continue;
      long r = CopyEntry(src, dst, e->name, depth, sysid);
      if (r < 0) return r;
    }
  }
}

}  // namespace

long CopyTree(int src, int dst, int* sysid) {
  return CopyDir(src, dst, 0, sysid);
}

long CopyRootAttrs(int dst, const struct stat& st, bool mode, int* sysid) {
  *sysid = SYS_FCHOWNAT;
  long r = sc(__NR_fchown, dst, st.st_uid, st.st_gid);
  if (r < 0 || !mode) return r;
  *sysid = SYS_FCHMODAT;
  return sc(__NR_fchmod, dst, st.st_mode & 07777);
}

}  // namespace nsbox
