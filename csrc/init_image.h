// The init as a program of its own (see init_image.cc): the code of the init's loop, kept in
// one section of this addon, runs either in place (the forked init, child_init.cc) or as a
// tiny static executable written into a sealed memfd and executed by the child
// (execveat(2)), so that an init need not be a fork of Node.
#pragma once

namespace nsbox {

// The init's loop (child_init.cc's step 5): waits for signals, forwards each but SIGCHLD to
// `cmd` (its process group when it leads one), reaps every zombie, and exits with the
// command's status once it is reaped (128+N for a signal N). Every signal must be blocked.
[[noreturn]] void InitLoop(long cmd);

// A sealed memfd (MFD_CLOEXEC) holding an ELF executable of the init (init_memfd.cc). Its
// argv: the command's pid, its end of a socket the command waits on, the status socket, the
// exec step's index. It makes itself non-dumpable, names itself nsbox-init, lets the command
// exec (one byte on that socket), reads the outcome (EOF, or the command's execve errno, which
// it reports on the status socket as the exec step's failure), closes every fd and runs
// InitLoop. Returns the fd, or -errno (spawn then forks the init as before): memfd_create(2)
// refused (vm.memfd_noexec = 2), or the section not found.
int MakeInitImage();

}  // namespace nsbox
