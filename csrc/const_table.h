// The constants table's builder: kernel numbers from the headers written as one JSON text,
// which native.ts parses once. Setting 269 properties one by one through N-API took
// ~0.23 ms of every process's addon load; JSON.parse builds the same objects in a tenth of it.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace nsbox {

class ConstTable {
 public:
  void Set(const char* name, double v) {
    Key(name);
    char buf[32];
    // Every constant is an integer; %.0f writes one exactly up to 2^53, which all of them are below.
    std::snprintf(buf, sizeof buf, std::nearbyint(v) == v ? "%.0f" : "%.17g", v);
    s_ += buf;
  }
  void Set(uint32_t key, const char* text) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u", key);
    Key(buf);
    s_ += '"';
    s_ += text;  // syscall names: no quote or backslash
    s_ += '"';
  }
  void Set(const char* name, const ConstTable& sub) {
    Key(name);
    s_ += sub.Json();
  }
  std::string Json() const { return "{" + s_ + "}"; }

 private:
  void Key(const char* name) {
    if (!s_.empty()) s_ += ',';
    s_ += '"';
    s_ += name;
    s_ += "\":";
  }
  std::string s_;
};

}  // namespace nsbox
