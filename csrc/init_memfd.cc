// The init image's file (init_image.h): the section nsbox_init_text of this addon behind a
// 256-byte ELF header, in a sealed memfd that the child executes (child_init.cc RunExecInit).
// Made by spawn before the clone, once per spawn with an exec'd init (its own fd, closed
// once the child has its copy: nothing is kept between spawns).
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "init_image.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

// Defined by the linker (the section's bounds) and by init_image.cc (the entry point).
extern "C" {
extern const char __start_nsbox_init_text[] __attribute__((visibility("hidden")));
extern const char __stop_nsbox_init_text[] __attribute__((visibility("hidden")));
extern const char nsbox_init_entry[] __attribute__((visibility("hidden")));
}

namespace nsbox {

int MakeInitImage() {
  const char* begin = __start_nsbox_init_text;
  const char* end = __stop_nsbox_init_text;
  const char* entry = nsbox_init_entry;
  if (end <= begin || entry < begin || entry >= end) return -ENOEXEC;
  // One PT_LOAD of the whole file (header and code, read + execute) at a fixed address (the
  // code is position-independent), and a non-executable stack. The code starts at 256, so
  // every alignment inside the section up to 256 bytes holds.
  constexpr unsigned long kBase = 0x400000, kCode = 256;
  const unsigned long size = kCode + (unsigned long)(end - begin);
  struct {
    Elf64_Ehdr eh;
    Elf64_Phdr load, stack;
    char pad[kCode - sizeof(Elf64_Ehdr) - 2 * sizeof(Elf64_Phdr)];
  } head;
  static_assert(sizeof head == kCode, "the ELF header fills the first 256 bytes");
  memset(&head, 0, sizeof head);
  memcpy(head.eh.e_ident, ELFMAG, SELFMAG);
  head.eh.e_ident[EI_CLASS] = ELFCLASS64;
  head.eh.e_ident[EI_DATA] = ELFDATA2LSB;
  head.eh.e_ident[EI_VERSION] = EV_CURRENT;
  head.eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
  head.eh.e_type = ET_EXEC;
#if defined(__x86_64__)
  head.eh.e_machine = EM_X86_64;
#elif defined(__aarch64__)
  head.eh.e_machine = EM_AARCH64;
#endif
  head.eh.e_version = EV_CURRENT;
  head.eh.e_entry = kBase + kCode + (unsigned long)(entry - begin);
  head.eh.e_phoff = sizeof(Elf64_Ehdr);  // the program headers right after it
  head.eh.e_ehsize = sizeof(Elf64_Ehdr);
  head.eh.e_phentsize = sizeof(Elf64_Phdr);
  head.eh.e_phnum = 2;
  head.load = {PT_LOAD, PF_R | PF_X, 0, kBase, kBase, size, size, 4096};
  head.stack = {PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16};

  // MFD_EXEC: executable whatever vm.memfd_noexec says, short of 2 (which refuses it: the
  // caller forks the init then); before Linux 6.3 the flag is unknown (EINVAL), and every
  // memfd is executable.
  int fd = memfd_create("nsbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("nsbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  struct iovec iov[2] = {{&head, sizeof head}, {const_cast<char*>(begin), (size_t)(end - begin)}};
  ssize_t n = pwritev(fd, iov, 2, 0);
  // Sealed: its size and bytes can no longer change, nor its mode (F_SEAL_EXEC, Linux 6.3),
  // nor the seals. The init's /proc/PID/exe names this file; nothing can write it.
  int err = n == (ssize_t)size ? 0 : n < 0 ? errno : EIO;
  // Execute-only: a process that executes a file it may not read starts non-dumpable
  // (would_dump()), from its execve on — the exec stub's process (child.cc ExecStep), which
  // other processes of a sandbox could otherwise stop and take fds from before it makes the
  // command's execve, unless they hold a capability over the file (root without a user
  // namespace: CAP_DAC_READ_SEARCH).
  if (err == 0 && fchmod(fd, 0111) < 0) err = errno;
  if (err == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) err = errno;
  if (err == 0) fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC);  // EINVAL before 6.3: the others hold
  if (err == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0) err = errno;
  if (err != 0) {
    close(fd);
    return -err;
  }
  return fd;
}

}  // namespace nsbox
