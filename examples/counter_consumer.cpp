// SPDX-License-Identifier: MIT
// Consumer half of the versions-and-waiting example: prints each new counter
// value that counter_producer writes into segment NAME, as it arrives. It
// sleeps in sharedmem_wait between values: no polling, no missed write (a
// write between the read and the wait ends the wait at once).
//
//   counter_consumer [--until N] [NAME]
//
// Exits once it has printed a value of at least N (default: never).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "sharedmem/sharedmem.hpp"

int main(int argc, char** argv) {
  std::uint64_t until = UINT64_MAX;
  std::string name = "counter";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--until") == 0 && i + 1 < argc) {
      until = std::strtoull(argv[++i], nullptr, 10);
    } else if (argv[i][0] != '-') {
      name = argv[i];
    } else {
      std::fprintf(stderr, "usage: %s [--until N] [NAME]\n", argv[0]);
      return 2;
    }
  }
  try {
    // Holding the segment keeps it (and its values) alive between producers.
    sharedmem::segment segment = sharedmem::segment::open(name, sizeof(std::uint64_t));
    std::printf("waiting for values of '%s'\n", name.c_str());
    std::fflush(stdout);
    std::uint64_t seen = 0;  // version 0: nothing written yet
    for (;;) {
      seen = segment.wait(seen);  // sleeps until a write after `seen`
      std::uint64_t version = 0;
      const auto counter = segment.read_value<std::uint64_t>(&version);
      seen = version;  // later writes may have come meanwhile: this is the newest
      std::printf("counter %llu (version %llu)\n", static_cast<unsigned long long>(counter),
                  static_cast<unsigned long long>(version));
      std::fflush(stdout);
      if (counter >= until) return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "counter_consumer: %s\n", e.what());
    return 1;
  }
}
