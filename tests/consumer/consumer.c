/* SPDX-License-Identifier: MIT */
/* A C99 consumer of the installed package: round-trips a value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharedmem/sharedmem.h>

int main(void) {
  sharedmem_segment* segment = NULL;
  char buffer[16];
  uint64_t size = 0;
  char name[SHAREDMEM_MAX_NAME_LENGTH + 1];
  const char* base = getenv("SHAREDMEM_DEFAULT_SEGMENT"); /* unique per test run */
  sharedmem_error e;
  snprintf(name, sizeof name, "%s_c", base ? base : "consumer");
  e = sharedmem_open(name, 16, 0, &segment);
  if (e != SHAREDMEM_OK) {
    fprintf(stderr, "open: %s\n", sharedmem_strerror(e));
    return 1;
  }
  if (sharedmem_write(segment, "from C", 6) != SHAREDMEM_OK ||
      sharedmem_read(segment, buffer, sizeof buffer, &size) != SHAREDMEM_OK || size != 6 ||
      memcmp(buffer, "from C", 6) != 0) {
    fprintf(stderr, "round trip failed\n");
    return 1;
  }
  sharedmem_close(segment);
  SetSharedMem(L"seed");
  printf("consumer_c ok (%s)\n", sharedmem_backend());
  return 0;
}
