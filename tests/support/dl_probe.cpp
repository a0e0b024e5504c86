// SPDX-License-Identifier: MIT
// A program that is not linked to sharedmem: it loads the library with
// dlopen, uses the seed API through dlsym, unloads it with dlclose, checks
// with RTLD_NOLOAD that it is really gone, and loads it again.
//   usage: sharedmem_dl_probe <library> <text>
// Prints: "initial:<value>", "unloaded" or "still-loaded", "reloaded:<value>".
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

using SetFn = void (*)(const wchar_t*);
using GetFn = void (*)(wchar_t*, std::uint32_t);

struct Library {
  void* handle = nullptr;
  SetFn set = nullptr;
  GetFn get = nullptr;

  explicit Library(const char* path) : handle(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    if (handle == nullptr) return;
    set = reinterpret_cast<SetFn>(dlsym(handle, "SetSharedMem"));
    get = reinterpret_cast<GetFn>(dlsym(handle, "GetSharedMem"));
  }
  bool ok() const { return handle && set && get; }
  std::string value() const {
    wchar_t buffer[1100];
    get(buffer, 1100);
    std::string out;
    for (const wchar_t* c = buffer; *c; ++c) out.push_back(static_cast<char>(*c));
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <library> <text>\n", argv[0]);
    return 2;
  }
  const std::string text = argv[2];
  {
    Library first(argv[1]);
    if (!first.ok()) {
      std::printf("error:%s\n", dlerror());
      return 1;
    }
    std::printf("initial:%s\n", first.value().c_str());
    first.set(std::wstring(text.begin(), text.end()).c_str());
    dlclose(first.handle);
  }
  void* still = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
  std::printf("%s\n", still ? "still-loaded" : "unloaded");
  if (still) dlclose(still);
  Library again(argv[1]);
  if (!again.ok()) {
    std::printf("error:%s\n", dlerror());
    return 1;
  }
  std::printf("reloaded:%s\n", again.value().c_str());
  dlclose(again.handle);
  return 0;
}
