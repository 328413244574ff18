// Kernel numbers for TS, from the headers (never typed by hand in TS).
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/mount.h>

#include "addon.h"
#include "landlock.h"
#include "plan.h"
#include "sys.h"

namespace nsbox {

#define SET(name) c.Set(#name, static_cast<double>(name))

void InitConstants(Napi::Env env, Napi::Object exports) {
  ConstTable c;
  SET(CLONE_NEWUSER);
  SET(CLONE_NEWPID);
  SET(CLONE_NEWNS);
  SET(CLONE_NEWUTS);
  SET(CLONE_NEWIPC);
  SET(CLONE_NEWNET);
  SET(CLONE_NEWCGROUP);
  SET(CLONE_NEWTIME);
  c.Set("PLAN_VERSION", static_cast<double>(kPlanVersion));
  c.Set("TTY_STDIN", static_cast<double>(TTY_STDIN));
  c.Set("TTY_NEW", static_cast<double>(TTY_NEW));
  c.Set("TTY_CONSOLE", static_cast<double>(TTY_CONSOLE));
  c.Set("HOOK_HERE", static_cast<double>(HOOK_HERE));
  c.Set("HOOK_HOST", static_cast<double>(HOOK_HOST));
  c.Set("HOOK_CALLER", static_cast<double>(HOOK_CALLER));
  // The syscall each SysId of a failing step names (plan.h), by number.
  ConstTable sysid;
#define SYSID(name, text) sysid.Set(static_cast<uint32_t>(SYS_##name), text)
  SYSID(OPENAT2, "openat2");
  SYSID(IOCTL, "ioctl");
  SYSID(SETNS, "setns");
  SYSID(SETSID, "setsid");
  SYSID(DUP3, "dup3");
  SYSID(OPEN_TREE, "open_tree");
  SYSID(SETFSID, "setfsuid");
  SYSID(CLOSE_RANGE, "close_range");
  SYSID(FCNTL, "fcntl");
  SYSID(MKDIRAT, "mkdirat");
  SYSID(MOUNT, "mount");
  SYSID(MOUNT_SETATTR, "mount_setattr");
  SYSID(PIVOT_ROOT, "pivot_root");
  SYSID(UMOUNT2, "umount2");
  SYSID(MKNODAT, "mknodat");
  SYSID(SYMLINKAT, "symlinkat");
  SYSID(CHDIR, "chdir");
  SYSID(OPENAT, "openat");
  SYSID(WRITE, "write");
  SYSID(MOVE_MOUNT, "move_mount");
  SYSID(CLONE3, "clone3");
  SYSID(UNSHARE, "unshare");
  SYSID(SECCOMP, "seccomp");
  SYSID(KEYCTL, "keyctl");
  SYSID(FCHDIR, "fchdir");
  SYSID(LANDLOCK_CREATE, "landlock_create_ruleset");
  SYSID(LANDLOCK_ADD_RULE, "landlock_add_rule");
  SYSID(LANDLOCK_RESTRICT, "landlock_restrict_self");
  SYSID(PRCTL, "prctl");
  SYSID(CAPSET, "capset");
  SYSID(SENDMSG, "sendmsg");
  SYSID(PRLIMIT, "prlimit64");
  SYSID(RT_SIGPROCMASK, "rt_sigprocmask");
  SYSID(WAIT4, "wait4");
  SYSID(KILL, "kill");
  SYSID(RT_SIGTIMEDWAIT, "rt_sigtimedwait");
  SYSID(CLONE, "clone");
  SYSID(ACCEPT4, "accept4");
  SYSID(READ, "read");
  SYSID(PIPE2, "pipe2");
  SYSID(PIDFD_OPEN, "pidfd_open");
  SYSID(PPOLL, "ppoll");
  SYSID(CHROOT, "chroot");
  SYSID(FCHOWNAT, "fchownat");
  SYSID(FCHMODAT, "fchmodat");
  SYSID(GETDENTS64, "getdents64");
  SYSID(READLINKAT, "readlinkat");
  SYSID(NEWFSTATAT, "newfstatat");
  SYSID(FLISTXATTR, "flistxattr");
  SYSID(FGETXATTR, "fgetxattr");
  SYSID(FSETXATTR, "fsetxattr");
#undef SYSID
  c.Set("SYSID", sysid);
  c.Set("SYS_ITEM_SHIFT", static_cast<double>(kSysItemShift));
  ConstTable op;
#define OPC(name) op.Set(#name, static_cast<double>(OP_##name))
  OPC(SETNS);
  OPC(UNSHARE);
  OPC(USERNS_SYNC);
  OPC(FORK);
  OPC(SETSID);
  OPC(SETPGID);
  OPC(SETHOSTNAME);
  OPC(SETDOMAINNAME);
  OPC(SETGROUPS);
  OPC(SETGID);
  OPC(SETUID);
  OPC(CHDIR);
  OPC(FDS);
  OPC(PDEATHSIG);
  OPC(EXEC);
  OPC(FS_BASE);
  OPC(MOUNT);
  OPC(MKNOD);
  OPC(SYMLINK);
  OPC(WRITE_FILE);
  OPC(SETATTR);
  OPC(PIVOT);
  OPC(MKDIR);
  OPC(PROPAGATION);
  OPC(LOCK);
  OPC(DUMPABLE);
  OPC(KEYRING);
  OPC(NO_TIOCSTI);
  OPC(NO_NEW_PRIVS);
  OPC(CAP_BOUND);
  OPC(CAPSET);
  OPC(UMASK);
  OPC(PERSONALITY);
  OPC(SECCOMP);
  OPC(SYSCTL);
  OPC(PARENT);
  OPC(NETWORK);
  OPC(LANDLOCK);
  OPC(INIT);
  OPC(GATE);
  OPC(TERMINAL);
  OPC(HOOK);
  OPC(PIN);
  OPC(ENTER);
#undef OPC
  c.Set("OP", op);
  ConstTable mm;
#define MM(name) mm.Set(#name, static_cast<double>(name))
  MM(MNT_DST_IN_ROOT);
  MM(MNT_MKDIR);
  MM(MNT_MKFILE);
  MM(MNT_OPTIONAL);
  MM(MNT_RDONLY);
  MM(MNT_RECURSIVE);
  MM(MNT_SRC_OPTIONAL);
  MM(MNT_FROM_TREE);
  MM(MNT_SRC_SELF);
  MM(MNT_FROM_FD);
  MM(MNT_COPYUP);
  MM(MNT_COPYUP_MODE);
#undef MM
  c.Set("PLAN_MOUNT", mm);
  c.Set("PLAN_WRITE_NODENAME", static_cast<double>(WRITE_NODENAME));
  // Capabilities (capabilities(7)) by name, from the headers nsbox was built with; the
  // running kernel may know more (read /proc/sys/kernel/cap_last_cap).
  ConstTable cap;
  cap.Set("CAP_CHOWN", static_cast<double>(CAP_CHOWN));
  cap.Set("CAP_DAC_OVERRIDE", static_cast<double>(CAP_DAC_OVERRIDE));
  cap.Set("CAP_DAC_READ_SEARCH", static_cast<double>(CAP_DAC_READ_SEARCH));
  cap.Set("CAP_FOWNER", static_cast<double>(CAP_FOWNER));
  cap.Set("CAP_FSETID", static_cast<double>(CAP_FSETID));
  cap.Set("CAP_KILL", static_cast<double>(CAP_KILL));
  cap.Set("CAP_SETGID", static_cast<double>(CAP_SETGID));
  cap.Set("CAP_SETUID", static_cast<double>(CAP_SETUID));
  cap.Set("CAP_SETPCAP", static_cast<double>(CAP_SETPCAP));
  cap.Set("CAP_LINUX_IMMUTABLE", static_cast<double>(CAP_LINUX_IMMUTABLE));
  cap.Set("CAP_NET_BIND_SERVICE", static_cast<double>(CAP_NET_BIND_SERVICE));
  cap.Set("CAP_NET_BROADCAST", static_cast<double>(CAP_NET_BROADCAST));
  cap.Set("CAP_NET_ADMIN", static_cast<double>(CAP_NET_ADMIN));
  cap.Set("CAP_NET_RAW", static_cast<double>(CAP_NET_RAW));
  cap.Set("CAP_IPC_LOCK", static_cast<double>(CAP_IPC_LOCK));
  cap.Set("CAP_IPC_OWNER", static_cast<double>(CAP_IPC_OWNER));
  cap.Set("CAP_SYS_MODULE", static_cast<double>(CAP_SYS_MODULE));
  cap.Set("CAP_SYS_RAWIO", static_cast<double>(CAP_SYS_RAWIO));
  cap.Set("CAP_SYS_CHROOT", static_cast<double>(CAP_SYS_CHROOT));
  cap.Set("CAP_SYS_PTRACE", static_cast<double>(CAP_SYS_PTRACE));
  cap.Set("CAP_SYS_PACCT", static_cast<double>(CAP_SYS_PACCT));
  cap.Set("CAP_SYS_ADMIN", static_cast<double>(CAP_SYS_ADMIN));
  cap.Set("CAP_SYS_BOOT", static_cast<double>(CAP_SYS_BOOT));
  cap.Set("CAP_SYS_NICE", static_cast<double>(CAP_SYS_NICE));
  cap.Set("CAP_SYS_RESOURCE", static_cast<double>(CAP_SYS_RESOURCE));
  cap.Set("CAP_SYS_TIME", static_cast<double>(CAP_SYS_TIME));
  cap.Set("CAP_SYS_TTY_CONFIG", static_cast<double>(CAP_SYS_TTY_CONFIG));
  cap.Set("CAP_MKNOD", static_cast<double>(CAP_MKNOD));
  cap.Set("CAP_LEASE", static_cast<double>(CAP_LEASE));
  cap.Set("CAP_AUDIT_WRITE", static_cast<double>(CAP_AUDIT_WRITE));
  cap.Set("CAP_AUDIT_CONTROL", static_cast<double>(CAP_AUDIT_CONTROL));
  cap.Set("CAP_SETFCAP", static_cast<double>(CAP_SETFCAP));
  cap.Set("CAP_MAC_OVERRIDE", static_cast<double>(CAP_MAC_OVERRIDE));
  cap.Set("CAP_MAC_ADMIN", static_cast<double>(CAP_MAC_ADMIN));
  cap.Set("CAP_SYSLOG", static_cast<double>(CAP_SYSLOG));
  cap.Set("CAP_WAKE_ALARM", static_cast<double>(CAP_WAKE_ALARM));
  cap.Set("CAP_BLOCK_SUSPEND", static_cast<double>(CAP_BLOCK_SUSPEND));
  cap.Set("CAP_AUDIT_READ", static_cast<double>(CAP_AUDIT_READ));
  cap.Set("CAP_PERFMON", static_cast<double>(CAP_PERFMON));
  cap.Set("CAP_BPF", static_cast<double>(CAP_BPF));
  cap.Set("CAP_CHECKPOINT_RESTORE", static_cast<double>(CAP_CHECKPOINT_RESTORE));
  c.Set("CAP", cap);
  ConstTable rlim;
  rlim.Set("RLIMIT_CPU", static_cast<double>(RLIMIT_CPU));
  rlim.Set("RLIMIT_FSIZE", static_cast<double>(RLIMIT_FSIZE));
  rlim.Set("RLIMIT_DATA", static_cast<double>(RLIMIT_DATA));
  rlim.Set("RLIMIT_STACK", static_cast<double>(RLIMIT_STACK));
  rlim.Set("RLIMIT_CORE", static_cast<double>(RLIMIT_CORE));
  rlim.Set("RLIMIT_RSS", static_cast<double>(RLIMIT_RSS));
  rlim.Set("RLIMIT_NPROC", static_cast<double>(RLIMIT_NPROC));
  rlim.Set("RLIMIT_NOFILE", static_cast<double>(RLIMIT_NOFILE));
  rlim.Set("RLIMIT_MEMLOCK", static_cast<double>(RLIMIT_MEMLOCK));
  rlim.Set("RLIMIT_AS", static_cast<double>(RLIMIT_AS));
  rlim.Set("RLIMIT_LOCKS", static_cast<double>(RLIMIT_LOCKS));
  rlim.Set("RLIMIT_SIGPENDING", static_cast<double>(RLIMIT_SIGPENDING));
  rlim.Set("RLIMIT_MSGQUEUE", static_cast<double>(RLIMIT_MSGQUEUE));
  rlim.Set("RLIMIT_NICE", static_cast<double>(RLIMIT_NICE));
  rlim.Set("RLIMIT_RTPRIO", static_cast<double>(RLIMIT_RTPRIO));
  rlim.Set("RLIMIT_RTTIME", static_cast<double>(RLIMIT_RTTIME));
  c.Set("RLIMIT", rlim);
  ConstTable per;
  per.Set("PER_LINUX", static_cast<double>(PER_LINUX));
  per.Set("PER_LINUX32", static_cast<double>(PER_LINUX32));
  per.Set("ADDR_NO_RANDOMIZE", static_cast<double>(ADDR_NO_RANDOMIZE));
  per.Set("FDPIC_FUNCPTRS", static_cast<double>(FDPIC_FUNCPTRS));
  per.Set("MMAP_PAGE_ZERO", static_cast<double>(MMAP_PAGE_ZERO));
  per.Set("ADDR_COMPAT_LAYOUT", static_cast<double>(ADDR_COMPAT_LAYOUT));
  per.Set("READ_IMPLIES_EXEC", static_cast<double>(READ_IMPLIES_EXEC));
  per.Set("ADDR_LIMIT_32BIT", static_cast<double>(ADDR_LIMIT_32BIT));
  per.Set("SHORT_INODE", static_cast<double>(SHORT_INODE));
  per.Set("WHOLE_SECONDS", static_cast<double>(WHOLE_SECONDS));
  per.Set("STICKY_TIMEOUTS", static_cast<double>(STICKY_TIMEOUTS));
  per.Set("ADDR_LIMIT_3GB", static_cast<double>(ADDR_LIMIT_3GB));
  per.Set("UNAME26", static_cast<double>(UNAME26));
  c.Set("PERSONALITY", per);
  SET(SECCOMP_FILTER_FLAG_NEW_LISTENER);
  ConstTable ll;
#define LL(name) ll.Set(#name, static_cast<double>(LANDLOCK_##name))
  LL(ACCESS_FS_EXECUTE);
  LL(ACCESS_FS_WRITE_FILE);
  LL(ACCESS_FS_READ_FILE);
  LL(ACCESS_FS_READ_DIR);
  LL(ACCESS_FS_REMOVE_DIR);
  LL(ACCESS_FS_REMOVE_FILE);
  LL(ACCESS_FS_MAKE_CHAR);
  LL(ACCESS_FS_MAKE_DIR);
  LL(ACCESS_FS_MAKE_REG);
  LL(ACCESS_FS_MAKE_SOCK);
  LL(ACCESS_FS_MAKE_FIFO);
  LL(ACCESS_FS_MAKE_BLOCK);
  LL(ACCESS_FS_MAKE_SYM);
  LL(ACCESS_FS_REFER);
  LL(ACCESS_FS_TRUNCATE);
  LL(ACCESS_FS_IOCTL_DEV);
  LL(ACCESS_NET_BIND_TCP);
  LL(ACCESS_NET_CONNECT_TCP);
  LL(SCOPE_ABSTRACT_UNIX_SOCKET);
  LL(SCOPE_SIGNAL);
  LL(RESTRICT_SELF_LOG_SAME_EXEC_OFF);
  LL(RESTRICT_SELF_LOG_NEW_EXEC_ON);
  LL(RESTRICT_SELF_LOG_SUBDOMAINS_OFF);
#undef LL
  c.Set("LANDLOCK", ll);
  AddMountConstants(c);
  exports.Set("constantsJson", Napi::String::New(env, c.Json()));
}

}  // namespace nsbox
