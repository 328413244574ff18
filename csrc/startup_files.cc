// The files a short-lived nsbox process reads at start-up, read natively: the linked bins'
// loader's (src/oci/runtime/linked.ts: a linked file's source and its V8 code cache), the
// compiled seccomp filters' store (src/oci/runtime/seccomp-cache.ts), the lookups of a
// container's host paths (stat, readlink) and the host files a spawn reads as text. Through node:fs each
// first use of an API is a cold path of Node's own (a Stats object's first construction ~0.15 ms, a Buffer
// read ~0.25 ms): together ~1.5 ms of every `nsbox run` and nsbox-oci call; here each is a few syscalls and
// one copy. The readers throw nothing on a failure of the file (the loader then reads it through node:fs,
// which reports the error as Node does; the store compiles again).
#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "fd.h"

namespace nsbox {
namespace {

// Neither file is larger than a few MB; a bound keeps a wrong path from reading a huge file.
constexpr off_t kMaxLinkedFile = 64 << 20;

// pread(2) of exactly `len` bytes at `at`, again after EINTR or a short read; false at EOF or an error.
bool PreadAll(int fd, char* p, size_t len, off_t at) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, p + got, len - got, at + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += (size_t)n;
  }
  return true;
}

// Reads exactly st.st_size bytes of a regular file; false if it changed size meanwhile.
bool ReadWhole(int fd, const struct stat& st, std::string* out) {
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxLinkedFile) return false;
  out->resize((size_t)st.st_size);
  char extra;
  return PreadAll(fd, out->data(), out->size(), 0) && pread(fd, &extra, 1, (off_t)out->size()) == 0;
}

// What nsbox reads of a stat(2), from out[at] on: mode, uid, size, mtime (s, ns), ino, dev.
void SetStat(Napi::Env env, Napi::Array out, uint32_t at, const struct stat& st) {
  const double v[] = {(double)st.st_mode,        (double)st.st_uid,          (double)st.st_size,
                      (double)st.st_mtim.tv_sec, (double)st.st_mtim.tv_nsec, (double)st.st_ino,
                      (double)st.st_dev};
  for (double d : v) out.Set(at++, Napi::Number::New(env, d));
}

// Scratch memory for a whole file: an anonymous private mapping whose pages are populated by
// mmap itself, unmapped at the end of the scope. data is null if it could not be had.
struct AnonBuffer {
  explicit AnonBuffer(size_t n) : len(n == 0 ? 1 : n) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    data = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  ~AnonBuffer() {
    if (data) munmap(data, len);
  }
  AnonBuffer(const AnonBuffer&) = delete;
  AnonBuffer& operator=(const AnonBuffer&) = delete;
  size_t len;
  char* data;
};

