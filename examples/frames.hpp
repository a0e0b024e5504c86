// SPDX-License-Identifier: MIT
// The frame buffer shared by frame_producer and frame_consumer: a 1 MiB raw
// segment holding one frame, a small header and then its pixels, changed in
// place under the segment's lock.
#ifndef SHAREDMEM_EXAMPLES_FRAMES_HPP
#define SHAREDMEM_EXAMPLES_FRAMES_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace frames {

constexpr std::uint64_t kBufferBytes = 1u << 20;  // the raw segment's size
constexpr std::size_t kHeaderBytes = 64;          // FrameHeader, padded
constexpr std::size_t kPixelBytes = kBufferBytes - kHeaderBytes;

struct FrameHeader {
  std::uint64_t number;    // 0: no frame yet (the segment starts zero-filled)
  std::uint64_t checksum;  // of the kPixelBytes pixels
};
static_assert(sizeof(FrameHeader) <= kHeaderBytes);

// FNV-1a over the pixels: a torn frame (a producer killed mid-fill) shows.
inline std::uint64_t checksum(const std::byte* pixels) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < kPixelBytes; ++i) {
    hash ^= std::to_integer<std::uint64_t>(pixels[i]);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Command-line options shared by both programs.
struct Options {
  std::string name = "frames";  // the raw segment's name
  std::uint64_t frames = 0;     // stop after this many frames (0: never)
  unsigned interval_ms = 40;    // producer: pause between frames
};

inline bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--name")
      options.name = argv[i + 1];
    else if (key == "--frames")
      options.frames = std::strtoull(argv[i + 1], nullptr, 10);
    else if (key == "--interval-ms")
      options.interval_ms = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    else
      return false;
  }
  return argc % 2 == 1;
}

}  // namespace frames

#endif  // SHAREDMEM_EXAMPLES_FRAMES_HPP
