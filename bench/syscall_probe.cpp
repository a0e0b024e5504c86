// SPDX-License-Identifier: MIT
// Makes N calls of one operation after the same setup, so that counting the
// system calls of a run (strace -f -c) with N calls and with none gives the
// system calls per call. bench/report.py runs it; usage:
//   sharedmem_syscall_probe {none|set|get|write|read|open_close} N
// SHAREDMEM_DEFAULT_SEGMENT must name a private default segment.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

int main(int argc, char** argv) {
  const char* segment_name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  if (argc != 3 || segment_name == nullptr || *segment_name == '\0') {
    std::fprintf(stderr,
                 "usage: SHAREDMEM_DEFAULT_SEGMENT=name %s {none|set|get|write|read|open_close} N\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const long calls = std::strtol(argv[2], nullptr, 10);
  if (sharedmem_default_status() != SHAREDMEM_OK) return 3;

  const std::string name = "sharedmem_probe." + std::to_string(::getpid());
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(name.c_str(), 4096, 0, &segment) != SHAREDMEM_OK) return 3;
  std::vector<unsigned char> bytes(4096, 1);
  std::vector<wchar_t> text(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1, L'x');
  text.back() = L'\0';
  std::vector<wchar_t> out(text.size());
  sharedmem_write(segment, bytes.data(), bytes.size());
  SetSharedMem(text.data());

  unsigned long long check = 0;
  for (long i = 0; i < calls; ++i) {
    if (mode == "set") {
      SetSharedMem(text.data());
    } else if (mode == "get") {
      GetSharedMem(out.data(), static_cast<std::uint32_t>(out.size()));
      check += static_cast<unsigned long long>(out[0]);
    } else if (mode == "write") {
      check += sharedmem_write(segment, bytes.data(), bytes.size());
    } else if (mode == "read") {
      std::uint64_t size = 0;
      sharedmem_read(segment, bytes.data(), bytes.size(), &size);
      check += size;
    } else if (mode == "open_close") {
      sharedmem_segment* other = nullptr;
      if (sharedmem_open(name.c_str(), 4096, 0, &other) != SHAREDMEM_OK) return 4;
      sharedmem_close(other);
    } else if (mode != "none") {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  }
  sharedmem_close(segment);
  std::printf("%s x %ld done (%llu)\n", mode.c_str(), calls, check);
  return 0;
}
