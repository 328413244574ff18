// Filesystem steps of the spawn plan (plan.h OP_FS_BASE .. OP_PIVOT), run by the child with
// the same rules as child.cc: raw syscalls, no allocation, stack buffers only.
//
// The layout follows bwrap's: a tmpfs becomes the root first and the host's root moves to
// /oldroot, so every host path (layers, volumes, device nodes) is reached as /oldroot/PATH
// and nothing is mounted over the host's directories, even in this namespace. The container
// root is assembled at /newroot; its mount targets are resolved with openat2(2)
// RESOLVE_IN_ROOT, so a symlink planted in the rootfs cannot redirect a mount to the host
// (runc CVE-2021-30465), and mounts go onto /oldroot/proc/self/fd/N, the exact inode opened.
// Finally pivot_root(2) into /newroot and a lazy unmount drop both the base and the old root.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "child_copy.h"
#include "child_fs.h"
#include "plan.h"
#include "rawsys.h"
#include "nr.h"

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

namespace nsbox {
namespace {

using raw::sc;

constexpr const char* kRoot = "/newroot";
constexpr size_t kPath = 4096;

size_t Cat(char* buf, size_t at, const char* s) {
  while (*s && at + 1 < kPath) buf[at++] = *s++;
  buf[at] = 0;
  return at;
}

// "/oldroot/proc/self/fd/N": a path the classic mount(2) follows to the inode behind fd N
// ("/proc/self/fd/N" in an entered template, which has no /oldroot and its run's own /proc).
void FdPath(char* buf, int fd, bool entered) {
  size_t n = Cat(buf, 0, entered ? "/proc/self/fd/" : "/oldroot/proc/self/fd/");
  char digits[12];
  int k = 0;
  do {
    digits[k++] = (char)('0' + fd % 10);
    fd /= 10;
  } while (fd);
  while (k) buf[n++] = digits[--k];
  buf[n] = 0;
}

}  // namespace

// The directory targets are resolved in: /newroot (opened once per spawn, after the root is
// mounted there: every in-root step comes after that) or the base "/". Borrowed: not closed.
long OpenRoot(ChildCtx* ctx, bool inRoot) {
  if (!inRoot) {
    if (ctx->basefd < 0) ctx->basefd = (int)sc(__NR_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return ctx->basefd;
  }
  if (ctx->rootfd < 0) ctx->rootfd = (int)sc(__NR_openat, AT_FDCWD, kRoot, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return ctx->rootfd;
}

long OpenIn(int rootfd, const char* path, int flags) {
  struct open_how how = {};
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return sc(__NR_openat2, rootfd, path, &how, sizeof how);
}

namespace {

// Creates `path` inside the root if missing: every missing parent as a directory, the last
// component as a directory or an empty file. Each component is created relative to its
// parent, itself opened confined, so nothing is ever created outside the root.
// Creates `name` (the last component) in the directory `parent` opened confined.
long CreateAt(long parent, const char* name, bool file, int* sysid) {
  long r;
  if (file) {
    *sysid = SYS_OPENAT;
    r = sc(__NR_openat, parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (r >= 0) sc(__NR_close, r), r = 0;
  } else {
    *sysid = SYS_MKDIRAT;
    r = sc(__NR_mkdirat, parent, name, 0755);
  }
  return r == -EEXIST ? 0 : r;
}

long EnsureIn(int rootfd, const char* path, bool file, int* sysid) {
  char buf[kPath];
  size_t n = Cat(buf, 0, path);
  // Usually only the last component is missing: create it in its parent, one lookup.
  size_t last = n;
  while (last > 0 && buf[last] != '/') last--;
  buf[last] = 0;
  long parent = OpenIn(rootfd, last ? buf : "/", O_PATH | O_DIRECTORY);
  buf[last] = '/';
  if (parent >= 0) {
    long r = CreateAt(parent, buf + last + 1, file, sysid);
    sc(__NR_close, parent);
    return r;
  }
  if (parent != -ENOENT) return *sysid = SYS_OPENAT2, parent;
  for (size_t i = 1; i <= n; i++) {
    if (i < n && buf[i] != '/') continue;
    char saved = buf[i];
    buf[i] = 0;
    long fd = OpenIn(rootfd, buf, O_PATH);
    if (fd >= 0) {
      sc(__NR_close, fd);
    } else if (fd == -ENOENT) {
      size_t slash = i;
      while (slash > 0 && buf[slash] != '/') slash--;
      buf[slash] = 0;
      long dir = OpenIn(rootfd, slash ? buf : "/", O_PATH | O_DIRECTORY);
      buf[slash] = '/';
      if (dir < 0) return *sysid = SYS_OPENAT2, dir;
      long r = CreateAt(dir, buf + slash + 1, i == n && file, sysid);
      sc(__NR_close, dir);
      if (r < 0) return r;
    } else {
      return *sysid = SYS_OPENAT2, fd;
    }
    buf[i] = saved;
  }
  return 0;
}

long SetAttr(int dfd, const char* path, unsigned flags, uint64_t set, uint64_t clr,
             uint64_t propagation = 0) {
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  attr.propagation = propagation;
  return sc(__NR_mount_setattr, dfd, path, flags, &attr, sizeof attr);
}

}  // namespace

// The fd of the anchor (an MNT_ANCHOR mount's root) whose dst is `path` or a parent of it, of
// the same kind (in the new root or not), and in `rest` what follows it ("." for the anchor
// itself); or -1. The latest anchor wins.
int FindAnchor(ChildCtx* ctx, const char* path, int in_root, const char** rest) {
  for (int i = ctx->nanchors - 1; i >= 0; i--) {
    const char* a = ctx->anchors[i].dst;
    if (ctx->anchors[i].in_root != in_root) continue;
    size_t k = 0;
    while (a[k] && a[k] == path[k]) k++;
    if (a[k] || (path[k] != 0 && path[k] != '/')) continue;
    while (path[k] == '/') k++;
    *rest = path[k] ? path + k : ".";
    return ctx->anchors[i].fd;
  }
  return -1;
}

// openat2(2) beneath `dirfd`, following no symlink at all: what an anchor's kernel filesystem
// (proc, sysfs) has under it is the kernel's to name, never the rootfs's.
long OpenBeneath(int dirfd, const char* rel, int flags) {
  struct open_how how = {};
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return sc(__NR_openat2, dirfd, rel, &how, sizeof how);
}

namespace {

// Keeps `fd` (a mount's root) as the anchor of s's dst, replacing one of the same dst.
long KeepAnchor(ChildCtx* ctx, const Step& s, int fd) {
  int in_root = !!(s.b & MNT_DST_IN_ROOT);
  for (int i = 0; i < ctx->nanchors; i++) {
    if (ctx->anchors[i].in_root == in_root && Same(ctx->anchors[i].dst, s.str2)) {
      sc(__NR_close, ctx->anchors[i].fd);
      ctx->anchors[i].fd = fd;
      return 0;
    }
  }
  if (ctx->nanchors == (int)(sizeof ctx->anchors / sizeof ctx->anchors[0])) {
    sc(__NR_close, fd);
    return -ENOSPC;
  }
  ctx->anchors[ctx->nanchors].dst = s.str2;
  ctx->anchors[ctx->nanchors].in_root = in_root;
  ctx->anchors[ctx->nanchors].fd = fd;
  ctx->nanchors++;
  return 0;
}

// mount(2) flags of a fresh filesystem as fsmount(2)'s per-mount MOUNT_ATTR_* bits.
uint64_t AttrOf(unsigned long f) {
  uint64_t a = 0;
  if (f & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (f & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (f & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (f & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (f & MS_NOATIME) a |= MOUNT_ATTR_NOATIME;
  if (f & MS_STRICTATIME) a |= MOUNT_ATTR_STRICTATIME;
  if (f & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (f & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
  return a;
}

}  // namespace

// A fresh filesystem of `type` as a detached mount (fsopen, fsconfig, fsmount): `source` and
// each comma-separated `key=value` or `flag` of `data` as fsconfig(2) sets them. The mount's
// fd (O_CLOEXEC) or -errno.
long FreshTree(const char* type, const char* source, const char* data, unsigned long flags, int* sysid) {
  *sysid = SYS_FSOPEN;
  long fs = sc(__NR_fsopen, type, FSOPEN_CLOEXEC);
  if (fs < 0) return fs;
  *sysid = SYS_FSCONFIG;
  long r = source ? sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, "source", source, 0) : 0;
  if (r >= 0 && data) {
    char buf[kPath];
    size_t n = CStrLen(data);
    if (n >= sizeof buf) r = -E2BIG;
    for (size_t at = 0; r >= 0 && at < n;) {
      size_t end = at, eq = 0;
      while (end < n && data[end] != ',') {
        if (!eq && data[end] == '=') eq = end;
        end++;
      }
      for (size_t i = at; i < end; i++) buf[i - at] = data[i];
      buf[end - at] = 0;
      if (end > at) {
        if (eq) {
          buf[eq - at] = 0;
          r = sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, buf, buf + (eq - at) + 1, 0);
        } else {
          r = sc(__NR_fsconfig, fs, FSCONFIG_SET_FLAG, buf, 0, 0);
        }
      }
      at = end + 1;
    }
  }
  if (r >= 0) r = sc(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
  if (r >= 0) {
    *sysid = SYS_FSMOUNT;
    r = sc(__NR_fsmount, fs, FSMOUNT_CLOEXEC, AttrOf(flags));
  }
  sc(__NR_close, fs);
  return r;
}

namespace {

// Resolves dst (in root or absolute), creating it if asked. Returns an O_PATH fd or -errno;
// -ENOENT with MNT_OPTIONAL means "skip".
long Target(ChildCtx* ctx, const Step& s, int* sysid) {
  // Under an anchor: beneath its root, whatever the rootfs's names say now.
  if (s.b & MNT_IN_ANCHOR) {
    const char* rest;
    int a = FindAnchor(ctx, s.str2, !!(s.b & MNT_DST_IN_ROOT), &rest);
    if (a >= 0) return *sysid = SYS_OPENAT2, OpenBeneath(a, rest, O_PATH);
  }
  // Outside the new root, targets are on the base tmpfs we made: resolved from "/".
  long root = OpenRoot(ctx, s.b & MNT_DST_IN_ROOT);
  if (root < 0) return *sysid = SYS_OPENAT, root;
  *sysid = SYS_OPENAT2;
  long r = OpenIn((int)root, s.str2, O_PATH);
  if (r == -ENOENT && (s.b & (MNT_MKDIR | MNT_MKFILE))) {
    r = EnsureIn((int)root, s.str2, s.b & MNT_MKFILE, sysid);
    if (r >= 0) {
      *sysid = SYS_OPENAT2;
      r = OpenIn((int)root, s.str2, O_PATH);
    }
  }
  return r;
}

// Read-only through mount_setattr(2): unlike a MS_REMOUNT it leaves the other flags alone,
// which in a user namespace may be locked (nosuid, nodev, noexec of the source).
long ReadOnly(ChildCtx* ctx, const Step& s, int* sysid) {
  if (!(s.b & MNT_RDONLY)) return 0;
  long fd = Target(ctx, s, sysid);
  if (fd < 0) return fd;
  *sysid = SYS_MOUNT_SETATTR;
  long r =
      SetAttr((int)fd, "", AT_EMPTY_PATH | ((s.b & MNT_RECURSIVE) ? AT_RECURSIVE : 0), MOUNT_ATTR_RDONLY, 0);
  sc(__NR_close, fd);
  return r;
}

// MNT_SRC_NULL's source: s.str opened in the root following no symlink, which must be the
// null device (a run's /dev/null may lie on a volume an earlier run could write: a symlink
// there to the file masked would unmask it). An O_PATH fd or -errno (ENXIO: not 1:3).
long NullSource(ChildCtx* ctx, const Step& s, int* sysid) {
  long root = OpenRoot(ctx, false);
  if (root < 0) return *sysid = SYS_OPENAT, root;
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  *sysid = SYS_OPENAT2;
  long fd = sc(__NR_openat2, root, s.str, &how, sizeof how);
  if (fd < 0) return fd;
  struct stat st;
  *sysid = SYS_NEWFSTATAT;
  long r = sc(__NR_newfstatat, fd, "", &st, AT_EMPTY_PATH);
  if (r >= 0 && (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))) r = -ENXIO;
  if (r < 0) {
    sc(__NR_close, fd);
    return r;
  }
  return fd;
}

// A bind (open_tree(2) of its source, or of the target itself with MNT_SRC_SELF) or an
// anchor's fresh filesystem (fsopen/fsmount), made read-only while still detached
// (MNT_RDONLY: mount_setattr(2)) and attached onto the opened target `fd` with
// move_mount(2): nothing is looked up again by path once the target is open, so a rename in
// the rootfs between two steps cannot send the read-only flag, or a later step, elsewhere.
// With MNT_ANCHOR the mount's fd is kept (FindAnchor). Closes `fd`.
long Attach(ChildCtx* ctx, const Step& s, int fd, bool bind, int* sysid) {
  long tree;
  if (bind) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (((uint32_t)s.a & MS_REC) ? AT_RECURSIVE : 0);
    long src = (s.b & MNT_SRC_NULL) ? NullSource(ctx, s, sysid) : -EBADF;
    if ((s.b & MNT_SRC_NULL) && src < 0) {
      sc(__NR_close, fd);
      return src;
    }
    *sysid = SYS_OPEN_TREE;
    if (s.b & MNT_SRC_SELF)
      tree = sc(__NR_open_tree, fd, "", flags | AT_EMPTY_PATH);
    else if (src >= 0)
      tree = sc(__NR_open_tree, src, "", flags | AT_EMPTY_PATH);
    else
      tree = sc(__NR_open_tree, AT_FDCWD, s.str, flags);
    if (src >= 0) sc(__NR_close, src);
  } else {
    tree = FreshTree(s.str3, s.str, s.str4, (uint32_t)s.a, sysid);
  }
  long r = tree;
  if (r >= 0 && (s.b & MNT_COPYUP)) {
    // The directory it will cover, copied into it (and its owner, and mode) while detached.
    *sysid = SYS_OPENAT;
    long from = sc(__NR_openat, fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long to = from < 0 ? from : sc(__NR_openat, tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    *sysid = SYS_NEWFSTATAT;
    r = to < 0 ? to : sc(__NR_newfstatat, from, "", &st, AT_EMPTY_PATH);
    if (r >= 0) r = CopyTree((int)from, (int)to, sysid);
    if (r >= 0) r = CopyRootAttrs((int)to, st, s.b & MNT_COPYUP_MODE, sysid);
    if (to >= 0) sc(__NR_close, to);
    if (from >= 0) sc(__NR_close, from);
  }
  if (r >= 0 && (s.b & MNT_RDONLY)) {
    *sysid = SYS_MOUNT_SETATTR;
    r = SetAttr((int)tree, "", AT_EMPTY_PATH | ((s.b & MNT_RECURSIVE) ? AT_RECURSIVE : 0), MOUNT_ATTR_RDONLY,
                0);
  }
  if (r >= 0) {
    *sysid = SYS_MOVE_MOUNT;
    r = sc(__NR_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  }
  sc(__NR_close, fd);
  if (r >= 0 && (s.b & MNT_ANCHOR)) return KeepAnchor(ctx, s, (int)tree);
  if (tree >= 0) sc(__NR_close, tree);
  return r < 0 ? r : 0;
}

long Mount(ChildCtx* ctx, const Step& s, int* sysid) {
  if ((s.b & MNT_SRC_OPTIONAL) && s.str) {
    struct stat st;
    if (sc(__NR_newfstatat, AT_FDCWD, s.str, &st, 0) == -ENOENT) return 0;
  }
  long fd = Target(ctx, s, sysid);
  // Optional targets are skipped when missing or when they cannot be made (a read-only root).
  if ((s.b & MNT_OPTIONAL) && (fd == -ENOENT || fd == -EROFS || fd == -EACCES || fd == -EPERM)) return 0;
  if (fd < 0) return fd;
  if (s.b & MNT_DST_PROCFS) {
    struct statfs fs;
    *sysid = SYS_FSTATFS;
    long r = sc(__NR_fstatfs, fd, &fs);
    // The procfs's root itself (a symlink at /proc to a directory of it would leave its root,
    // unmasked, reachable under another name).
    struct stat st;
    if (r >= 0 && fs.f_type == PROC_SUPER_MAGIC) r = sc(__NR_newfstatat, fd, "", &st, AT_EMPTY_PATH);
    if (r >= 0 && (fs.f_type != PROC_SUPER_MAGIC || st.st_ino != 1)) r = -EXDEV;
    if (r < 0) {
      sc(__NR_close, fd);
      return r;
    }
  }
  if (s.b & MNT_FROM_FD) {
    // A detached mount the parent made (a sysfs of a joined network namespace): attach it.
    *sysid = SYS_MOVE_MOUNT;
    long r = s.a >= 0
                 ? sc(__NR_move_mount, s.a, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
                 : -EBADF;
    sc(__NR_close, fd);
    if (r >= 0) r = ReadOnly(ctx, s, sysid);
    // (the inherited fd now names the attached mount's root)
    if (r >= 0 && (s.b & MNT_ANCHOR)) r = KeepAnchor(ctx, s, s.a);
    return r;
  }
  if (s.b & MNT_FROM_TREE) {
    // An idmapped tree the parent made (open_tree + mount_setattr MOUNT_ATTR_IDMAP with this
    // user namespace): attach it onto the opened target (move_mount(2)).
    // Read-only while still detached, as Attach does: never a path looked up again.
    int k = s.a;
    long r = -EBADF;
    if (k >= 0 && k < ctx->ntrees && (s.b & MNT_RDONLY)) {
      *sysid = SYS_MOUNT_SETATTR;
      r = SetAttr(ctx->trees[k], "", AT_EMPTY_PATH | ((s.b & MNT_RECURSIVE) ? AT_RECURSIVE : 0),
                  MOUNT_ATTR_RDONLY, 0);
      if (r < 0) {
        sc(__NR_close, fd);
        return r;
      }
    }
    *sysid = SYS_MOVE_MOUNT;
    if (k >= 0 && k < ctx->ntrees)
      r = sc(__NR_move_mount, ctx->trees[k], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    sc(__NR_close, fd);
    if (r >= 0 && (s.b & MNT_ANCHOR)) {
      // (a copy: the tree's fd stays the plan's)
      *sysid = SYS_FCNTL;
      long dup = sc(__NR_fcntl, ctx->trees[k], F_DUPFD_CLOEXEC, 0);
      r = dup < 0 ? dup : KeepAnchor(ctx, s, (int)dup);
    }
    return r;
  }
  uint32_t mflags = (uint32_t)s.a;
  bool bind = (mflags & MS_BIND) && !(mflags & MS_REMOUNT);
  // A fresh filesystem with a copy-up or a read-only flag to apply after its mount is made
  // detached too (not overlay: fsconfig(2) takes strings of 256 bytes at most, a lowerdir list
  // can be longer), so neither looks its target up again.
  bool fresh = (s.b & MNT_COPYUP) || (!bind && !(mflags & (MS_REMOUNT | MS_MOVE)) && s.str3 &&
                                      !Same(s.str3, "overlay") && (s.b & MNT_RDONLY));
  if (bind || fresh || (s.b & MNT_ANCHOR)) return Attach(ctx, s, (int)fd, bind, sysid);
  // Mount onto exactly the inode opened: a directory by fchdir(2) to it and mounting on ".",
  // anything else through its /proc/self/fd magic link (a longer lookup).
  char at[64];
  const char* where = ".";
  if (sc(__NR_fchdir, fd) < 0) {
    FdPath(at, (int)fd, ctx->entered);
    where = at;
  }
  // (binds, copy-ups and anchors were attached above: this is a fresh filesystem's mount(2))
  *sysid = SYS_MOUNT;
  long r = sc(__NR_mount, s.str, where, s.str3, (unsigned long)(uint32_t)s.a, s.str4);
  sc(__NR_close, fd);
  return r < 0 ? r : ReadOnly(ctx, s, sysid);
}

}  // namespace

namespace {

long FsBase(ChildCtx* ctx, const Step& s, int* sysid) {
  long r;
  *sysid = SYS_MOUNT;
  if ((r = sc(__NR_mount, 0, "/", 0, MS_REC | MS_PRIVATE, 0)) < 0) return r;
  if ((r = sc(__NR_mount, "tmpfs", s.str, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) < 0) return r;
  *sysid = SYS_CHDIR;
  if ((r = sc(__NR_chdir, s.str)) < 0) return r;
  *sysid = SYS_MKDIRAT;
  if ((r = sc(__NR_mkdirat, AT_FDCWD, "newroot", 0755)) < 0) return r;
  if ((r = sc(__NR_mkdirat, AT_FDCWD, "oldroot", 0755)) < 0) return r;
  *sysid = SYS_PIVOT_ROOT;
  if ((r = sc(__NR_pivot_root, ".", "oldroot")) < 0) return r;
  *sysid = SYS_CHDIR;
  return sc(__NR_chdir, "/");
}

long MountStep(ChildCtx* ctx, const Step& s, int* sysid) {
  long r = Mount(ctx, s, sysid);
  // Mounting over the new root itself: the cached fd would still name what lies beneath.
  if (r >= 0 && !(s.b & MNT_DST_IN_ROOT) && ctx->rootfd >= 0) {
    sc(__NR_close, ctx->rootfd);
    ctx->rootfd = -1;
  }
  return r;
}

long Mkdir(ChildCtx* ctx, const Step& s, int* sysid) {
  long root = OpenRoot(ctx, s.b & MNT_DST_IN_ROOT);
  if (root < 0) return *sysid = SYS_OPENAT, root;
  long r = EnsureIn((int)root, s.str2, false, sysid);
  if (r < 0 || s.c < 0) return r;
  // An owner (c = uid, d = gid): the throw-away upper of an id block's overlay root,
  // so the container's root owns its "/" as it would a fresh image's.
  long fd = OpenIn((int)root, s.str2, O_PATH | O_DIRECTORY);
  if (fd < 0) return *sysid = SYS_OPENAT2, fd;
  *sysid = SYS_STEP;
  r = sc(__NR_fchownat, fd, "", s.c, s.d, AT_EMPTY_PATH);
  sc(__NR_close, fd);
  return r;
}

long Mknod(ChildCtx* ctx, const Step& s, int* sysid) {
  long root = OpenRoot(ctx, true);
  if (root < 0) return *sysid = SYS_OPENAT, root;
  long r = 0;
  // Parents as directories, the node itself by mknodat relative to its confined parent.
  char buf[kPath];
  size_t n = Cat(buf, 0, s.str2), slash = n;
  while (slash > 0 && buf[slash] != '/') slash--;
  buf[slash] = 0;
  if (slash) r = EnsureIn((int)root, buf, false, sysid);
  long parent = r < 0 ? r : OpenIn((int)root, slash ? buf : "/", O_PATH | O_DIRECTORY);
  if (r >= 0 && parent < 0) *sysid = SYS_OPENAT2;
  if (parent >= 0) {
    *sysid = SYS_MKNODAT;
    unsigned dev = (unsigned)(((s.c & 0xfff) << 8) | (s.d & 0xff) | ((s.d & ~0xff) << 12));
    // The mode exactly as given (0666 for /dev/null…): not filtered by Node's umask.
    long old = sc(__NR_umask, 0);
    r = sc(__NR_mknodat, parent, buf + slash + 1, (unsigned)s.a, dev);
    sc(__NR_umask, old);
    if (r == -EEXIST) r = 0;
    sc(__NR_close, parent);
  } else {
    r = parent;
  }
  return r;
}

long Symlink(ChildCtx* ctx, const Step& s, int* sysid) {
  long root = OpenRoot(ctx, true);
  if (root < 0) return *sysid = SYS_OPENAT, root;
  char buf[kPath];
  size_t n = Cat(buf, 0, s.str2), slash = n;
  while (slash > 0 && buf[slash] != '/') slash--;
  buf[slash] = 0;
  long r = slash ? EnsureIn((int)root, buf, false, sysid) : 0;
  long parent = r < 0 ? r : OpenIn((int)root, slash ? buf : "/", O_PATH | O_DIRECTORY);
  if (parent >= 0) {
    *sysid = SYS_SYMLINKAT;
    r = sc(__NR_symlinkat, s.str, parent, buf + slash + 1);
    if (r == -EEXIST) r = 0;
    sc(__NR_close, parent);
  } else if (r >= 0) {
    *sysid = SYS_OPENAT2;
    r = parent;
  }
  return r;
}

long WriteFile(ChildCtx* ctx, const Step& s, int* sysid) {
  *sysid = SYS_OPENAT;
  long fd = sc(__NR_openat, AT_FDCWD, s.str, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, s.a & 07777);
  if (fd < 0) return fd;
  *sysid = SYS_WRITE;
  long r = WriteAll(fd, s.str2, CStrLen(s.str2));
  if (r == 0 && (s.a & WRITE_NODENAME)) {
    struct utsname u;
    r = sc(__NR_uname, &u);
    if (r == 0) r = WriteAll(fd, u.nodename, CStrLen(u.nodename));
    if (r == 0) r = WriteAll(fd, "\n", 1);
  }
  sc(__NR_close, fd);
  return r;
}

long SetAttrStep(ChildCtx* ctx, const Step& s, int* sysid) {
  long fd = Target(ctx, s, sysid);
  if (fd == -ENOENT && (s.b & MNT_OPTIONAL)) return 0;
  if (fd < 0) return fd;
  *sysid = SYS_MOUNT_SETATTR;
  long r = SetAttr((int)fd, "", AT_EMPTY_PATH | ((s.b & MNT_RECURSIVE) ? AT_RECURSIVE : 0),
                   (uint64_t)(uint32_t)s.a, (uint64_t)(uint32_t)s.c, (uint64_t)(uint32_t)s.d);
  sc(__NR_close, fd);
  return r;
}

long Pivot(ChildCtx* ctx, const Step& s, int* sysid) {
  long r;
  // The cached fds pin nothing we need any more; close them before the old root goes.
  if (ctx->rootfd >= 0) sc(__NR_close, ctx->rootfd), ctx->rootfd = -1;
  if (ctx->basefd >= 0) sc(__NR_close, ctx->basefd), ctx->basefd = -1;
  if (s.a) {
    // For OP_LOCK's helper: our /proc/PID directory in the host's procfs, which stays
    // reachable through this fd after the old root is detached. Closed by OP_LOCK.
    *sysid = SYS_OPENAT;
    ctx->procfd = (int)sc(__NR_openat, AT_FDCWD, "/oldroot/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctx->procfd < 0) return ctx->procfd;
  }
  // The anchors in the new root are at absolute paths from now on; the others go with the base.
  int kept = 0;
  for (int i = 0; i < ctx->nanchors; i++) {
    if (ctx->anchors[i].in_root) {
      ctx->anchors[kept] = ctx->anchors[i];
      ctx->anchors[kept++].in_root = 0;
    } else {
      sc(__NR_close, ctx->anchors[i].fd);
    }
  }
  ctx->nanchors = kept;
  *sysid = SYS_CHDIR;
  if ((r = sc(__NR_chdir, kRoot)) < 0) return r;
  // pivot_root(".", "."): the old root ends up stacked under the new one and one lazy
  // unmount detaches it (with the tmpfs base and every host mount below it).
  *sysid = SYS_PIVOT_ROOT;
  if ((r = sc(__NR_pivot_root, ".", ".")) < 0) return r;
  *sysid = SYS_UMOUNT2;
  if ((r = sc(__NR_umount2, ".", MNT_DETACH)) < 0) return r;
  *sysid = SYS_CHDIR;
  return sc(__NR_chdir, "/");
}

}  // namespace

long RunFsStep(ChildCtx* ctx, const Step& s, int* sysid) {
  *sysid = SYS_STEP;
  switch (s.op) {
    case OP_FS_BASE: return FsBase(ctx, s, sysid);
    case OP_MOUNT: return MountStep(ctx, s, sysid);
    case OP_MKDIR: return Mkdir(ctx, s, sysid);
    case OP_MKNOD: return Mknod(ctx, s, sysid);
    case OP_SYMLINK: return Symlink(ctx, s, sysid);
    case OP_WRITE_FILE: return WriteFile(ctx, s, sysid);
    case OP_SETATTR: return SetAttrStep(ctx, s, sysid);
    case OP_PIVOT: return Pivot(ctx, s, sysid);
    case OP_PROPAGATION:
      *sysid = SYS_MOUNT;
      return sc(__NR_mount, 0, "/", 0, MS_REC | (unsigned long)(uint32_t)s.a, 0);
  }
  return -EINVAL;
}

long WriteAll(long fd, const char* p, size_t len) {
  while (len > 0) {
    long r = sc(__NR_write, fd, p, len);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

}  // namespace nsbox
