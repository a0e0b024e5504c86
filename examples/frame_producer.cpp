// SPDX-License-Identifier: MIT
// Produces frames in place: fills the 1 MiB raw segment's frame under its
// lock, then notifies the consumers. Kill it at any moment and start it
// again: a frame it left half-written is reported by the next locker (owner
// died) and simply overwritten, and numbering goes on from the last frame
// while a consumer keeps the segment alive.
//   frame_producer [--name frames] [--frames N] [--interval-ms 40]
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "frames.hpp"
#include "sharedmem/sharedmem.hpp"

int main(int argc, char** argv) {
  frames::Options options;
  if (!frames::parse(argc, argv, options)) {
    std::fprintf(stderr, "usage: %s [--name NAME] [--frames N] [--interval-ms MS]\n", argv[0]);
    return 2;
  }
  try {
    sharedmem::raw_segment buffer = sharedmem::raw_segment::open(options.name, frames::kBufferBytes);
    std::byte* const pixels = buffer.data() + frames::kHeaderBytes;
    for (std::uint64_t produced = 0; options.frames == 0 || produced < options.frames; ++produced) {
      frames::FrameHeader header{};
      {
        std::scoped_lock lock(buffer);  // held while the frame is being changed
        if (buffer.owner_died())
          std::printf("a process died holding the buffer: rewriting its frame\n");
        std::memcpy(&header, buffer.data(), sizeof header);
        header.number += 1;
        // "Render": a pattern that moves with the frame number.
        for (std::size_t i = 0; i < frames::kPixelBytes; ++i)
          pixels[i] = static_cast<std::byte>((i * 31 + header.number * 7) & 0xff);
        header.checksum = frames::checksum(pixels);
        std::memcpy(buffer.data(), &header, sizeof header);
      }
      buffer.notify();  // wakes the consumers' wait()
      std::printf("produced frame %llu\n", static_cast<unsigned long long>(header.number));
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
    }
  } catch (const sharedmem::error& e) {
    std::fprintf(stderr, "frame_producer: %s\n", e.what());
    return 1;
  }
  return 0;
}
