// Raw system calls for the child after clone(CLONE_VM): no errno (it is the parent thread's
// TLS), no locks, no allocation. Each returns the result or -errno.
#pragma once

namespace nsbox {
namespace raw {

#if defined(__x86_64__)
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#else
#error "nsbox supports x86_64 and aarch64"
#endif

template <typename A = long, typename B = long, typename C = long, typename D = long, typename E = long,
          typename F = long>
static inline long sc(long n, A a = 0, B b = 0, C c = 0, D d = 0, E e = 0, F f = 0) {
  return sc6(n, (long)a, (long)b, (long)c, (long)d, (long)e, (long)f);
}

}  // namespace raw
}  // namespace nsbox
