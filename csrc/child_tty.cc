// OP_TERMINAL, run in the child (child.cc's rules: raw syscalls only). The child becomes a
// session leader whose controlling terminal is on fds 0, 1, 2, as login(1), runc and crun
// leave a container's process.
//
// TTY_NEW is runc's model: the pty is made here, after pivot_root, from the container's own
// /dev/ptmx (the pts/ptmx of the devpts instance the container mounted), so the slave is the
// container's /dev/pts/N and nothing in the container names the host's devpts. The master
// goes to the parent over the status socket (MSG_TERMINAL, SCM_RIGHTS) and is closed here:
// the command never holds it.
// It runs after the credential steps, as the command's uid: devpts gives the new slave the
// opener's fsuid, so the command owns its terminal (runc chowns it instead) with no
// capability needed, and before Landlock and seccomp, which could refuse /dev/ptmx.
// When those filters come before the credential steps (no no_new_privs), so does this step;
// /dev/ptmx is then opened with the command's uid and gid as fsuid and fsgid (Step.c, Step.d;
// setfsuid(2), setfsgid(2)), put back right after, so the slave is made just as it would be
// after setresuid.
// TTY_STDIN: the caller made the pty (openPty) and OP_FDS put its slave on 0, 1, 2.
//
// TTY_CONSOLE is TTY_NEW in a container that has its own root, as runc's setupConsole and
// mountConsole make it: the slave is also bound onto /dev/console (created as an empty file
// if missing), so what writes to the console (an init, syslog's fallback) writes to the
// container's terminal, never the host's. A bind needs CAP_SYS_ADMIN over the mount
// namespace, so this mode runs before the credential steps, seccomp and the capability
// sets, as the container's root; the pty is still made with the command's uid and gid as
// the filesystem ids, so the command owns its terminal as with TTY_NEW (runc chowns the
// slave in fixStdioPermissions instead, which fails when the devpts gid= is not mapped).
//
// TIOCSCTTY (tty_ioctl(4)) needs a session leader without a controlling terminal and a
// terminal that is no other session's: setsid(2) first; no capability is needed then.
#include "child_tty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "nr.h"
#include "plan.h"
#include "rawsys.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

