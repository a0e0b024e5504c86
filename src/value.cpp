// SPDX-License-Identifier: MIT
// The value protocol (layout.hpp): a writer claims the slot readers do not
// take, fills it and publishes it; a reader copies the current slot and
// keeps the copy only if no writer touched it meanwhile.
//
// The hot path: read_value and write_value are what the entry points
// (api.cpp) jump to once they have checked the arguments; they check
// nothing again. A successful call touches no thread-local state; whatever
// is not the common case (a torn copy, a copy that needs a call, a failure
// to record) is out of line.
#include <chrono>
#include <cstddef>
#include <thread>

#include "copy.hpp"
#include "fault_injection.hpp"
#include "handle.hpp"
#include "layout.hpp"
#include "platform.hpp"
#include "segment.hpp"

#if defined(__GNUC__)
#define SHAREDMEM_COLD __attribute__((noinline, cold))
#else
#define SHAREDMEM_COLD
#endif

namespace sharedmem::detail {
namespace {

// How long a writer waits for a live peer that holds the writer lock.
constexpr std::chrono::milliseconds kWriterLockTimeout{10'000};
// A reader retries a torn copy at once this many times, then yields between
// tries; past kReadGiveUp without one consistent snapshot it gives up.
constexpr int kReadSpins = 64;
constexpr std::chrono::milliseconds kReadGiveUp{2'000};

// Takes the writer lock and claims the slot readers do not look at: makes its
// sequence number odd. With `expected`, only at that version (otherwise
// SHAREDMEM_E_CONFLICT, the lock released). *version gets the version found.
sharedmem_error claim_slot(sharedmem_segment& segment, const std::uint64_t* expected,
                           platform::LockHold hold, SlotClaim& claim, std::uint64_t* version) {
  Header& header = *segment.header;
  *version = header.generation.load(std::memory_order_acquire);
  platform::Deadline deadline = platform::Deadline::after(kWriterLockTimeout);
  const platform::LockResult locked = platform::lock_writer(*segment.attachment, deadline, hold);
  // kOwnerDied: acquired; the dead writer's half-written slot is not current.
  if (locked != platform::LockResult::kAcquired && locked != platform::LockResult::kOwnerDied)
    return lock_failure(locked);
  platform::fault_point("write_locked");
  // The writer lock orders writers: the generation read under it is the
  // last completed write's.
  claim.generation = header.generation.load(std::memory_order_relaxed);
  *version = claim.generation;
  if (expected != nullptr && *expected != claim.generation) {
    give_up(segment);
    return SHAREDMEM_E_CONFLICT;
  }
  claim.target = (claim.generation + 1) % kSlotCount;
  SlotState& slot = header.slots[claim.target];
  const std::uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  claim.seq = seq + 1 + (seq & 1);  // odd, and new even after a dead writer
  slot.seq.store(claim.seq, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  return SHAREDMEM_OK;
}

unsigned char* slot_data(const sharedmem_segment& segment, const SlotClaim& claim) {
  return segment.slot_bytes + claim.target * segment.stride;
}

// Publishes the claimed slot, filled with a value of `length` bytes, as the
// next version; releases the writer lock and wakes the waiters. Returns the
// new version.
std::uint64_t publish(sharedmem_segment& segment, const SlotClaim& claim, std::uint64_t length) {
  Header& header = *segment.header;
  // A death here leaves what a death mid-copy leaves: a changed, unpublished slot.
  platform::fault_point("write_mid_copy");
  SlotState& slot = header.slots[claim.target];
  slot.length.store(length, std::memory_order_relaxed);
  slot.seq.store(claim.seq + 1, std::memory_order_release);
  // Sequentially consistent, with the look at the waiter count in
  // wake_waiters (wait.cpp): the write's one full fence, issued here in
  // every build and on every backend (on x86 an exchange).
  header.generation.store(claim.generation + 1, std::memory_order_seq_cst);
  platform::unlock_writer(*segment.attachment);
  // A death here leaves the write published and its waiters asleep until the
  // next write wakes them (README: Versions, waiting and open modes).
  platform::fault_point("write_published");
  wake_waiters(segment);
  return claim.generation + 1;
}

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

// A read that read_value could not finish at its first attempt: torn, or a
// copy that needs a call. Tries again (bounded: a header whose sequence
// numbers were scribbled on would otherwise keep a reader spinning forever),
// stores the outputs (0 on a failure) and records a failure.
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

// A write that could not claim its slot: *new_version gets the version
// found, and the failure is recorded.
SHAREDMEM_COLD sharedmem_error write_refused(sharedmem_error error, std::uint64_t version,
                                             std::uint64_t* new_version) {
  if (new_version) *new_version = version;
  return finish_call(error);
}

}  // namespace

void wake_waiters(sharedmem_segment& segment) noexcept {
  Header& header = *segment.header;
  // The caller published a new generation with a sequentially consistent
  // store (or read-modify-write) before this sequentially consistent load:
  // a waiter counts itself in, then re-checks the generation (wait.cpp), so
  // either it sees the new generation or this sees its count.
  if (header.waiters.load(std::memory_order_seq_cst) == 0) return;
  // The bump first, then the wake: a waiter sleeps only while the word holds
  // what it read before its re-check.
  header.change_word.fetch_add(1, std::memory_order_seq_cst);
  platform::wake_all(*segment.attachment, header.change_word);
}

sharedmem_error read_value(const sharedmem_segment& segment, void* buffer,
                           std::uint64_t buffer_size, std::uint64_t* value_size,
                           std::uint64_t* version) {
  // try_read's steps, with the copy inline: a leaf function on the common
  // path, every other case handed whole to read_slow.
  const Header& header = *segment.header;
  const std::uint64_t generation = header.generation.load(std::memory_order_acquire);
  const std::size_t current = generation % kSlotCount;
  const SlotState& slot = header.slots[current];
  const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
  std::uint64_t length = slot.length.load(std::memory_order_relaxed);
  if (length > segment.capacity) length = segment.capacity;
  const std::uint64_t copied = length < buffer_size ? length : buffer_size;
  if ((seq & 1) != 0 ||
      !copy_out_inline(buffer, segment.slot_bytes + current * segment.stride, copied))
    return read_slow(segment, buffer, buffer_size, value_size, version);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.seq.load(std::memory_order_relaxed) != seq ||
      (version != nullptr && header.generation.load(std::memory_order_relaxed) > generation + 1))
    return read_slow(segment, buffer, buffer_size, value_size, version);
  if (value_size) *value_size = length;
  if (version) *version = generation;
  return SHAREDMEM_OK;
}

sharedmem_error write_value(sharedmem_segment& segment, const void* data, std::uint64_t size,
                            const std::uint64_t* expected, std::uint64_t* new_version) {
  SlotClaim claim;
  std::uint64_t version = 0;
  if (sharedmem_error e =
          claim_slot(segment, expected, platform::LockHold::kWithinCall, claim, &version))
    return write_refused(e, version, new_version);
  copy_in(slot_data(segment, claim), data, size);
  version = publish(segment, claim, size);
  if (new_version) *new_version = version;
  return SHAREDMEM_OK;
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
