// SPDX-License-Identifier: MIT
// Checks, through the public API, the byte movers the benchmarks tune
// (src/copy.hpp): every size around their thresholds at many buffer offsets,
// and SetSharedMem on strings of every length ending right before an
// unmapped page, so that a scan reading past its block would fault. Run by
// the bench-smoke workflow; exits non-zero on the first difference.
// SHAREDMEM_DEFAULT_SEGMENT must name a private default segment.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

namespace {

constexpr std::size_t kPage = 4096;
int g_failures = 0;

void fail(const std::string& what) {
  if (g_failures++ < 20) std::fprintf(stderr, "copy_check: %s\n", what.c_str());
}

// `pages` read-write pages followed by one inaccessible page.
unsigned char* guarded(std::size_t pages) {
  void* p = ::mmap(nullptr, (pages + 1) * kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::exit(2);
  auto* base = static_cast<unsigned char*>(p);
  ::mprotect(base + pages * kPage, kPage, PROT_NONE);
  return base;
}

void check_named() {
  constexpr std::size_t kCapacity = 70000;
  const std::string name = "sharedmem_copy_check." + std::to_string(::getpid());
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(name.c_str(), kCapacity, 0, &segment) != SHAREDMEM_OK) std::exit(2);
  constexpr std::size_t kPages = 20;
  unsigned char* source = guarded(kPages);
  unsigned char* out = guarded(kPages);
  const std::size_t sizes[] = {0,    1,    15,   16,    17,    63,    64,    65,   100,
                               2047, 2048, 2049, 3071,  3072,  3073,  4092,  4096, 5000,
                               8191, 16384, 16385, 20000, 65536, 70000};
  const std::size_t offsets[] = {0, 1, 16, 17, 32, 48, 63, 64, 2048, 4032, 4048, 4080, 4095};
  unsigned seed = 1;
  for (std::size_t size : sizes) {
    for (std::size_t offset : offsets) {
      // The source sits at `offset` or ends right before the guard page.
      for (bool at_end : {false, true}) {
        unsigned char* from = at_end ? source + kPages * kPage - size : source + offset;
        unsigned char* to = at_end ? out + offset : out + kPages * kPage - size;
        for (std::size_t i = 0; i < size; ++i) from[i] = static_cast<unsigned char>(seed += 7);
        if (sharedmem_write(segment, from, size) != SHAREDMEM_OK) fail("write failed");
        std::uint64_t length = 0;
        if (sharedmem_read(segment, to, size, &length) != SHAREDMEM_OK || length != size ||
            (size != 0 && std::memcmp(to, from, size) != 0))
          fail("named " + std::to_string(size) + " bytes at offset " + std::to_string(offset) +
               (at_end ? " (source at a page end)" : " (destination at a page end)"));
      }
    }
  }
  sharedmem_close(segment);
}

void check_seed() {
  constexpr std::size_t kMax = SHAREDMEM_DEFAULT_CAPACITY_CHARS;
  unsigned char* page = guarded(3);
  unsigned char* end = page + 3 * kPage;
  std::vector<wchar_t> got(kMax + 2);
  for (std::size_t length = 0; length <= kMax + 40; ++length) {
    for (std::size_t gap : {std::size_t{0}, sizeof(wchar_t), std::size_t{60}}) {
      const std::size_t bytes = (length + 1) * sizeof(wchar_t);
      if (bytes + gap > 3 * kPage) continue;
      auto* text = reinterpret_cast<wchar_t*>(end - gap - bytes);
      for (std::size_t i = 0; i < length; ++i)
        text[i] = static_cast<wchar_t>(L'A' + (i * 7 + length) % 50);
      text[length] = L'\0';
      SetSharedMem(text);
      GetSharedMem(got.data(), static_cast<std::uint32_t>(got.size()));
      const std::size_t expect = length < kMax ? length : kMax;
      if (std::memcmp(got.data(), text, expect * sizeof(wchar_t)) != 0 || got[expect] != L'\0')
        fail("SetSharedMem/GetSharedMem of " + std::to_string(length) + " characters, " +
             std::to_string(gap) + " bytes before a page end");
    }
  }
}

}  // namespace

int main() {
  const char* name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  if (name == nullptr || *name == '\0' || sharedmem_default_status() != SHAREDMEM_OK) {
    std::fprintf(stderr, "copy_check: needs SHAREDMEM_DEFAULT_SEGMENT set to a private name\n");
    return 2;
  }
  check_named();
  check_seed();
  if (g_failures != 0) {
    std::fprintf(stderr, "copy_check: %d failures\n", g_failures);
    return 1;
  }
  std::printf("copy_check: named read/write and Set/Get copies are exact\n");
  return 0;
}
