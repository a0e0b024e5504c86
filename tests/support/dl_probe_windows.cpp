// SPDX-License-Identifier: MIT
// A program that is not linked to sharedmem: it loads the DLL with
// LoadLibraryW, uses the seed API through GetProcAddress, unloads it with
// FreeLibrary, checks with GetModuleHandleW that it is really gone, and loads
// it again. The Windows counterpart of dl_probe.cpp, with the same output.
//   usage: sharedmem_dl_probe <dll> <text>
// Prints: "initial:<value>", "unloaded" or "still-loaded", "reloaded:<value>".
#include <windows.h>

#include <cstdio>
#include <string>

namespace {

// The seed's own declarations, as a program that loads the DLL would use them.
using SetFn = VOID(__cdecl*)(LPWSTR);
using GetFn = VOID(__cdecl*)(LPWSTR, DWORD);

template <typename F>
F lookup(HMODULE module, const char* name) {
  return reinterpret_cast<F>(reinterpret_cast<void*>(::GetProcAddress(module, name)));
}

struct Library {
  HMODULE module = nullptr;
  SetFn set = nullptr;
  GetFn get = nullptr;

  explicit Library(const std::wstring& path) : module(::LoadLibraryW(path.c_str())) {
    if (module == nullptr) return;
    set = lookup<SetFn>(module, "SetSharedMem");
    get = lookup<GetFn>(module, "GetSharedMem");
  }
  bool ok() const { return module && set && get; }
  std::string value() const {
    WCHAR buffer[2100];
    get(buffer, 2100);
    std::string out;
    for (const WCHAR* c = buffer; *c; ++c) out.push_back(static_cast<char>(*c));
    return out;
  }
};

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: sharedmem_dl_probe <dll> <text>\n");
    return 2;
  }
  const std::wstring path = argv[1];
  std::wstring text = argv[2];
  {
    Library first(path);
    if (!first.ok()) {
      std::printf("error:LoadLibraryW failed (%lu)\n", ::GetLastError());
      return 1;
    }
    std::printf("initial:%s\n", first.value().c_str());
    first.set(text.data());
    ::FreeLibrary(first.module);
  }
  std::printf("%s\n", ::GetModuleHandleW(path.c_str()) ? "still-loaded" : "unloaded");
  Library again(path);
  if (!again.ok()) {
    std::printf("error:LoadLibraryW failed (%lu)\n", ::GetLastError());
    return 1;
  }
  std::printf("reloaded:%s\n", again.value().c_str());
  ::FreeLibrary(again.module);
  return 0;
}
