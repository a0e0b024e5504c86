// SPDX-License-Identifier: MIT
// The value protocol's out-of-line half (value.hpp has the common path):
// retried reads, refused writes, in-place writes.
#include <chrono>
#include <cstddef>
#include <thread>

#include "copy.hpp"
#include "handle.hpp"
#include "layout.hpp"
#include "platform.hpp"
#include "segment.hpp"
#include "value.hpp"

namespace sharedmem::detail {
namespace {

// A reader retries a torn copy at once this many times, then yields between
// tries; past kReadGiveUp without one consistent snapshot it gives up.
constexpr int kReadSpins = 64;
constexpr std::chrono::milliseconds kReadGiveUp{2'000};

// One attempt at a consistent snapshot (layout.hpp), any size: true, with
// the copy in `buffer`, when the slot it copied was complete and not
// overwritten meanwhile.
bool try_read(const sharedmem_segment& segment, void* buffer, std::uint64_t buffer_size,
              std::uint64_t* value_size, std::uint64_t* version) {
  const Header& header = *segment.header;
  const std::uint64_t generation = header.generation.load(std::memory_order_acquire);
  const std::size_t current = generation % kSlotCount;
  const SlotState& slot = header.slots[current];
  const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
  if ((seq & 1) != 0) return false;  // lapped by two writers: the other slot is newer
  std::uint64_t length = slot.length.load(std::memory_order_relaxed);
  if (length > segment.capacity) length = segment.capacity;  // torn; the seq check retries
  const std::uint64_t copied = length < buffer_size ? length : buffer_size;
  copy_out(buffer, segment.slot_bytes + current * segment.stride, copied);
  std::atomic_thread_fence(std::memory_order_acquire);
  // A versioned read also needs the copy to be write number `generation`'s
  // and not a later one's into the same slot: write generation + 2 cannot
  // have completed before `seq` was read if the generation, read after the
  // check, has not reached it yet.
  if (slot.seq.load(std::memory_order_relaxed) != seq ||
      (version != nullptr && header.generation.load(std::memory_order_relaxed) > generation + 1))
    return false;
  *value_size = length;
  if (version) *version = generation;
  return true;
}

}  // namespace

// Retries are bounded: a header whose sequence numbers were scribbled on
// would otherwise keep a reader spinning forever.
SHAREDMEM_COLD sharedmem_error read_slow(const sharedmem_segment& segment, void* buffer,
                                         std::uint64_t buffer_size, std::uint64_t* value_size,
                                         std::uint64_t* version) {
  const Header& header = *segment.header;
  const std::uint64_t first_generation = header.generation.load(std::memory_order_relaxed);
  std::uint64_t length = 0;
  std::uint64_t snapshot = 0;
  std::uint64_t* const want_version = version != nullptr ? &snapshot : nullptr;
  std::chrono::steady_clock::time_point give_up{};
  sharedmem_error result = SHAREDMEM_OK;
  for (int attempt = 0;; ++attempt) {
    if (try_read(segment, buffer, buffer_size, &length, want_version)) break;
    if (attempt < kReadSpins) continue;
    std::this_thread::yield();
    if (attempt == kReadSpins) {
      give_up = std::chrono::steady_clock::now() + kReadGiveUp;
    } else if (attempt % 64 == 0 && std::chrono::steady_clock::now() > give_up) {
      // No write completed meanwhile: nobody can fix this state but a reset.
      result = header.generation.load(std::memory_order_relaxed) == first_generation
                   ? SHAREDMEM_E_CORRUPTED
                   : SHAREDMEM_E_TIMEOUT;
      length = snapshot = 0;
      break;
    }
  }
  if (value_size) *value_size = length;
  if (version) *version = snapshot;
  return result == SHAREDMEM_OK ? result : finish_call(result);
}

SHAREDMEM_COLD sharedmem_error write_refused(sharedmem_error error, std::uint64_t version,
                                             std::uint64_t* new_version) {
  if (new_version) *new_version = version;
  return finish_call(error);
}

sharedmem_error begin_write(sharedmem_segment* segment, std::uint64_t size, void** data) {
  SlotClaim claim;
  std::uint64_t version = 0;
  // A second begin by this thread, on this handle or another of the same
  // segment, finds the lock its own: SHAREDMEM_E_WOULD_DEADLOCK.
  if (sharedmem_error e =
          claim_slot(*segment, nullptr, platform::LockHold::kAcrossCalls, claim, &version))
    return e;
  segment->in_place_claim = claim;
  segment->in_place_size = size;
  segment->in_place_thread.store(thread_token(), std::memory_order_release);
  *data = slot_data(*segment, claim);
  return SHAREDMEM_OK;
}

sharedmem_error commit_write(sharedmem_segment* segment, std::uint64_t* version) {
  if (!end_in_place_write(*segment)) return SHAREDMEM_E_NOT_HELD;
  *version = publish(*segment, segment->in_place_claim, segment->in_place_size);
  return SHAREDMEM_OK;
}

void abort_write(sharedmem_segment* segment) { abandon_in_place_write(*segment); }

}  // namespace sharedmem::detail
