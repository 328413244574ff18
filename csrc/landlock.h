// Landlock uapi numbers (include/uapi/linux/landlock.h, landlock(7)). Debian 12's headers
// stop at ABI 2, so the later ones are defined here, each with the ABI that brought it.
// Shared by the child's step (child_landlock.cc), the probe (features.cc) and the constants
// exported to TS (constants.cc): TS never types these numbers by hand.
#pragma once
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "nr.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)  // ABI 4
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  // ABI 6
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1U << 0)  // ABI 7
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)
#define LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2)
#endif

namespace nsbox {
namespace landlock {

// struct landlock_ruleset_attr as of ABI 6 (the 6.1 header has only the first field). The
// kernel takes a larger struct than it knows as long as the extra fields are zero, which the
// parent ensures by masking to the probed ABI.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

// LANDLOCK_RULE_NET_PORT (2) and its attribute (ABI 4); packed as in the uapi header.
constexpr int kRuleNetPort = 2;
struct __attribute__((packed)) NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;  // host endianness
};

// The rights that apply to a file (not a directory): a path_beneath rule on a file may only
// grant these, or landlock_add_rule(2) fails with EINVAL (the kernel's ACCESS_FILE).
constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                 LANDLOCK_ACCESS_FS_IOCTL_DEV;

}  // namespace landlock
}  // namespace nsbox
