/* SPDX-License-Identifier: MIT */
/*
 * The C side of bench/node_bench.js's wake-latency measurement: one way,
 * between two processes, as bench/wake_latency.cpp measures it.
 *
 *   node_wake_peer writer PING PONG ROUNDS GAP_US
 *       ROUNDS times: sleeps GAP_US (so that the waiter, which has just
 *       answered, is asleep in its wait by then), takes CLOCK_MONOTONIC and
 *       writes it (8 bytes, native order) to the value segment PING, then
 *       waits for the waiter's answer on PONG. Prints "done".
 *   node_wake_peer waiter PING PONG ROUNDS
 *       The C floor: ROUNDS times sharedmem_wait on PING, then
 *       sharedmem_read_versioned, then CLOCK_MONOTONIC: the sample is the
 *       difference with the stamp read. Answers by writing to PONG. Prints
 *       the samples in ns, one JSON array.
 *
 * Both segments must exist (the benchmark holds them) and be fresh (version
 * 0): each side counts from 0, whichever starts first. Every wait has a
 * 10 s timeout: a lost wake-up ends the run with an error, never a hang.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sharedmem/sharedmem.h"

static int64_t now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static sharedmem_segment* open_existing(const char* name) {
  sharedmem_segment* segment = NULL;
  sharedmem_error error = sharedmem_open(name, 0, SHAREDMEM_OPEN_ONLY, &segment);
  if (error != SHAREDMEM_OK) {
    fprintf(stderr, "node_wake_peer: open %s: %s\n", name, sharedmem_strerror(error));
    exit(1);
  }
  return segment;
}

static uint64_t wait_past(sharedmem_segment* segment, uint64_t seen) {
  uint64_t version = 0;
  sharedmem_error error = sharedmem_wait(segment, seen, 10000, &version);
  if (error != SHAREDMEM_OK) {
    fprintf(stderr, "node_wake_peer: wait: %s\n", sharedmem_strerror(error));
    exit(1);
  }
  return version;
}

int main(int argc, char** argv) {
  sharedmem_segment* ping;
  sharedmem_segment* pong;
  long rounds;
  long round;
  if (argc < 5 || (strcmp(argv[1], "writer") == 0 && argc != 6)) {
    fprintf(stderr, "usage: node_wake_peer writer PING PONG ROUNDS GAP_US | waiter PING PONG ROUNDS\n");
    return 2;
  }
  ping = open_existing(argv[2]);
  pong = open_existing(argv[3]);
  rounds = atol(argv[4]);
  if (strcmp(argv[1], "writer") == 0) {
    long gap_us = atol(argv[5]);
    uint64_t answered = 0;
    for (round = 0; round < rounds; ++round) {
      struct timespec gap;
      int64_t stamp;
      gap.tv_sec = gap_us / 1000000;
      gap.tv_nsec = (gap_us % 1000000) * 1000;
      nanosleep(&gap, NULL);
      stamp = now_ns();
      sharedmem_write(ping, &stamp, sizeof stamp);
      answered = wait_past(pong, answered);
    }
    printf("done\n");
  } else {
    uint64_t seen = 0;
    printf("[");
    for (round = 0; round < rounds; ++round) {
      int64_t stamp = 0;
      uint64_t size = 0;
      int64_t woken;
      wait_past(ping, seen);
      sharedmem_read_versioned(ping, &stamp, sizeof stamp, &size, &seen);
      woken = now_ns();
      sharedmem_write(pong, "a", 1);
      printf("%s%lld", round == 0 ? "" : ",", (long long)(woken - stamp));
    }
    printf("]\n");
  }
  sharedmem_close(ping);
  sharedmem_close(pong);
  return 0;
}
