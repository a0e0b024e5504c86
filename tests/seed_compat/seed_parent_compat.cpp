// SPDX-License-Identifier: MIT
// Binary compatibility with the seed: a parent written against the seed's
// own declaration of SetSharedMem (not sharedmem.h), linked against
// sharedmem's import library. It writes a string, starts the child program
// named on its command line and waits for it, keeping the memory alive.
//   usage: seed_parent_compat <child command line>
#include <windows.h>

#include <cstdio>

extern "C" VOID __cdecl SetSharedMem(LPWSTR lpszBuf);

int wmain(int argc, wchar_t** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_parent_compat <child command line>\n");
    return 2;
  }
  WCHAR text[] = L"This is a test string";
  SetSharedMem(text);
  std::printf("parent wrote to shared memory\n");
  std::fflush(stdout);

  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION child{};
  // Without an application name, CreateProcessW looks for the child in this
  // program's directory first, as the seed's parent does.
  if (!::CreateProcessW(nullptr, argv[1], nullptr, nullptr, TRUE, 0, nullptr, nullptr, &startup,
                        &child)) {
    std::fprintf(stderr, "CreateProcessW failed (%lu)\n", ::GetLastError());
    return 1;
  }
  ::CloseHandle(child.hThread);
  DWORD code = 1;
  // The seed waits forever; a test program gives up after two minutes.
  if (::WaitForSingleObject(child.hProcess, 120'000) == WAIT_OBJECT_0)
    ::GetExitCodeProcess(child.hProcess, &code);
  ::CloseHandle(child.hProcess);
  return static_cast<int>(code);
}
