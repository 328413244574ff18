// The spawn plan: built and serialised in TS (src/namespaces/plan.ts), validated again here,
// executed by the child (child.cc) with async-signal-safe code only.
//
// Wire format (Int32Array):
//   header: PLAN_VERSION, clone_flags_lo, clone_flags_hi, cgroup_fd (-1 = none), nsteps
//   then nsteps times: op, nargs, arg[0..nargs)
// String arguments are byte offsets into a separate buffer of NUL-terminated strings.
// New steps (mounts, pivot_root, capabilities, seccomp, landlock) are new opcodes here,
// a case in child.cc and a builder in TS: nothing else changes.
#pragma once
#include <stdint.h>

namespace nsbox {

constexpr int32_t kPlanVersion = 1;
// OP_EXEC's envc for "this process's environment": `environ` when the plan is parsed, on the
// calling thread (the main thread's process.env: plan_parse.cc ArgvEnv), no strings in the plan.
constexpr int32_t kEnvInherit = -1;
constexpr int kHeaderWords = 5;

enum Op : int32_t {
  OP_SETNS = 1,          // fd, nstype                 join an existing namespace
  OP_UNSHARE = 2,        // flags                      new namespaces after joins
  OP_USERNS_SYNC = 3,    // -                          parent writes uid/gid maps, then acks
  OP_FORK = 4,           // flags [, vm(0/1)]          clone(CLONE_PARENT|flags); grandchild goes on
                         //                            (vm 1: sharing our memory, on its own part of
                         //                            the stack: a template's run, child.cc)
  OP_SETSID = 5,         // -
  OP_SETPGID = 6,        // pgid (0 = own group)
  OP_SETHOSTNAME = 7,    // str
  OP_SETDOMAINNAME = 8,  // str
  OP_SETGROUPS = 9,      // n, gid...
  OP_SETGID = 10,        // gid
  OP_SETUID = 11,        // uid
  OP_CHDIR = 12,         // str, flags(0-3)           1 in root (openat2, fchdir), 2 optional
  OP_FDS = 13,           // n, (target, source)...   then close every other fd
  OP_PDEATHSIG = 14,     // signal                     race-free via the status socket
  OP_EXEC = 15,          // file str, search(0/1), argc, argv str..., envc, env str...
  // Filesystem steps (child_fs.cc). Paths "in root" are resolved inside /newroot with
  // openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): a symlink in the rootfs cannot lead out.
  OP_FS_BASE = 16,      // stage str                  private tree, tmpfs base, old root at /oldroot
  OP_MOUNT = 17,        // src|-1, dst, fstype|-1, flags, data|-1, mode (MNT_* below)
  OP_MKNOD = 18,        // dst (in root), mode, major, minor
  OP_SYMLINK = 19,      // target str, dst (in root)
  OP_WRITE_FILE = 20,   // path (in base), content str, mode
  OP_SETATTR = 21,      // dst (in root), attr_set, attr_clr, mode (MNT_RECURSIVE, MNT_IN_ANCHOR)
  OP_PIVOT = 22,        // keep_proc(0/1)             pivot_root into /newroot, old root detached;
                        //                            keep_proc: hold an fd on our /proc/PID dir for OP_LOCK
  OP_MKDIR = 23,        // path, mode (MNT_DST_IN_ROOT) mkdir -p, confined
  OP_PROPAGATION = 24,  // ms flag                    mount(NULL, "/", MS_REC|flag): as unshare(1)
  // Containment (child_lock.cc).
  OP_LOCK = 25,        // uid_map str, gid_map str   nested user + mount namespace: every mount
                       //                            made so far becomes MNT_LOCKED for the command
                       // [, net(1-2), masks str,     net 1: and a network namespace owned by it, whose
                       //    sysctl str]              net.* sysctls ("path\nvalue\n", under /proc/sys) the
                       //                            helper writes; 2: and whose fresh sysfs (then tmpfs
                       //                            masks, ':'-separated dirs) it mounts on /sys before
                       //                            the mounts lock
                       //                            3 (a template's run): the user namespace
                       //                            alone, no mount or network namespace: the
                       //                            run's mounts stay its outer namespace's
  OP_DUMPABLE = 26,    // 0/1                        prctl(PR_SET_DUMPABLE)
  OP_KEYRING = 27,     // -                          a new anonymous session keyring
  OP_NO_TIOCSTI = 28,  // -                          seccomp: ioctl TIOCSTI/TIOCLINUX fail with EPERM
  // Security (child_security.cc; parsed by ParseSecurityStep).
  OP_NO_NEW_PRIVS = 29,  // -                          prctl(PR_SET_NO_NEW_PRIVS, 1)
  OP_CAP_BOUND = 30,     // keep_lo, keep_hi, last_cap   drop the rest of the bounding set, then KEEPCAPS
  OP_CAPSET = 31,        // eff lo/hi, perm lo/hi, inh lo/hi, amb lo/hi, last_cap
                         //                            capset(2), KEEPCAPS off, ambient cleared then raised
  OP_UMASK = 32,         // mask
  OP_PERSONALITY = 33,   // persona
  OP_SECCOMP = 34,       // flags, n, (code|jt<<16|jf<<24, k) * n   seccomp(SET_MODE_FILTER); a listener
                         //                            fd (NEW_LISTENER) goes to the parent (MSG_LISTENER)
  // Landlock (child_landlock.cc): create a ruleset, add its rules, restrict_self.
  //   hfs_lo, hfs_hi, hnet_lo, hnet_hi, scoped_lo, scoped_hi, restrict_flags, nfs, nnet,
  //   nfs  x (path str, optional 0/1, access_lo, access_hi)   LANDLOCK_RULE_PATH_BENEATH
  //   nnet x (port, access_lo, access_hi)                     LANDLOCK_RULE_NET_PORT
  // 64-bit masks travel as two words. Paths are opened after pivot_root (container paths)
  // with openat2 O_PATH, RESOLVE_NO_MAGICLINKS; a missing optional path is skipped.
  OP_LANDLOCK = 35,
  OP_SYSCTL = 36,  // path str, value str, in_root(0/1)   write /proc/sys/...
  OP_PARENT = 37,  // -                          the parent applies rlimits and oom_score_adj
                   //                            to us (prlimit(2), /proc/PID/oom_score_adj)
  // The init (child_init.cc): last but one, right before OP_EXEC, which it runs in a child.
  OP_INIT = 38,     // [dropCopy 0|1 [, exec 0|1]]  non-dumpable, probes its syscalls, clone(VM|VFORK); exec:
                    // init_image.h
                    //                              the command (which only execs), closes every fd,
                    //                              then forwards signals, reaps, exits with its status
  OP_NETWORK = 39,  // lo(0/1), wait(0/1)          lo: bring lo up (ioctl SIOCSIFFLAGS) in our network
                    //                            namespace; wait: the parent configures it (MSG_NETWORK)
  // The create/start gate (child_gate.cc): the parent made a listening unix socket at `path`
  // (ChildCtx::gate). The child resolves the exec step's file (PATH search), sends MSG_GATE,
  // closes the status socket and waits in accept4(2); a start (one byte) lets it go on with
  // the steps after this one — only Landlock, seccomp (no listener) and exec, exec last —
  // reporting on the connection instead (kGate* below). Own mm (spawn.cc), no PDEATHSIG.
  OP_GATE = 40,  // path str (for the parent; the child uses the fd)
  // A controlling terminal (child_tty.cc).
  OP_TERMINAL = 41,  // mode, size                  mode 0 (TTY_STDIN): fd 0 is the slave already
                     //                            (OP_FDS placed it); mode 1 (TTY_NEW): open /dev/ptmx
                     //                            here (the container's devpts after pivot_root),
                     //                            unlock, TIOCSWINSZ (size: rows | cols << 16, 0 = unset),
                     //                            the slave through TIOCGPTPEER, the master to the
                     //                            parent (MSG_TERMINAL), the slave dup'ed onto 0, 1, 2.
                     //                            Both: setsid, TIOCSCTTY on 0
                     // [, uid, gid]               mode 2 (TTY_CONSOLE): TTY_NEW, with uid and gid
                     //                            (-1: ours) as the fs ids while /dev/ptmx is opened,
                     //                            and the slave bound onto /dev/console (run before
                     //                            the credential steps)
  // Hooks (child_hook.cc): a program run at this point of the plan, as runc runs the OCI
  // createRuntime, createContainer and startContainer hooks. A process of its own (clone
  // CLONE_VM|CLONE_VFORK, as posix_spawn), in a process group of its own, with the text on its
  // stdin (a pipe), stdout drained, stderr kept (its last kHookTail bytes come with a failure),
  // every other fd closed, PR_SET_PDEATHSIG SIGKILL; waited for on a pidfd with ppoll(2) up to
  // timeout_ms (0: no limit), then its group SIGKILLed. It fails the plan on a non-zero exit, a
  // signal or the timeout: MSG_ERROR's value is then SYS_WAIT4 with the status above it, where
  // the item sits (kSysItemShift): status + 1, the status being the exit code, or 256 + the
  // signal; errno ECANCELED (exit, signal) or ETIMEDOUT.
  OP_HOOK = 42,  // index, where (HookWhere), timeout_ms, pid(0/1), stdin_before str, stdin_after
                 // str, path str, argc, argv str..., envc, env str...
                 //                            stdin: stdin_before, then (pid 1) our pid as the
                 //                            parent sees it (MSG_HOSTPID), then stdin_after.
                 //                            index: the hook's place in its list, which a failure
                 //                            after the gate reports (kGate* below)
  // Sandbox templates (src/namespaces/template.ts): a setup plan pins what it prepared, and
  // each run enters it.
  OP_PIN = 43,    // nstype (CLONE_NEWUSER|NEWNS) the parent opens our namespace of that kind
                  //                            (/proc/PID/ns/X, MSG_PIN) and keeps the fd: it
                  //                            outlives us (the template holds no process)
  OP_ENTER = 44,  // fd, nstype (USER|NS)       setns(2) into a template's pinned namespace. Unlike
                  //                            OP_SETNS it keeps a shared mm: no process lives in a
                  //                            template's namespaces that could reach ours. After a
                  //                            mount namespace, fs steps outside the root resolve
                  //                            from its "/" and mount files through /proc/self/fd
  // For the parent only (the child skips it): once the command has exec'd, the parent takes a
  // reference to the live process's mount namespace (ioctl PIDFD_GET_MNT_NAMESPACE, O_CLOEXEC)
  // and drops it on a background thread after the exit has been seen (pidfd.cc), so the
  // teardown of the run's mounts (an RCU grace period) is not on the exit's path.
  OP_EXIT_PIN = 45,  // -
  OP_MAX_
};

// OP_MOUNT / OP_SETATTR mode bits.
enum MountMode : int32_t {
  MNT_DST_IN_ROOT = 1,     // dst is inside /newroot (resolved confined); else an absolute path
  MNT_MKDIR = 2,           // create dst (and parents) as a directory if missing
  MNT_MKFILE = 4,          // create dst (parents as directories) as an empty file if missing
  MNT_OPTIONAL = 8,        // dst missing: skip the step instead of failing
  MNT_RDONLY = 16,         // then mount_setattr(MOUNT_ATTR_RDONLY): keeps locked flags
  MNT_RECURSIVE = 32,      // ...with AT_RECURSIVE
  MNT_SRC_OPTIONAL = 64,   // source missing: skip the step
  MNT_FROM_TREE = 128,     // attach received tree number `flags` with move_mount(2), no mount(2)
  MNT_SRC_SELF = 256,      // bind the target onto itself (source = the opened target, never a path)
  MNT_FROM_FD = 512,       // attach the detached mount at fd `flags` (inherited) with move_mount(2)
  MNT_COPYUP = 1024,       // a fresh mount over a directory starts as a copy of it (tmpcopyup,
                           // child_copy.cc), its root with that directory's owner...
  MNT_COPYUP_MODE = 2048,  // ...and its mode (with MNT_COPYUP)
  MNT_SRC_NULL = 4096,     // bind source `src`, opened confined with no symlink followed, must
                           // be the null device (1:3): else ENXIO (a template run's masks)
  MNT_ANCHOR = 8192,       // keep the new mount's root fd as an anchor for its dst (proc, sys):
                           // made with fsopen/fsmount (or open_tree), attached by move_mount
  MNT_DST_PROCFS = 32768,  // dst must be on a procfs (a template run's /proc covers the
                           // template's), else EXDEV
  MNT_IN_ANCHOR = 16384,   // dst under an anchor's dst: resolved beneath the anchor's fd, never by
                           // path from the root (a rename in the rootfs cannot move it)
};

// Where an OP_HOOK runs.
enum HookWhere : int32_t {
  HOOK_HERE = 0,    // in the child, at its root as it is (after OP_PIVOT: the container's); the
                    // child's mm must be its own (spawn.cc), made non-dumpable for good
  HOOK_HOST = 1,    // in the child, chroot(2)ed into /oldroot: the caller's root (its private copy
                    // in the new mount namespace); only between OP_FS_BASE and OP_PIVOT
  HOOK_CALLER = 2,  // by the parent, in its own namespaces, root and credentials (MSG_HOOK); only
                    // before the gate
};

// What an OP_HOOK keeps of a failed hook's stderr (sent after the Msg of its MSG_ERROR).
constexpr int kHookTail = 4096;

// OP_WRITE_FILE mode bit: after the content, write the uts namespace's nodename (uname(2), as
// the child sees it then) and a newline: /etc/hostname that says what hostname(1) says.
enum WriteMode : int32_t {
  WRITE_NODENAME = 0x10000,
};

// OP_EXEC's second argument: bit 0, search PATH (execvp(3)); bit 1, exec through the exec
// stub (init_image.h): the command's execve(2) made by a sealed memfd, not by a copy of Node.
constexpr int32_t kExecSearch = 1, kExecStub = 2;
// The pointers the parser reserves before each OP_EXEC's argv, for the exec stub's own argv.
constexpr int kStubSlots = 6;

// Which syscall of a multi-syscall step failed (MSG_ERROR value); 0 = the step's own.
enum SysId : int32_t {
  SYS_STEP = 0,
  SYS_OPENAT2 = 1,
  SYS_MKDIRAT = 2,
  SYS_MOUNT = 3,
  SYS_MOUNT_SETATTR = 4,
  SYS_PIVOT_ROOT = 5,
  SYS_UMOUNT2 = 6,
  SYS_MKNODAT = 7,
  SYS_SYMLINKAT = 8,
  SYS_CHDIR = 9,
  SYS_OPENAT = 10,
  SYS_WRITE = 11,
  SYS_MOVE_MOUNT = 12,
  SYS_CLONE3 = 13,
  SYS_UNSHARE = 14,
  SYS_SECCOMP = 15,
  SYS_KEYCTL = 16,
  SYS_FCHDIR = 17,
  SYS_LANDLOCK_CREATE = 18,
  SYS_LANDLOCK_ADD_RULE = 19,
  SYS_LANDLOCK_RESTRICT = 20,
  SYS_PRCTL = 21,
  SYS_CAPSET = 22,
  SYS_SENDMSG = 23,
  SYS_PRLIMIT = 24,
  SYS_RT_SIGPROCMASK = 25,
  SYS_WAIT4 = 26,
  SYS_KILL = 27,
  SYS_RT_SIGTIMEDWAIT = 28,
  SYS_CLONE = 29,
  SYS_IOCTL = 30,
  SYS_SETNS = 31,
  SYS_ACCEPT4 = 32,
  SYS_READ = 33,
  SYS_SETSID = 34,
  SYS_DUP3 = 35,
  SYS_OPEN_TREE = 36,
  SYS_SETFSID = 37,
  SYS_CLOSE_RANGE = 38,
  SYS_FCNTL = 39,
  SYS_PIPE2 = 40,
  SYS_PIDFD_OPEN = 41,
  SYS_PPOLL = 42,
  SYS_CHROOT = 43,
  SYS_FCHOWNAT = 44,
  SYS_FCHMODAT = 45,
  SYS_GETDENTS64 = 46,
  SYS_READLINKAT = 47,
  SYS_NEWFSTATAT = 48,
  // 49-57 are kept for work under way on other branches.
  SYS_FLISTXATTR = 58,
  SYS_FGETXATTR = 59,
  SYS_FSETXATTR = 60,
  SYS_EXECVEAT = 61,
  SYS_SOCKETPAIR = 62,
  SYS_SETRESUID = 63,
  SYS_FSOPEN = 64,
  SYS_FSCONFIG = 65,
  SYS_FSMOUNT = 66,
  SYS_FSTATFS = 67,
};

// OP_TERMINAL modes.
enum TerminalMode : int32_t {
  TTY_STDIN = 0,
  TTY_NEW = 1,
  TTY_CONSOLE = 2,
};

// A step with several items (OP_LANDLOCK's rules) names the failing one in the MSG_ERROR
// value above the SysId: value = sysid | (item + 1) << kSysItemShift; 0 there = no item.
constexpr int kSysItemShift = 8;

// Child -> parent messages over the SOCK_SEQPACKET status socket.
enum MsgKind : int32_t {
  MSG_ERROR = 1,     // step index, errno, value = SysId
  MSG_MAPS = 2,      // value = pid whose maps to write (0 = the direct child)
  MSG_PID = 3,       // value = pid of the grandchild made by OP_FORK
  MSG_PARENT = 4,    // OP_PARENT: apply the parent-side settings to the sender, then answer
  MSG_LISTENER = 5,  // OP_SECCOMP: a seccomp user-notification fd rides along (SCM_RIGHTS)
  MSG_NETWORK = 6,   // OP_NETWORK: the parent configures the sender's network namespace, then answers
  MSG_GATE = 7,      // OP_GATE: the sender waits at the gate; the parent stops reading and returns
  MSG_TERMINAL = 8,  // OP_TERMINAL (TTY_NEW): the pty master rides along (SCM_RIGHTS)
  MSG_HOSTPID = 9,   // OP_HOOK (and OP_GATE before hooks): the parent answers with the sender's pid
                     // as it sees it (SCM_CREDENTIALS), an int32: the pid a hook's state names
  MSG_HOOK = 10,     // OP_HOOK (HOOK_CALLER): the parent runs the step's hook, then answers with 0
                     // or the errno (and reports the failure itself)
  MSG_PIN = 11,      // OP_PIN: value = nstype; the parent opens the sender's namespace of that kind,
                     // keeps the fd, and answers with 0 or the errno (and reports the failure)
  MSG_EXEC = 12,     // OP_EXEC through the exec stub: a pipe's read end rides along (SCM_RIGHTS);
                     // once the status socket has closed, the parent reads it to its EOF (the
                     // command's execve) or a Msg {MSG_ERROR} the stub wrote (it failed)
};
// A MSG_ERROR of a failed OP_HOOK is followed, in the same datagram, by the end of the hook's
// stderr (up to kHookTail bytes).

// The gate's connection (SOCK_STREAM), once accepted: the starter writes one byte, the child
// answers kGateAck, then the connection (CLOEXEC) closes at execve — or, when a later step
// fails, a Msg {MSG_ERROR, op of the failed step (not its index: the starter has no plan),
// errno, SysId} comes first; for an OP_HOOK, op | its index << 8, and the end of its stderr
// after the Msg.
constexpr char kGateStart = 'S';
constexpr char kGateAck = 'A';
// A request for the waiting child's namespaces instead of a start (the runtime's `exec` into a
// created container, which cannot open a non-dumpable process's /proc/PID/ns/* without root):
// the child answers kGateNsKinds bytes, one per kind of kGateNsNames (1: its fd is in the
// message's SCM_RIGHTS, in that order), closes the connection and waits on.
constexpr char kGateNamespaces = 'N';
constexpr int kGateNsKinds = 8;
constexpr const char* kGateNsNames[kGateNsKinds] = {"user", "mnt", "pid",    "net",
                                                    "ipc",  "uts", "cgroup", "time"};

struct Msg {
  int32_t kind;
  int32_t step;
  int32_t err;
  int32_t value;
};

}  // namespace nsbox
