// SPDX-License-Identifier: MIT
// A C++17 consumer of the installed package: the header-only layer.
#include <cstdio>
#include <cstdlib>
#include <sharedmem/sharedmem.hpp>
#include <string>

int main() {
  try {
    const char* base = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");  // unique per test run
    auto segment = sharedmem::segment::open(std::string(base ? base : "consumer") + "_cpp", 64);
    segment.write("from C++");
    if (segment.read() != "from C++") return 1;
    std::printf("consumer_cpp ok\n");
    return 0;
  } catch (const sharedmem::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
