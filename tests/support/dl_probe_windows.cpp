// SPDX-License-Identifier: MIT
// A program that is not linked to sharedmem: it loads the DLLs with
// LoadLibraryW, calls them through GetProcAddress, unloads them with
// FreeLibrary and checks with GetModuleHandleW that they are really gone. The
// Windows counterpart of dl_probe.c, with the same usage and output:
//   sharedmem_dl_probe core <sharedmem.dll> <segment name> <text>
//     prints "wrote:<value read back>", then "unloaded" or "still-loaded:<dll>".
//   sharedmem_dl_probe setget <sharedmem_setget.dll> <sharedmem.dll> <text>
//     prints "initial:<GetSharedMem>", calls SetSharedMem(<text>), unloads the
//     DLL, checks that both it and the core it loaded are gone ("unloaded" or
//     "still-loaded:<dll>"), loads it again and prints "reloaded:<GetSharedMem>".
#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "sharedmem/sharedmem.h"

namespace {

// The seed's own declarations, as a program that loads the DLL would use them.
using SetFn = VOID(__cdecl*)(LPWSTR);
using GetFn = VOID(__cdecl*)(LPWSTR, DWORD);

template <typename F>
F lookup(HMODULE module, const char* name) {
  return reinterpret_cast<F>(reinterpret_cast<void*>(::GetProcAddress(module, name)));
}

std::string narrow(const std::wstring& text) { return std::string(text.begin(), text.end()); }

// Prints "unloaded" when none of the DLLs is loaded any more.
void report_unloaded(std::initializer_list<std::wstring> paths) {
  for (const std::wstring& path : paths) {
    if (::GetModuleHandleW(path.c_str()) != nullptr) {
      std::printf("still-loaded:%s\n", narrow(path).c_str());
      return;
    }
  }
  std::printf("unloaded\n");
}

int core_probe(const std::wstring& core, const std::wstring& name, const std::wstring& text) {
  HMODULE module = ::LoadLibraryW(core.c_str());
  if (module == nullptr) {
    std::printf("error:LoadLibraryW failed (%lu)\n", ::GetLastError());
    return 1;
  }
  const auto open_fn = lookup<decltype(&sharedmem_open)>(module, "sharedmem_open");
  const auto write_fn = lookup<decltype(&sharedmem_write)>(module, "sharedmem_write");
  const auto read_fn = lookup<decltype(&sharedmem_read)>(module, "sharedmem_read");
  const auto close_fn = lookup<decltype(&sharedmem_close)>(module, "sharedmem_close");
  const std::string value = narrow(text);
  std::string buffer(256, '\0');
  std::uint64_t size = 0;
  sharedmem_segment* segment = nullptr;
  if (!open_fn || !write_fn || !read_fn || !close_fn ||
      open_fn(narrow(name).c_str(), buffer.size(), 0, &segment) != SHAREDMEM_OK ||
      write_fn(segment, value.data(), value.size()) != SHAREDMEM_OK ||
      read_fn(segment, buffer.data(), buffer.size(), &size) != SHAREDMEM_OK || size > buffer.size()) {
    std::printf("error:lookup, open, write or read failed\n");
    return 1;
  }
  buffer.resize(static_cast<std::size_t>(size));
  std::printf("wrote:%s\n", buffer.c_str());
  close_fn(segment);
  ::FreeLibrary(module);
  report_unloaded({core});
  return 0;
}

struct SetGet {
  HMODULE module = nullptr;
  SetFn set = nullptr;
  GetFn get = nullptr;

  explicit SetGet(const std::wstring& path) : module(::LoadLibraryW(path.c_str())) {
    if (module == nullptr) return;
    set = lookup<SetFn>(module, "SetSharedMem");
    get = lookup<GetFn>(module, "GetSharedMem");
  }
  bool ok() const { return module && set && get; }
  std::string value() const {
    WCHAR buffer[2100];
    get(buffer, 2100);
    return narrow(buffer);
  }
};

int setget_probe(const std::wstring& setget, const std::wstring& core, std::wstring text) {
  {
    SetGet first(setget);
    if (!first.ok()) {
      std::printf("error:LoadLibraryW failed (%lu)\n", ::GetLastError());
      return 1;
    }
    std::printf("initial:%s\n", first.value().c_str());
    first.set(text.data());
    ::FreeLibrary(first.module);
  }
  report_unloaded({setget, core});
  SetGet again(setget);
  if (!again.ok()) {
    std::printf("error:LoadLibraryW failed (%lu)\n", ::GetLastError());
    return 1;
  }
  std::printf("reloaded:%s\n", again.value().c_str());
  ::FreeLibrary(again.module);
  return 0;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc == 5 && std::wstring(argv[1]) == L"core") return core_probe(argv[2], argv[3], argv[4]);
  if (argc == 5 && std::wstring(argv[1]) == L"setget")
    return setget_probe(argv[2], argv[3], argv[4]);
  std::fprintf(stderr,
               "usage: sharedmem_dl_probe core <sharedmem.dll> <segment name> <text>\n"
               "       sharedmem_dl_probe setget <sharedmem_setget.dll> <sharedmem.dll> <text>\n");
  return 2;
}
