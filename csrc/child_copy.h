// tmpcopyup: a tmpfs mounted over a directory starts as a copy of that directory (child_copy.cc).
#pragma once
#include <sys/stat.h>

namespace nsbox {

// Copies the contents of directory `src` into directory `dst` (both opened O_RDONLY |
// O_DIRECTORY), recursively: directories, regular files (their bytes), symlinks (never
// followed), FIFOs, sockets and device nodes, each with its owner and mode. Runs in the
// child: raw syscalls and stack buffers only. 0 or -errno, with *sysid (plan.h SysId) the
// syscall that failed; deeper than kCopyMaxDepth directories is -ELOOP.
long CopyTree(int src, int dst, int* sysid);

// The owner and the mode of `st` onto the directory `dst` (the tmpfs's root). 0 or -errno.
long CopyRootAttrs(int dst, const struct stat& st, bool mode, int* sysid);

constexpr int kCopyMaxDepth = 32;

}  // namespace nsbox
