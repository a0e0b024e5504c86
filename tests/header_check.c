/* SPDX-License-Identifier: MIT */
/* Compiled (never run) in strict C99 with every warning an error: the public
 * header must stay warning-free for its users, SHAREDMEM_INFO_INIT included
 * (a plain {sizeof info} warns under -Wextra). */
#include <sharedmem/sharedmem.h>

int sharedmem_header_check(const char* name);

int sharedmem_header_check(const char* name) {
  sharedmem_info info = SHAREDMEM_INFO_INIT;
  return (int)sharedmem_inspect(name, 0, &info) + (int)info.struct_size;
}
