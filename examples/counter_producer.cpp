// SPDX-License-Identifier: MIT
// Producer half of the versions-and-waiting example: writes a counter (an
// 8-byte value) into segment NAME every 100 ms. Run counter_consumer NAME in
// another terminal; it prints each value as it arrives, without polling.
//
//   counter_producer [--count N] [--interval-ms MS] [NAME]
//
// Without --count it runs until killed. NAME defaults to "counter".
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "sharedmem/sharedmem.hpp"

int main(int argc, char** argv) {
  std::uint64_t count = UINT64_MAX;
  long interval_ms = 100;
  std::string name = "counter";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc) {
      interval_ms = std::strtol(argv[++i], nullptr, 10);
    } else if (argv[i][0] != '-') {
      name = argv[i];
    } else {
      std::fprintf(stderr, "usage: %s [--count N] [--interval-ms MS] [NAME]\n", argv[0]);
      return 2;
    }
  }
  try {
    sharedmem::segment segment = sharedmem::segment::open(name, sizeof(std::uint64_t));
    for (std::uint64_t counter = 1; counter <= count; ++counter) {
      segment.write_value(counter);
      std::printf("wrote %llu\n", static_cast<unsigned long long>(counter));
      std::fflush(stdout);
      if (counter < count) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "counter_producer: %s\n", e.what());
    return 1;
  }
  return 0;
}
