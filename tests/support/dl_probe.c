/* SPDX-License-Identifier: MIT */
/* A C program that is not linked to sharedmem: it loads the libraries with
 * dlopen, calls them through dlsym, unloads them with dlclose and checks with
 * RTLD_NOLOAD that they are really gone. C, so that libstdc++ is not already
 * loaded: nothing but the libraries themselves can keep them in memory.
 *
 *   sharedmem_dl_probe core <libsharedmem> <segment name> <text>
 *     opens the named segment, writes <text>, reads it back, closes it and
 *     unloads the library. Prints "wrote:<value read back>", then "unloaded"
 *     or "still-loaded:<library>".
 *   sharedmem_dl_probe setget <libsharedmem_setget> <libsharedmem> <text>
 *     prints "initial:<GetSharedMem>", calls SetSharedMem(<text>), unloads
 *     the library, checks that both it and the core it loaded are gone
 *     ("unloaded" or "still-loaded:<library>"), loads it again and prints
 *     "reloaded:<GetSharedMem>".
 * Exits 0 when every call worked (whatever it printed), 1 on a load or call
 * failure (with "error:<why>"), 2 on bad usage. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "sharedmem/sharedmem.h"

#define TEXT_CHARS 1100

typedef void (*SetFn)(const wchar_t*);
typedef void (*GetFn)(wchar_t*, uint32_t);
typedef sharedmem_error (*OpenFn)(const char*, uint64_t, uint32_t, sharedmem_segment**);
typedef sharedmem_error (*WriteFn)(sharedmem_segment*, const void*, uint64_t);
typedef sharedmem_error (*ReadFn)(const sharedmem_segment*, void*, uint64_t, uint64_t*);
typedef void (*CloseFn)(sharedmem_segment*);

/* dlsym returns an object pointer; POSIX guarantees it converts to a function
 * pointer, which ISO C does not say: go through memcpy to stay pedantic. */
static void* lookup(void* library, const char* name, int* missing) {
  void* symbol = dlsym(library, name);
  if (symbol == NULL) *missing = 1;
  return symbol;
}

/* Prints "unloaded" when none of the paths is loaded any more. */
static void report_unloaded(const char* const* paths, int count) {
  int i;
  for (i = 0; i < count; ++i) {
    void* still = dlopen(paths[i], RTLD_NOW | RTLD_NOLOAD);
    if (still != NULL) {
      printf("still-loaded:%s\n", paths[i]);
      dlclose(still);
      return;
    }
  }
  printf("unloaded\n");
}

static int core_probe(const char* core, const char* name, const char* text) {
  void* library = dlopen(core, RTLD_NOW | RTLD_LOCAL);
  int missing = 0;
  void *open_symbol, *write_symbol, *read_symbol, *close_symbol;
  OpenFn open_fn;
  WriteFn write_fn;
  ReadFn read_fn;
  CloseFn close_fn;
  sharedmem_segment* segment = NULL;
  char buffer[256];
  uint64_t size = 0;
  const size_t length = strlen(text);
  if (library == NULL) {
    printf("error:%s\n", dlerror());
    return 1;
  }
  open_symbol = lookup(library, "sharedmem_open", &missing);
  write_symbol = lookup(library, "sharedmem_write", &missing);
  read_symbol = lookup(library, "sharedmem_read", &missing);
  close_symbol = lookup(library, "sharedmem_close", &missing);
  if (missing || length >= sizeof buffer) {
    printf("error:missing symbol or text too long\n");
    return 1;
  }
  memcpy(&open_fn, &open_symbol, sizeof open_fn);
  memcpy(&write_fn, &write_symbol, sizeof write_fn);
  memcpy(&read_fn, &read_symbol, sizeof read_fn);
  memcpy(&close_fn, &close_symbol, sizeof close_fn);
  if (open_fn(name, sizeof buffer, 0, &segment) != SHAREDMEM_OK ||
      write_fn(segment, text, length) != SHAREDMEM_OK ||
      read_fn(segment, buffer, sizeof buffer - 1, &size) != SHAREDMEM_OK || size >= sizeof buffer) {
    printf("error:open, write or read failed\n");
    return 1;
  }
  buffer[size] = '\0';
  printf("wrote:%s\n", buffer);
  close_fn(segment);
  dlclose(library);
  report_unloaded(&core, 1);
  return 0;
}

typedef struct SetGet {
  void* library;
  SetFn set;
  GetFn get;
} SetGet;

static int load_setget(const char* path, SetGet* out) {
  int missing = 0;
  void *set_symbol, *get_symbol;
  out->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (out->library == NULL) {
    printf("error:%s\n", dlerror());
    return 0;
  }
  set_symbol = lookup(out->library, "SetSharedMem", &missing);
  get_symbol = lookup(out->library, "GetSharedMem", &missing);
  if (missing) {
    printf("error:missing symbol\n");
    return 0;
  }
  memcpy(&out->set, &set_symbol, sizeof out->set);
  memcpy(&out->get, &get_symbol, sizeof out->get);
  return 1;
}

/* Prints prefix and the default segment's string, narrowed to ASCII. */
static void print_value(const SetGet* library, const char* prefix) {
  wchar_t buffer[TEXT_CHARS];
  const wchar_t* c;
  library->get(buffer, TEXT_CHARS);
  printf("%s", prefix);
  for (c = buffer; *c != L'\0'; ++c) putchar((char)*c);
  putchar('\n');
}

static int setget_probe(const char* setget, const char* core, const char* text) {
  const char* const both[2] = {setget, core};
  wchar_t wide[TEXT_CHARS];
  size_t i;
  SetGet library;
  for (i = 0; text[i] != '\0' && i + 1 < TEXT_CHARS; ++i) wide[i] = (wchar_t)text[i];
  wide[i] = L'\0';

  if (!load_setget(setget, &library)) return 1;
  print_value(&library, "initial:");
  library.set(wide);
  dlclose(library.library);
  report_unloaded(both, 2);

  if (!load_setget(setget, &library)) return 1;
  print_value(&library, "reloaded:");
  dlclose(library.library);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "core") == 0) return core_probe(argv[2], argv[3], argv[4]);
  if (argc == 5 && strcmp(argv[1], "setget") == 0) return setget_probe(argv[2], argv[3], argv[4]);
  fprintf(stderr,
          "usage: %s core <libsharedmem> <segment name> <text>\n"
          "       %s setget <libsharedmem_setget> <libsharedmem> <text>\n",
          argv[0], argv[0]);
  return 2;
}
