// Kernel numbers for TS, from the headers (never typed by hand in TS).
#include <linux/mount.h>
#include <sched.h>
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
  SET(MS_BIND);
  SET(MS_REC);
  SET(MS_SHARED);
  SET(MS_PRIVATE);
  SET(MS_SLAVE);
  SET(MS_UNBINDABLE);
  SET(MS_RDONLY);
  SET(MS_NOSUID);
  SET(MS_NODEV);
  SET(MS_NOEXEC);
  SET(MS_REMOUNT);
  SET(MNT_DETACH);
  SET(MNT_FORCE);
  SET(MNT_EXPIRE);
  SET(UMOUNT_NOFOLLOW);
  c.Set("PLAN_VERSION", Napi::Number::New(env, kPlanVersion));
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
  OPC(LANDLOCK);
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
#undef MM
  mm.Freeze();
  c.Set("PLAN_MOUNT", mm);
  SET(MS_NOATIME);
  SET(MS_RELATIME);
  SET(MS_STRICTATIME);
  SET(MS_NODIRATIME);
  SET(MOUNT_ATTR_RDONLY);
  SET(MOUNT_ATTR_NOSUID);
  SET(MOUNT_ATTR_NODEV);
  SET(MOUNT_ATTR_NOEXEC);
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
  c.Freeze();
  exports.Set("constants", c);
}

}  // namespace nsbox
