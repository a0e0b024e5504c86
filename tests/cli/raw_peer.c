/* SPDX-License-Identifier: MIT */
/* A C program on a raw segment that another process holds, for the
 * command's tests (tests/cli/cli_test.py): the producer or consumer that
 * `sharedmem watch`, `wait` and `notify` meet.
 *
 *   raw_peer notify NAME   calls sharedmem_notify once per line read from
 *                          stdin, printing "notified <version>" each time
 *   raw_peer wait NAME MS  prints "ready <version>", then waits up to MS
 *                          milliseconds for another version and prints
 *                          "changed <version>"
 *
 * Exit status: 0 done, 1 a library error (on stderr), 2 usage, 4 timeout. */
#include <sharedmem/sharedmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed(const char* what, sharedmem_error e) {
  fprintf(stderr, "raw_peer: %s: %s\n", what, sharedmem_strerror(e));
  return 1;
}

int main(int argc, char** argv) {
  sharedmem_segment* segment = NULL;
  sharedmem_error e;
  int status = 0;
  if (argc < 3 || (strcmp(argv[1], "notify") != 0 && strcmp(argv[1], "wait") != 0) ||
      (strcmp(argv[1], "wait") == 0 && argc != 4)) {
    fprintf(stderr, "usage: raw_peer notify NAME | raw_peer wait NAME MS\n");
    return 2;
  }
  e = sharedmem_open(argv[2], 0, SHAREDMEM_OPEN_ONLY | SHAREDMEM_RAW, &segment);
  if (e != SHAREDMEM_OK) return failed("open", e);
  if (strcmp(argv[1], "notify") == 0) {
    char line[256];
    while (status == 0 && fgets(line, sizeof line, stdin) != NULL) {
      uint64_t version = 0;
      e = sharedmem_notify(segment, &version);
      if (e != SHAREDMEM_OK) {
        status = failed("notify", e);
      } else {
        printf("notified %llu\n", (unsigned long long)version);
        fflush(stdout);
      }
    }
  } else {
    const uint64_t seen = sharedmem_version(segment);
    uint64_t version = seen;
    printf("ready %llu\n", (unsigned long long)seen);
    fflush(stdout);
    e = sharedmem_wait(segment, seen, (uint32_t)strtoul(argv[3], NULL, 10), &version);
    if (e == SHAREDMEM_E_TIMEOUT) {
      status = 4;
    } else if (e != SHAREDMEM_OK) {
      status = failed("wait", e);
    } else {
      printf("changed %llu\n", (unsigned long long)version);
      fflush(stdout);
    }
  }
  sharedmem_close(segment);
  return status;
}
