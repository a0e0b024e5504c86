/* SPDX-License-Identifier: MIT */
/* Prints the error table as the library reports it (sharedmem_error_name,
 * sharedmem_strerror), as the Markdown table that README.md carries between
 * its errors markers: tests/check_error_table.cmake compares the two. Walks
 * the codes from 0 until the library names one UNKNOWN. */
#include <stdio.h>
#include <string.h>

#include <sharedmem/sharedmem.h>

int main(void) {
  int code;
  printf("| value | code | message |\n|---|---|---|\n");
  for (code = 0;; ++code) {
    const char* name = sharedmem_error_name((sharedmem_error)code);
    if (strcmp(name, "UNKNOWN") == 0) break;
    printf("| %d | `SHAREDMEM_%s%s` | %s |\n", code, code == 0 ? "" : "E_", name,
           sharedmem_strerror((sharedmem_error)code));
  }
  return 0;
}
