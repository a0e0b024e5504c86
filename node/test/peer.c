/* SPDX-License-Identifier: MIT */
/*
 * The C side of the Node tests: a process that opens one segment through the
 * C API and then obeys one command per line on stdin, answering one line on
 * stdout for each, so that the tests synchronise on its answers, never on
 * time. End of input closes the segment and exits 0; a failure prints
 * "error <code> <message>" and goes on.
 *
 *   peer value NAME CAPACITY      opens a value segment; answers "ready <created>"
 *   peer raw NAME CAPACITY        opens a raw segment; answers "ready <created>"
 *
 * Commands (value):  write TEXT    -> "wrote <version>"
 *                    read          -> "value <version> <text>"
 *                    wait SEEN MS  -> "waited <version>" or "error ..."
 * Commands (raw):    fill BYTE [MS] -> lock (waiting MS ms, default 10000), set every
 *                                   byte, unlock, notify: "filled <version>"
 *                    check BYTE    -> "same" or "differs <offset> <byte>"
 *                    lock          -> takes the lock and keeps it: "locked" (or "locked owner-died")
 *                    unlock        -> "unlocked"
 *                    wait SEEN MS  -> as for values
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharedmem/sharedmem.h"

static void answer_error(sharedmem_error error) {
  printf("error %d %s\n", (int)error, sharedmem_strerror(error));
}

int main(int argc, char** argv) {
  char line[70000];
  sharedmem_segment* segment = NULL;
  sharedmem_error error;
  int raw;
  if (argc != 4 || (strcmp(argv[1], "value") != 0 && strcmp(argv[1], "raw") != 0)) {
    fprintf(stderr, "usage: peer value|raw NAME CAPACITY\n");
    return 2;
  }
  raw = strcmp(argv[1], "raw") == 0;
  setvbuf(stdout, NULL, _IONBF, 0);
  error = sharedmem_open(argv[2], strtoull(argv[3], NULL, 10), raw ? SHAREDMEM_RAW : 0u, &segment);
  if (error != SHAREDMEM_OK) {
    answer_error(error);
    return 1;
  }
  printf("ready %d\n", sharedmem_created(segment));
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t length = strlen(line);
    if (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
    if (strncmp(line, "write ", 6) == 0) {
      error = sharedmem_write(segment, line + 6, length - 6);
      if (error == SHAREDMEM_OK) {
        printf("wrote %llu\n", (unsigned long long)sharedmem_version(segment));
      } else {
        answer_error(error);
      }
    } else if (strcmp(line, "read") == 0) {
      static char value[65536];
      uint64_t size = 0;
      uint64_t version = 0;
      error = sharedmem_read_versioned(segment, value, sizeof value - 1, &size, &version);
      if (error == SHAREDMEM_OK) {
        value[size < sizeof value - 1 ? size : sizeof value - 1] = '\0';
        printf("value %llu %s\n", (unsigned long long)version, value);
      } else {
        answer_error(error);
      }
    } else if (strncmp(line, "wait ", 5) == 0) {
      char* rest = NULL;
      uint64_t seen = strtoull(line + 5, &rest, 10);
      uint32_t timeout = (uint32_t)strtoul(rest, NULL, 10);
      uint64_t version = 0;
      error = sharedmem_wait(segment, seen, timeout, &version);
      if (error == SHAREDMEM_OK) {
        printf("waited %llu\n", (unsigned long long)version);
      } else {
        answer_error(error);
      }
    } else if (raw && strncmp(line, "fill ", 5) == 0) {
      char* rest = NULL;
      int byte = (int)strtol(line + 5, &rest, 10);
      uint32_t timeout = *rest != '\0' ? (uint32_t)strtoul(rest, NULL, 10) : 10000u;
      uint64_t version = 0;
      error = sharedmem_lock(segment, timeout);
      if (error != SHAREDMEM_OK && error != SHAREDMEM_E_OWNER_DIED) {
        answer_error(error);
        continue;
      }
      memset(sharedmem_data(segment), byte, (size_t)sharedmem_capacity(segment));
      sharedmem_unlock(segment);
      sharedmem_notify(segment, &version);
      printf("filled %llu\n", (unsigned long long)version);
    } else if (raw && strncmp(line, "check ", 6) == 0) {
      int byte = atoi(line + 6);
      const unsigned char* data = (const unsigned char*)sharedmem_data(segment);
      uint64_t capacity = sharedmem_capacity(segment);
      uint64_t offset = 0;
      while (offset < capacity && data[offset] == (unsigned char)byte) ++offset;
      if (offset == capacity) {
        printf("same\n");
      } else {
        printf("differs %llu %d\n", (unsigned long long)offset, data[offset]);
      }
    } else if (raw && strcmp(line, "lock") == 0) {
      error = sharedmem_lock(segment, 10000);
      if (error == SHAREDMEM_OK) {
        printf("locked\n");
      } else if (error == SHAREDMEM_E_OWNER_DIED) {
        printf("locked owner-died\n");
      } else {
        answer_error(error);
      }
    } else if (raw && strcmp(line, "unlock") == 0) {
      error = sharedmem_unlock(segment);
      if (error == SHAREDMEM_OK) {
        printf("unlocked\n");
      } else {
        answer_error(error);
      }
    } else {
      printf("error 1 unknown command: %s\n", line);
    }
  }
  sharedmem_close(segment);
  return 0;
}
