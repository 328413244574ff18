// Filesystem steps of the spawn plan, run in the child (see child_fs.cc).
#pragma once
#include "child.h"

namespace nsbox {

// Runs one OP_FS_BASE..OP_PIVOT step; returns 0 or -errno and sets *sysid (plan.h SysId) to
// the syscall that failed.
long RunFsStep(ChildCtx* ctx, const Step& s, int* sysid);

// The directory in-root paths are resolved in (/newroot, or the base "/"), opened once per
// spawn and borrowed (never closed by the caller); -errno on failure.
long OpenRoot(ChildCtx* ctx, bool inRoot);

// openat2(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
long OpenIn(int rootfd, const char* path, int flags);

// The root fd of the MNT_ANCHOR mount whose dst is `path` or a parent of it (in the new root
// or not, as `in_root`), with what follows it in `*rest` ("." for itself); or -1.
int FindAnchor(ChildCtx* ctx, const char* path, int in_root, const char** rest);

// openat2(dirfd, rel, flags | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS).
long OpenBeneath(int dirfd, const char* rel, int flags);

// A fresh filesystem as a detached mount (fsopen, fsconfig `source` and each comma-separated
// `key=value`/`flag` of `data`, fsmount with `flags`' MOUNT_ATTR_* bits): its fd or -errno,
// *sysid the syscall that failed.
long FreshTree(const char* type, const char* source, const char* data, unsigned long flags, int* sysid);

}  // namespace nsbox
