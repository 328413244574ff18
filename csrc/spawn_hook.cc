// HOOK_CALLER: see spawn_hook.h. The hook's process is cloned from this thread with
// CLONE_VM|CLONE_VFORK (RunHookProcess), on a stack of its own mapped here: it runs nothing
// but raw syscalls until execve(2), so the other threads of this process are never in its way.
#include "spawn_hook.h"

#include <errno.h>
#include <sys/mman.h>

#include <memory>

#include "child_hook.h"
#include "plan.h"

namespace nsbox {

namespace {

constexpr size_t kHookStack = 64 * 1024;

struct Mapping {
  void* at = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (at != MAP_FAILED) munmap(at, size);
  }
};

}  // namespace

long RunCallerHook(const Step& s, pid_t pid, int32_t* value, std::string* tail) {
  *value = 0;
  Mapping stack;
  stack.size = kHookStack;
  stack.at =
      mmap(nullptr, kHookStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack.at == MAP_FAILED) return -errno;
  mprotect(stack.at, 4096, PROT_NONE);  // guard page
  auto h = std::make_unique<HookRun>();
  h->path = s.str;
  h->argv = s.argv;
  h->envp = s.envp;
  h->timeoutMs = s.c;
  h->stdinBefore = s.str2;
  h->pid = s.d ? pid : -1;
  h->stdinAfter = s.str3;
  h->root = nullptr;
  h->stack = static_cast<char*>(stack.at) + kHookStack;
  long r = RunHookProcess(h.get());
  *value = h->sysid | (h->status >= 0 ? (h->status + 1) << kSysItemShift : 0);
  if (r < 0) tail->assign(h->tail, (size_t)h->taillen);
  return r;
}

}  // namespace nsbox