namespace nsbox {
namespace {

using raw::sc;

// /dev/ptmx as the container has it, checked to be a ptmx (char 5:2) before any ioctl:
// O_NONBLOCK so that a FIFO planted there cannot hang the setup (cleared once checked).
// Without magic links (openat2(2) RESOLVE_NO_MAGICLINKS): this runs before OP_FDS, while we
// still hold a copy of Node's fds, and a box that makes its /dev/ptmx a symlink to
// /proc/self/fd/N (N a pty master of Node's) would otherwise hand us a pty of the host's devpts
// (found in review, joining a box with a terminal); an ordinary symlink (pts/ptmx) still
// works. Before Linux 5.6 (no openat2) the plain open, as before.
long OpenPtmx(int* sysid) {
  *sysid = SYS_OPENAT2;
  struct open_how how = {};
  how.flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  long fd = sc(__NR_openat2, AT_FDCWD, "/dev/ptmx", &how, sizeof how);
  if (fd == -ENOSYS) {
    *sysid = SYS_OPENAT;
    fd = sc(__NR_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  }
  if (fd < 0) return fd;
  struct statx stx;
  long r = sc(__NR_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx);
  if (r == 0 && (!S_ISCHR(stx.stx_mode) || stx.stx_rdev_major != 5 || stx.stx_rdev_minor != 2)) r = -ENOTTY;
  if (r == 0) r = sc(__NR_fcntl, fd, F_SETFL, O_RDWR);
  if (r < 0) {
    sc(__NR_close, fd);
    return r;
  }
  return fd;
}

// TTY_CONSOLE: the slave bound onto /dev/console. The target is made as an empty regular
// file (mknodat S_IFREG needs no privilege) unless something is there, then opened O_PATH
// without following a symlink and checked to be a file or a device node; the slave's own
// mount is cloned from its fd (open_tree(2), no path lookup) and attached onto exactly that
// inode (move_mount(2)). Both are Linux 5.2; spawn needs clone3 (5.5) anyway.
// A failure here names item 0 of the step (plan.ts: the path /dev/console).
constexpr int kConsoleItem = 1 << kSysItemShift;

long MountConsole(long slave, int* sysid) {
  *sysid = SYS_MKNODAT | kConsoleItem;
  long r = sc(__NR_mknodat, AT_FDCWD, "/dev/console", S_IFREG | 0666, 0);
  if (r < 0 && r != -EEXIST) return r;
  *sysid = SYS_OPENAT | kConsoleItem;
  long target = sc(__NR_openat, AT_FDCWD, "/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0) return target;
  struct statx stx;
  r = sc(__NR_statx, target, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx);
  if (r == 0 && S_ISLNK(stx.stx_mode)) r = -ELOOP;
  if (r == 0 && S_ISDIR(stx.stx_mode)) r = -EISDIR;
  if (r == 0 && !S_ISREG(stx.stx_mode) && !S_ISCHR(stx.stx_mode)) r = -EEXIST;
  long tree = -1;
  if (r == 0) {
    *sysid = SYS_OPEN_TREE | kConsoleItem;
    tree = sc(__NR_open_tree, slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    r = tree < 0 ? tree : 0;
  }
  if (r == 0) {
    *sysid = SYS_MOVE_MOUNT | kConsoleItem;
    r = sc(__NR_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  }
  if (tree >= 0) sc(__NR_close, tree);
  sc(__NR_close, target);
  return r;
}

// setfsuid(2)/setfsgid(2) report no error: the call with -1 (never valid) reads the id back.
long SetFsIds(int32_t uid, int32_t gid) {
  if (gid != -1) {
    sc(__NR_setfsgid, gid);
    if ((unsigned)sc(__NR_setfsgid, -1) != (unsigned)gid) return -EPERM;
  }
  if (uid != -1) {
    sc(__NR_setfsuid, uid);
    if ((unsigned)sc(__NR_setfsuid, -1) != (unsigned)uid) return -EPERM;
  }
  return 0;
}

// /dev/ptmx opened with fsuid `s.c` and fsgid `s.d` (each -1: as we are), which devpts gives
// the new slave; ours are put back after. A change of fsuid makes the mm non-dumpable, as
// setresuid does: set back when we share Node's mm (child.cc's Redump).
long OpenPtmxAs(ChildCtx* ctx, const Step& s, int* sysid) {
  if (s.c == -1 && s.d == -1) return OpenPtmx(sysid);
  int32_t uid = (int32_t)sc(__NR_setfsuid, -1), gid = (int32_t)sc(__NR_setfsgid, -1);
  *sysid = SYS_SETFSID;
  long fd = SetFsIds(s.c, s.d);
  if (fd == 0) fd = OpenPtmx(sysid);
  long r = SetFsIds(s.c == -1 ? -1 : uid, s.d == -1 ? -1 : gid);
  if (ctx->redump) sc(__NR_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (r < 0 && fd >= 0) {
    sc(__NR_close, fd);
    *sysid = SYS_SETFSID;
    fd = r;
  }
  return fd;
}

// TTY_NEW up to the slave on 0, 1, 2 (see the top of the file).
long NewPty(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  // TTY_CONSOLE runs as the setup's root and TTY_NEW may run before setuid (an early filter):
  // the pty is then opened with the command's ids as our filesystem ids (setfsuid(2),
  // setfsgid(2); devpts gives the new slave those), and ours come back after.
  long master = OpenPtmxAs(ctx, s, sysid);
  if (master < 0) return master;
  int unlock = 0;
  *sysid = SYS_IOCTL;
  long r = sc(__NR_ioctl, master, TIOCSPTLCK, &unlock);
  if (r == 0 && s.b) {
    struct winsize ws = {(unsigned short)(s.b & 0xffff), (unsigned short)((unsigned)s.b >> 16), 0, 0};
    r = sc(__NR_ioctl, master, TIOCSWINSZ, &ws);
  }
  long slave = r < 0 ? r : sc(__NR_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave == -EINVAL || slave == -ENOTTY) {  // before Linux 4.13: by its path
    unsigned n;
    r = sc(__NR_ioctl, master, TIOCGPTN, &n);
    char path[24] = "/dev/pts/";
    char digits[12];
    int k = 0, len = 9;
    do digits[k++] = (char)('0' + n % 10), n /= 10;
    while (n && k < 11);
    while (k) path[len++] = digits[--k];
    path[len] = 0;
    *sysid = SYS_OPENAT;
    slave = r < 0 ? r : sc(__NR_openat, AT_FDCWD, path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  }
  if (slave < 0) {
    sc(__NR_close, master);
    return slave;
  }
  r = s.a == TTY_CONSOLE ? MountConsole(slave, sysid) : 0;
  if (r < 0) {
    sc(__NR_close, slave);
    sc(__NR_close, master);
    return r;
  }
  *sysid = SYS_SENDMSG;
  r = SendFdToParent(ctx, MSG_TERMINAL, step, (int)master);
  sc(__NR_close, master);
  if (r == 0) *sysid = SYS_DUP3;
  for (int fd = 0; fd < 3 && r >= 0; fd++)
    if (slave != fd) r = sc(__NR_dup3, slave, fd, 0);
  if (slave > 2) sc(__NR_close, slave);
  return r < 0 ? r : 0;
}

}  // namespace

long RunTerminalStep(ChildCtx* ctx, const Step& s, int step, int* sysid) {
  if (s.a == TTY_NEW || s.a == TTY_CONSOLE) {
    long r = NewPty(ctx, s, step, sysid);
    if (r < 0) return r;
  }
  *sysid = SYS_SETSID;
  long r = sc(__NR_setsid);
  if (r < 0) return r;
  *sysid = SYS_IOCTL;
  r = sc(__NR_ioctl, 0, TIOCSCTTY, 0);
  if (r < 0) return r;
  ctx->tty = 1;
  return 0;
}

}  // namespace nsbox