// node_api_create_external_string_latin1 (Node 20.4: experimental, so not in the headers a
// NAPI_VERSION 9 build sees; stable since Node 22.14), looked up in the running node: null where
// it is missing. Its signature is the documented one.
using ExternalLatin1Fn = napi_status (*)(napi_env, char*, size_t, napi_finalize, void*, napi_value*, bool*);
ExternalLatin1Fn CreateExternalLatin1() {
  static ExternalLatin1Fn fn =
      reinterpret_cast<ExternalLatin1Fn>(dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1"));
  return fn;
}

// The finalizer of readLinkedSource's external string: `hint` is its mapping's length.
void UnmapSource(napi_env, void* data, void* hint) {
  munmap(data, reinterpret_cast<size_t>(hint));
}

// readLinkedSource(path): [source, mode, uid, size, mtimeSec, mtimeNsec, ino, dev] of a linked file, its
// text decoded as UTF-8 (as readFileSync(fd, 'utf8')); undefined if it cannot be opened or read.
Napi::Value ReadLinkedSource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxLinkedFile)
    return env.Undefined();
  // Read into anonymous memory populated in one call (a std::string would zero its 0.16 MB,
  // and new[]'s pages were faulted in one by one as the read filled them: 0.4 ms here), then
  // checked to be all of the file.
  size_t size = (size_t)st.st_size;
  AnonBuffer buf(size);
  char extra;
  if (!buf.data || !PreadAll(fd.get(), buf.data, size, 0) || pread(fd.get(), &extra, 1, (off_t)size) != 0)
    return env.Undefined();
  const char* data = buf.data;
  // ASCII (the CLI's minified files) as a one-byte string; anything else decoded as UTF-8.
  // Eight bytes at a time.
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    memcpy(&w, data + i, 8);
    high |= w;
  }
  for (; i < size; i++) high |= (unsigned char)data[i];
  bool ascii = (high & 0x8080808080808080ULL) == 0;
  // ASCII: an external string over the buffer itself, which V8 then owns (unmapped when the
  // string is collected): its copy into V8's large-object space cost 0.8 ms here, fresh pages
  // again. Where the runtime lacks the call, or V8 copied after all, a copy as before.
  napi_value source = nullptr;
  if (ascii && CreateExternalLatin1() != nullptr) {
    bool copied = false;
    if (CreateExternalLatin1()(env, buf.data, size, UnmapSource, reinterpret_cast<void*>(buf.len), &source,
                               &copied) == napi_ok)
      buf.data = nullptr;  // V8's now; if it copied, the finalizer has already unmapped it
    else
      source = nullptr;
  }
  if (source == nullptr && (ascii ? napi_create_string_latin1(env, data, size, &source)
                                  : napi_create_string_utf8(env, data, size, &source)) != napi_ok)
    return env.Undefined();
  Napi::Array out = Napi::Array::New(env, 8);
  out.Set(0u, Napi::Value(env, source));
  SetStat(env, out, 1, st);
  return out;
}

// The finalizer of readLinkedCache's external Buffer: its data starts within the mapping's
// first page (after the header line), `hint` is the mapping's length.
void UnmapCache(napi_env, void* data, void* hint) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  munmap(reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(data) & ~(page - 1)),
         reinterpret_cast<size_t>(hint));
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
  if (!fd.valid() || fstat(fd.get(), &st) < 0) return env.Undefined();
  if ((st.st_uid != geteuid() && st.st_uid != owner) || (st.st_mode & 022) != 0) return env.Undefined();
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxLinkedFile) return env.Undefined();
  size_t size = (size_t)st.st_size;
  // The header and its generation line first; the data after them is mapped, not read (below).
  char head[512];
  size_t want = header.size() + 27;  // up to 9 digits, 16 spaces, the newline and a byte after
  if (want > sizeof head || want > size) want = size < sizeof head ? size : sizeof head;
  if (!PreadAll(fd.get(), head, want, 0)) return env.Undefined();
  if (want <= header.size() || header.compare(0, header.size(), head, header.size()) != 0)
    return env.Undefined();
  size_t i = header.size();
  double generation = 0;
  size_t digits = 0;
  for (; i < want && head[i] >= '0' && head[i] <= '9' && digits < 9; i++, digits++)
    generation = generation * 10 + (head[i] - '0');
  // Spaces pad the line so that the data starts 16-byte aligned (linked.ts writeCache).
  for (size_t pad = 0; i < want && head[i] == ' ' && pad < 16; i++, pad++) {
  }
  if (digits == 0 || i >= want || head[i] != '\n' || i + 1 >= size) return env.Undefined();
  i++;
  // The data as the page cache holds it: a read-only private mapping, populated in one call,
  // handed to V8 as an external Buffer (unmapped when collected). A copy into a new Buffer
  // faulted in ~55 fresh pages, 0.5 ms of each start here; the loader only hands it to
  // vm.Script, which reads it once. Read-only: nothing may write to it (the loader does not).
  // The cache is replaced by rename, never rewritten in place (linked.ts writeCache), so the
  // mapping does not shrink under a reader. Where V8 refuses external buffers: a copy.
  napi_value data = nullptr;
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (map != MAP_FAILED && napi_create_external_buffer(env, size - i, static_cast<char*>(map) + i, UnmapCache,
                                                       reinterpret_cast<void*>(size), &data) != napi_ok) {
    munmap(map, size);
    data = nullptr;
  }
  if (data == nullptr) {
    Napi::Buffer<char> copy = Napi::Buffer<char>::New(env, size - i);
    char extra;
    if (!PreadAll(fd.get(), copy.Data(), size - i, (off_t)i) || pread(fd.get(), &extra, 1, (off_t)size) != 0)
      return env.Undefined();  // short, or it grew meanwhile
    data = copy;
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Value(env, data));
  out.Set(1u, Napi::Number::New(env, generation));
  return out;
}

