// SPDX-License-Identifier: MIT
// Binary compatibility with the seed: a child written against the seed's own
// declaration of GetSharedMem (not sharedmem.h), linked against sharedmem's
// import library. Prints what it reads from the shared memory.
#include <windows.h>

#include <cstdio>

extern "C" VOID __cdecl GetSharedMem(LPWSTR lpszBuf, DWORD cchSize);

int wmain() {
  WCHAR buffer[MAX_PATH];
  GetSharedMem(buffer, MAX_PATH);
  std::printf("Child process read from shared memory: [%ls]\n", buffer);
  return 0;
}
