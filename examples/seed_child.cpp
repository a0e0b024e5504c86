// SPDX-License-Identifier: MIT
// The seed's child process: reads the default shared segment and prints it.
#include <cstdio>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

int main() {
  if (sharedmem_error status = sharedmem_default_status()) {
    std::fprintf(stderr, "shared memory unavailable: %s\n", sharedmem_strerror(status));
    return 1;
  }
  wchar_t text[260];  // MAX_PATH, as in the seed
  GetSharedMem(text, sizeof text / sizeof text[0]);
  std::printf("Child process read from shared memory: %ls\n", text);
  return 0;
}
