// SPDX-License-Identifier: MIT
// Consumes frames in place: waits for the producer's notification, locks the
// 1 MiB raw segment, checks the frame's checksum where it lies (no copy) and
// prints its number. Kill it at any moment and start it again, or kill the
// producer: it waits for the next frame, and tells a frame torn by a
// producer that died mid-fill (owner died, checksum mismatch).
//   frame_consumer [--name frames] [--frames N]
#include <chrono>
#include <cstdio>
#include <mutex>

#include "frames.hpp"
#include "sharedmem/sharedmem.hpp"

int main(int argc, char** argv) {
  frames::Options options;
  if (!frames::parse(argc, argv, options)) {
    std::fprintf(stderr, "usage: %s [--name NAME] [--frames N]\n", argv[0]);
    return 2;
  }
  try {
    sharedmem::raw_segment buffer = sharedmem::raw_segment::open(options.name, frames::kBufferBytes);
    std::uint64_t seen = buffer.version();
    for (std::uint64_t consumed = 0; options.frames == 0 || consumed < options.frames;) {
      if (!buffer.wait(seen, std::chrono::seconds(2), &seen)) {
        std::printf("no new frame for 2 s: is a producer running?\n");
        std::fflush(stdout);
        continue;
      }
      frames::FrameHeader header{};
      bool intact = false;
      {
        std::scoped_lock lock(buffer);
        if (buffer.owner_died()) std::printf("the producer died holding the buffer\n");
        std::memcpy(&header, buffer.data(), sizeof header);
        intact = frames::checksum(buffer.data() + frames::kHeaderBytes) == header.checksum;
      }
      if (header.number == 0) continue;  // notified before any frame: none yet
      std::printf("frame %llu checksum %s\n", static_cast<unsigned long long>(header.number),
                  intact ? "ok" : "MISMATCH (torn frame)");
      std::fflush(stdout);
      ++consumed;
    }
  } catch (const sharedmem::error& e) {
    std::fprintf(stderr, "frame_consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
