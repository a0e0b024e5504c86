/* SPDX-License-Identifier: MIT */
/* A C99 consumer of the installed package through sharedmem_setget: Set, then
 * Get, on the default segment (named by SHAREDMEM_DEFAULT_SEGMENT, unique per
 * test run). */
#include <stdio.h>
#include <wchar.h>

#include <sharedmem/setget.h>

int main(void) {
  wchar_t buffer[16];
  const sharedmem_error status = sharedmem_default_status();
  if (status != SHAREDMEM_OK) {
    fprintf(stderr, "default segment: %s\n", sharedmem_strerror(status));
    return 1;
  }
  SetSharedMem(L"from C");
  GetSharedMem(buffer, sizeof buffer / sizeof buffer[0]);
  if (wcscmp(buffer, L"from C") != 0) {
    fprintf(stderr, "Set then Get did not round-trip\n");
    return 1;
  }
  printf("consumer_c ok (%s)\n", sharedmem_backend());
  return 0;
}
