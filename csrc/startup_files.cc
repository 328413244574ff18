// The files a short-lived nsbox process reads at start-up, read natively: the linked bins'
// loader's (src/oci/runtime/linked.ts: a linked file's source and its V8 code cache), the
// compiled seccomp filters' store (src/oci/runtime/seccomp-cache.ts), and the lookups of a
// container's host paths (stat). Through node:fs each first use of an API is a cold path of
// Node's own (a Stats object's first construction ~0.15 ms, a Buffer read ~0.25 ms): together
// ~1.5 ms of every `nsbox run` and nsbox-oci call; here each is a few syscalls and one copy.
// The readers throw nothing on a failure of the file (the loader then reads it through
// node:fs, which reports the error as Node does; the store compiles again).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"

namespace nsbox {
namespace {

// Neither file is larger than a few MB; a bound keeps a wrong path from reading a huge file.
constexpr off_t kMaxLinkedFile = 64 << 20;

// Reads exactly st.st_size bytes of a regular file; false if it changed size meanwhile.
bool ReadWhole(int fd, const struct stat& st, std::string* out) {
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxLinkedFile) return false;
  out->resize((size_t)st.st_size);
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = pread(fd, &(*out)[got], out->size() - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += (size_t)n;
  }
  char extra;
  return pread(fd, &extra, 1, (off_t)got) == 0;
}

// What nsbox reads of a stat(2), from out[at] on: mode, uid, size, mtime (s, ns), ino, dev.
void SetStat(Napi::Env env, Napi::Array out, uint32_t at, const struct stat& st) {
  const double v[] = {(double)st.st_mode,        (double)st.st_uid,          (double)st.st_size,
                      (double)st.st_mtim.tv_sec, (double)st.st_mtim.tv_nsec, (double)st.st_ino,
                      (double)st.st_dev};
  for (double d : v) out.Set(at++, Napi::Number::New(env, d));
}

// readLinkedSource(path): [source, mode, uid, size, mtimeSec, mtimeNsec, ino, dev] of a linked file, its
// text decoded as UTF-8 (as readFileSync(fd, 'utf8')); undefined if it cannot be opened or read.
Napi::Value ReadLinkedSource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  struct stat st;
  std::string data;
  if (!fd.valid() || fstat(fd.get(), &st) < 0 || !ReadWhole(fd.get(), st, &data)) return env.Undefined();
  // ASCII (the CLI's minified files) as a one-byte string, copied; anything else decoded as UTF-8.
  bool ascii = true;
  for (unsigned char c : data) ascii = ascii && c < 0x80;
  napi_value source;
  napi_status made = ascii ? napi_create_string_latin1(env, data.data(), data.size(), &source)
                           : napi_create_string_utf8(env, data.data(), data.size(), &source);
  if (made != napi_ok) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, 8);
  out.Set(0u, Napi::Value(env, source));
  SetStat(env, out, 1, st);
  return out;
}

// readLinkedCache(path, header, owner): [data, generation] of a code cache file that is a
// regular file owned by the caller's euid or by `owner` (the linked file's owner), writable by
// no one else, and starts with `header` followed by a decimal generation and a newline, with
// data after it; undefined otherwise (the loader then compiles without a cache).
Napi::Value ReadLinkedCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, header;
  uint32_t owner;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &header) || !ArgU32(info, 2, &owner))
    return env.Undefined();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  struct stat st;
  std::string data;
  if (!fd.valid() || fstat(fd.get(), &st) < 0) return env.Undefined();
  if ((st.st_uid != geteuid() && st.st_uid != owner) || (st.st_mode & 022) != 0) return env.Undefined();
  if (!ReadWhole(fd.get(), st, &data)) return env.Undefined();
  if (data.size() <= header.size() || data.compare(0, header.size(), header) != 0) return env.Undefined();
  size_t i = header.size();
  double generation = 0;
  size_t digits = 0;
  for (; i < data.size() && data[i] >= '0' && data[i] <= '9' && digits < 9; i++, digits++)
    generation = generation * 10 + (data[i] - '0');
  if (digits == 0 || i >= data.size() || data[i] != '\n' || i + 1 >= data.size()) return env.Undefined();
  i++;
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Buffer<char>::Copy(env, data.data() + i, data.size() - i));
  out.Set(1u, Napi::Number::New(env, generation));
  return out;
}

// readOwnedFile(path): the bytes of a regular file (not followed if a symlink) owned by the
// caller's euid and writable by no one else; undefined otherwise, or if it cannot be read.
Napi::Value ReadOwnedFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
  struct stat st;
  std::string data;
  if (!fd.valid() || fstat(fd.get(), &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0)
    return env.Undefined();
  if (!ReadWhole(fd.get(), st, &data)) return env.Undefined();
  return Napi::Buffer<char>::Copy(env, data.data(), data.size());
}

// statPath(path, follow): [mode, uid, size, mtimeSec, mtimeNsec, ino, dev] of stat(2) (follow)
// or lstat(2); undefined if the path does not exist (ENOENT, ENOTDIR, as lstatSync's
// throwIfNoEntry: false); SysError for any other failure.
Napi::Value StatPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  if (!info[1].IsBoolean()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE", "expected a boolean argument");
    return env.Undefined();
  }
  bool follow = info[1].As<Napi::Boolean>().Value();
  struct stat st;
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return env.Undefined();
    ThrowSys(env, errno, follow ? "stat" : "lstat", path.c_str());
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 7);
  SetStat(env, out, 0, st);
  return out;
}

}  // namespace

void InitStartupFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("readLinkedSource", Napi::Function::New(env, ReadLinkedSource, "readLinkedSource"));
  exports.Set("readLinkedCache", Napi::Function::New(env, ReadLinkedCache, "readLinkedCache"));
  exports.Set("readOwnedFile", Napi::Function::New(env, ReadOwnedFile, "readOwnedFile"));
  exports.Set("statPath", Napi::Function::New(env, StatPath, "statPath"));
}

}  // namespace nsbox
