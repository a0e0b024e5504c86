/* SPDX-License-Identifier: MIT */
/* A C consumer that includes only <sharedmem/sharedmem.h> and links only
 * the core library: prints "<header version> <library version>" (the
 * compiled-in SHAREDMEM_VERSION_STRING and sharedmem_library_version_string())
 * and fails unless they, and the numeric forms, agree. run_consumer.cmake
 * compares the line with the package's version. */
#include <stdio.h>
#include <string.h>

#include <sharedmem/sharedmem.h>

int main(void) {
  const char* library = sharedmem_library_version_string();
  const unsigned expected_hex = ((unsigned)SHAREDMEM_VERSION_MAJOR << 16) |
                                ((unsigned)SHAREDMEM_VERSION_MINOR << 8) |
                                (unsigned)SHAREDMEM_VERSION_PATCH;
  printf("%s %s\n", SHAREDMEM_VERSION_STRING, library);
  if (strcmp(library, SHAREDMEM_VERSION_STRING) != 0) {
    fprintf(stderr, "the library is %s, the header %s\n", library, SHAREDMEM_VERSION_STRING);
    return 1;
  }
  if (SHAREDMEM_VERSION_HEX != expected_hex || sharedmem_library_version() != expected_hex) {
    fprintf(stderr, "hex versions differ: header 0x%x, library 0x%x, expected 0x%x\n",
            (unsigned)SHAREDMEM_VERSION_HEX, sharedmem_library_version(), expected_hex);
    return 1;
  }
  return 0;
}