// readSeccompEntry(path, key): an entry of the compiled seccomp filters' store
// (src/oci/runtime/seccomp-cache.ts: a JSON line, the key's UTF-8 bytes, a newline, the
// program) as [meta, keyBytes, program], if the file is regular (not followed if a symlink),
// owned by the caller's euid (or `owner`, a third argument), writable by no one else, and holds exactly `key`
// after its first line; undefined otherwise, or if it cannot be read. `meta` is the first line as text,
// `program` a copy of the bytes after the key.
Napi::Value ReadSeccompEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, key;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &key)) return env.Undefined();
  uid_t owner = geteuid();
  if (info.Length() > 2 && info[2].IsNumber()) owner = (uid_t)info[2].As<Napi::Number>().Uint32Value();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
  struct stat st;
  std::string data;
  if (!fd.valid() || fstat(fd.get(), &st) < 0 || (st.st_uid != geteuid() && st.st_uid != owner) ||
      (st.st_mode & 022) != 0)
    return env.Undefined();
  if (!ReadWhole(fd.get(), st, &data)) return env.Undefined();
  size_t nl = data.find('\n');
  if (nl == std::string::npos) return env.Undefined();
  size_t at = nl + 1;
  if (data.size() < at + key.size() + 1 || data.compare(at, key.size(), key) != 0 ||
      data[at + key.size()] != '\n')
    return env.Undefined();
  size_t program = at + key.size() + 1;
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::String::New(env, data.data(), nl));
  out.Set(1u, Napi::Number::New(env, (double)key.size()));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, data.size() - program);
  if (data.size() > program) memcpy(ab.Data(), data.data() + program, data.size() - program);
  out.Set(2u, Napi::Uint8Array::New(env, data.size() - program, ab, 0));
  return out;
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

// A host file the spawn path reads as text (/proc/sys/kernel/cap_last_cap, /etc/subuid,
// /etc/subgid, /etc/resolv.conf): no larger than this.
constexpr size_t kMaxTextFile = 16 << 20;

// readTextFile(path): the whole file as UTF-8 text, read to EOF (so /proc files, whose size
// stat(2) gives as 0, read whole), as readFileSync(path, 'utf8'); SysError (open/read, with
// the path; EFBIG past 16 MiB) on a failure.
Napi::Value ReadTextFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    ThrowSys(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ThrowSys(env, errno, "read", path.c_str());
      return env.Undefined();
    }
    if (n == 0) break;
    if (data.size() + (size_t)n > kMaxTextFile) {
      ThrowSys(env, EFBIG, "read", path.c_str());
      return env.Undefined();
    }
    data.append(buf, (size_t)n);
  }
  return Napi::String::New(env, data.data(), data.size());
}

// readLink(path): readlink(2) as a string (readlinkSync(path)); SysError (readlink) on a failure.
Napi::Value ReadLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) {
    ThrowSys(env, errno, "readlink", path.c_str());
    return env.Undefined();
  }
  if ((size_t)n == sizeof buf) {
    ThrowSys(env, ENAMETOOLONG, "readlink", path.c_str());
    return env.Undefined();
  }
  return Napi::String::New(env, buf, (size_t)n);
}

}  // namespace

void InitStartupFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("readLinkedSource", Napi::Function::New(env, ReadLinkedSource, "readLinkedSource"));
  exports.Set("readLinkedCache", Napi::Function::New(env, ReadLinkedCache, "readLinkedCache"));
  exports.Set("readSeccompEntry", Napi::Function::New(env, ReadSeccompEntry, "readSeccompEntry"));
  exports.Set("statPath", Napi::Function::New(env, StatPath, "statPath"));
  exports.Set("readTextFile", Napi::Function::New(env, ReadTextFile, "readTextFile"));
  exports.Set("readLink", Napi::Function::New(env, ReadLink, "readLink"));
}

}  // namespace nsbox
