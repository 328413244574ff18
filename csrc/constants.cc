// Kernel numbers for TS, from the headers (never typed by hand in TS).
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include "addon.h"
#include "landlock.h"
#include "plan.h"
#include "sys.h"

namespace nsbox {

#define SET(name) c.Set(#name, Napi::Number::New(env, static_cast<double>(name)))

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  SET(CLONE_NEWUSER);
  SET(CLONE_NEWPID);
  SET(CLONE_NEWNS);
  SET(CLONE_NEWUTS);
  SET(CLONE_NEWIPC);
  SET(CLONE_NEWNET);
  SET(CLONE_NEWCGROUP);
  SET(CLONE_NEWTIME);
  c.Set("PLAN_VERSION", Napi::Number::New(env, kPlanVersion));
  c.Set("ENV_INHERIT", Napi::Number::New(env, kEnvInherit));
  c.Set("TTY_STDIN", Napi::Number::New(env, TTY_STDIN));
  c.Set("TTY_NEW", Napi::Number::New(env, TTY_NEW));
  c.Set("TTY_CONSOLE", Napi::Number::New(env, TTY_CONSOLE));
  c.Set("HOOK_HERE", Napi::Number::New(env, HOOK_HERE));
  c.Set("HOOK_HOST", Napi::Number::New(env, HOOK_HOST));
  c.Set("HOOK_CALLER", Napi::Number::New(env, HOOK_CALLER));
  // The syscall each SysId of a failing step names (plan.h), by number.
  Napi::Object sysid = Napi::Object::New(env);
#define SYSID(name, text) sysid.Set(static_cast<uint32_t>(SYS_##name), Napi::String::New(env, text))
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
  SYSID(EXECVEAT, "execveat");
  SYSID(SOCKETPAIR, "socketpair");
  SYSID(SETRESUID, "setresuid");
  SYSID(FSOPEN, "fsopen");
  SYSID(FSCONFIG, "fsconfig");
  SYSID(FSMOUNT, "fsmount");
  SYSID(FSTATFS, "fstatfs");
#undef SYSID
  sysid.Freeze();
  c.Set("SYSID", sysid);
  c.Set("SYS_ITEM_SHIFT", Napi::Number::New(env, kSysItemShift));
  Napi::Object op = Napi::Object::New(env);
#define OPC(name) op.Set(#name, Napi::Number::New(env, OP_##name))
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
  OPC(EXIT_PIN);
#undef OPC
  op.Freeze();
  c.Set("OP", op);
  Napi::Object mm = Napi::Object::New(env);
#define MM(name) mm.Set(#name, Napi::Number::New(env, name))
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
  MM(MNT_SRC_NULL);
  MM(MNT_ANCHOR);
  MM(MNT_IN_ANCHOR);
  MM(MNT_DST_PROCFS);
#undef MM
  mm.Freeze();
  c.Set("PLAN_MOUNT", mm);
  c.Set("PLAN_WRITE_NODENAME", Napi::Number::New(env, WRITE_NODENAME));
  // Capabilities (capabilities(7)) by name, from the headers nsbox was built with; the
  // running kernel may know more (read /proc/sys/kernel/cap_last_cap).
  Napi::Object cap = Napi::Object::New(env);
  cap.Set("CAP_CHOWN", Napi::Number::New(env, CAP_CHOWN));
  cap.Set("CAP_DAC_OVERRIDE", Napi::Number::New(env, CAP_DAC_OVERRIDE));
  cap.Set("CAP_DAC_READ_SEARCH", Napi::Number::New(env, CAP_DAC_READ_SEARCH));
  cap.Set("CAP_FOWNER", Napi::Number::New(env, CAP_FOWNER));
  cap.Set("CAP_FSETID", Napi::Number::New(env, CAP_FSETID));
  cap.Set("CAP_KILL", Napi::Number::New(env, CAP_KILL));
  cap.Set("CAP_SETGID", Napi::Number::New(env, CAP_SETGID));
  cap.Set("CAP_SETUID", Napi::Number::New(env, CAP_SETUID));
  cap.Set("CAP_SETPCAP", Napi::Number::New(env, CAP_SETPCAP));
  cap.Set("CAP_LINUX_IMMUTABLE", Napi::Number::New(env, CAP_LINUX_IMMUTABLE));
  cap.Set("CAP_NET_BIND_SERVICE", Napi::Number::New(env, CAP_NET_BIND_SERVICE));
  cap.Set("CAP_NET_BROADCAST", Napi::Number::New(env, CAP_NET_BROADCAST));
  cap.Set("CAP_NET_ADMIN", Napi::Number::New(env, CAP_NET_ADMIN));
  cap.Set("CAP_NET_RAW", Napi::Number::New(env, CAP_NET_RAW));
  cap.Set("CAP_IPC_LOCK", Napi::Number::New(env, CAP_IPC_LOCK));
  cap.Set("CAP_IPC_OWNER", Napi::Number::New(env, CAP_IPC_OWNER));
  cap.Set("CAP_SYS_MODULE", Napi::Number::New(env, CAP_SYS_MODULE));
  cap.Set("CAP_SYS_RAWIO", Napi::Number::New(env, CAP_SYS_RAWIO));
  cap.Set("CAP_SYS_CHROOT", Napi::Number::New(env, CAP_SYS_CHROOT));
  cap.Set("CAP_SYS_PTRACE", Napi::Number::New(env, CAP_SYS_PTRACE));
  cap.Set("CAP_SYS_PACCT", Napi::Number::New(env, CAP_SYS_PACCT));
  cap.Set("CAP_SYS_ADMIN", Napi::Number::New(env, CAP_SYS_ADMIN));
  cap.Set("CAP_SYS_BOOT", Napi::Number::New(env, CAP_SYS_BOOT));
  cap.Set("CAP_SYS_NICE", Napi::Number::New(env, CAP_SYS_NICE));
  cap.Set("CAP_SYS_RESOURCE", Napi::Number::New(env, CAP_SYS_RESOURCE));
  cap.Set("CAP_SYS_TIME", Napi::Number::New(env, CAP_SYS_TIME));
  cap.Set("CAP_SYS_TTY_CONFIG", Napi::Number::New(env, CAP_SYS_TTY_CONFIG));
  cap.Set("CAP_MKNOD", Napi::Number::New(env, CAP_MKNOD));
  cap.Set("CAP_LEASE", Napi::Number::New(env, CAP_LEASE));
  cap.Set("CAP_AUDIT_WRITE", Napi::Number::New(env, CAP_AUDIT_WRITE));
  cap.Set("CAP_AUDIT_CONTROL", Napi::Number::New(env, CAP_AUDIT_CONTROL));
  cap.Set("CAP_SETFCAP", Napi::Number::New(env, CAP_SETFCAP));
  cap.Set("CAP_MAC_OVERRIDE", Napi::Number::New(env, CAP_MAC_OVERRIDE));
  cap.Set("CAP_MAC_ADMIN", Napi::Number::New(env, CAP_MAC_ADMIN));
  cap.Set("CAP_SYSLOG", Napi::Number::New(env, CAP_SYSLOG));
  cap.Set("CAP_WAKE_ALARM", Napi::Number::New(env, CAP_WAKE_ALARM));
  cap.Set("CAP_BLOCK_SUSPEND", Napi::Number::New(env, CAP_BLOCK_SUSPEND));
  cap.Set("CAP_AUDIT_READ", Napi::Number::New(env, CAP_AUDIT_READ));
  cap.Set("CAP_PERFMON", Napi::Number::New(env, CAP_PERFMON));
  cap.Set("CAP_BPF", Napi::Number::New(env, CAP_BPF));
  cap.Set("CAP_CHECKPOINT_RESTORE", Napi::Number::New(env, CAP_CHECKPOINT_RESTORE));
  cap.Freeze();
  c.Set("CAP", cap);
  Napi::Object rlim = Napi::Object::New(env);
  rlim.Set("RLIMIT_CPU", Napi::Number::New(env, RLIMIT_CPU));
  rlim.Set("RLIMIT_FSIZE", Napi::Number::New(env, RLIMIT_FSIZE));
  rlim.Set("RLIMIT_DATA", Napi::Number::New(env, RLIMIT_DATA));
  rlim.Set("RLIMIT_STACK", Napi::Number::New(env, RLIMIT_STACK));
  rlim.Set("RLIMIT_CORE", Napi::Number::New(env, RLIMIT_CORE));
  rlim.Set("RLIMIT_RSS", Napi::Number::New(env, RLIMIT_RSS));
  rlim.Set("RLIMIT_NPROC", Napi::Number::New(env, RLIMIT_NPROC));
  rlim.Set("RLIMIT_NOFILE", Napi::Number::New(env, RLIMIT_NOFILE));
  rlim.Set("RLIMIT_MEMLOCK", Napi::Number::New(env, RLIMIT_MEMLOCK));
  rlim.Set("RLIMIT_AS", Napi::Number::New(env, RLIMIT_AS));
  rlim.Set("RLIMIT_LOCKS", Napi::Number::New(env, RLIMIT_LOCKS));
  rlim.Set("RLIMIT_SIGPENDING", Napi::Number::New(env, RLIMIT_SIGPENDING));
  rlim.Set("RLIMIT_MSGQUEUE", Napi::Number::New(env, RLIMIT_MSGQUEUE));
  rlim.Set("RLIMIT_NICE", Napi::Number::New(env, RLIMIT_NICE));
  rlim.Set("RLIMIT_RTPRIO", Napi::Number::New(env, RLIMIT_RTPRIO));
  rlim.Set("RLIMIT_RTTIME", Napi::Number::New(env, RLIMIT_RTTIME));
  rlim.Freeze();
  c.Set("RLIMIT", rlim);
  Napi::Object per = Napi::Object::New(env);
  per.Set("PER_LINUX", Napi::Number::New(env, PER_LINUX));
  per.Set("PER_LINUX32", Napi::Number::New(env, PER_LINUX32));
  per.Set("ADDR_NO_RANDOMIZE", Napi::Number::New(env, ADDR_NO_RANDOMIZE));
  per.Set("FDPIC_FUNCPTRS", Napi::Number::New(env, FDPIC_FUNCPTRS));
  per.Set("MMAP_PAGE_ZERO", Napi::Number::New(env, MMAP_PAGE_ZERO));
  per.Set("ADDR_COMPAT_LAYOUT", Napi::Number::New(env, ADDR_COMPAT_LAYOUT));
  per.Set("READ_IMPLIES_EXEC", Napi::Number::New(env, READ_IMPLIES_EXEC));
  per.Set("ADDR_LIMIT_32BIT", Napi::Number::New(env, ADDR_LIMIT_32BIT));
  per.Set("SHORT_INODE", Napi::Number::New(env, SHORT_INODE));
  per.Set("WHOLE_SECONDS", Napi::Number::New(env, WHOLE_SECONDS));
  per.Set("STICKY_TIMEOUTS", Napi::Number::New(env, STICKY_TIMEOUTS));
  per.Set("ADDR_LIMIT_3GB", Napi::Number::New(env, ADDR_LIMIT_3GB));
  per.Set("UNAME26", Napi::Number::New(env, UNAME26));
  per.Freeze();
  c.Set("PERSONALITY", per);
  SET(SECCOMP_FILTER_FLAG_NEW_LISTENER);
  // ioctl(pidfd, PIDFD_GET_*_NAMESPACE) by /proc/PID/ns file name (Linux 6.11; sys.h).
  Napi::Object pns = Napi::Object::New(env);
#define PNS(file, name) \
  pns.Set(file, Napi::Number::New(env, static_cast<double>(PIDFD_GET_##name##_NAMESPACE)))
  PNS("user", USER);
  PNS("pid", PID);
  PNS("mnt", MNT);
  PNS("net", NET);
  PNS("uts", UTS);
  PNS("ipc", IPC);
  PNS("cgroup", CGROUP);
  PNS("time", TIME);
  PNS("pid_for_children", PID_FOR_CHILDREN);
  PNS("time_for_children", TIME_FOR_CHILDREN);
#undef PNS
  pns.Freeze();
  c.Set("PIDFD_GET_NS", pns);
  Napi::Object ll = Napi::Object::New(env);
#define LL(name) ll.Set(#name, Napi::Number::New(env, static_cast<double>(LANDLOCK_##name)))
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
  ll.Freeze();
  c.Set("LANDLOCK", ll);
  // Signal numbers by name, the same names in the same order as Node's os.constants.signals
  // (node_constants.cc), so that the run path need not load node:os (~0.2 ms per process).
  Napi::Object sig = Napi::Object::New(env);
#define SIG(name) sig.Set(#name, Napi::Number::New(env, name))
  SIG(SIGHUP);
  SIG(SIGINT);
  SIG(SIGQUIT);
  SIG(SIGILL);
  SIG(SIGTRAP);
  SIG(SIGABRT);
  SIG(SIGIOT);
  SIG(SIGBUS);
  SIG(SIGFPE);
  SIG(SIGKILL);
  SIG(SIGUSR1);
  SIG(SIGSEGV);
  SIG(SIGUSR2);
  SIG(SIGPIPE);
  SIG(SIGALRM);
  SIG(SIGTERM);
  SIG(SIGCHLD);
  SIG(SIGSTKFLT);
  SIG(SIGCONT);
  SIG(SIGSTOP);
  SIG(SIGTSTP);
  SIG(SIGTTIN);
  SIG(SIGTTOU);
  SIG(SIGURG);
  SIG(SIGXCPU);
  SIG(SIGXFSZ);
  SIG(SIGVTALRM);
  SIG(SIGPROF);
  SIG(SIGWINCH);
  SIG(SIGIO);
  SIG(SIGPOLL);
  SIG(SIGPWR);
  SIG(SIGSYS);
#undef SIG
  sig.Freeze();
  c.Set("SIGNAL", sig);
  // The errnos the spawn and join paths branch on (the rest of TS uses node:os's table).
  Napi::Object errnos = Napi::Object::New(env);
  errnos.Set("ESRCH", Napi::Number::New(env, ESRCH));
  errnos.Set("ENOSYS", Napi::Number::New(env, ENOSYS));
  errnos.Set("ENOENT", Napi::Number::New(env, ENOENT));
  errnos.Set("EINVAL", Napi::Number::New(env, EINVAL));
  errnos.Set("ENOTTY", Napi::Number::New(env, ENOTTY));
  errnos.Set("EOPNOTSUPP", Napi::Number::New(env, EOPNOTSUPP));
  errnos.Freeze();
  c.Set("ERRNO", errnos);
  AddMountConstants(env, c);
  c.Freeze();
  exports.Set("constants", c);
}

}  // namespace nsbox
