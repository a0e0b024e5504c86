// SPDX-License-Identifier: MIT
// The value protocol (layout.hpp), its common path: a writer claims the
// slot readers do not take, fills it and publishes it; a reader copies the
// current slot and keeps the copy only if no writer touched it meanwhile.
//
// Inline, so that each entry point of the hot path (api.cpp) is one
// function from its argument checks to the copy: they check, the functions
// here check nothing again. A successful call touches no thread-local
// state; whatever is not the common case (a torn copy, a copy that needs a
// call, a failure to record) is out of line in value.cpp.
#ifndef SHAREDMEM_SRC_VALUE_HPP
#define SHAREDMEM_SRC_VALUE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

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

// How long a writer waits for a live peer that holds the writer lock.
inline constexpr std::chrono::milliseconds kWriterLockTimeout{10'000};

// The out-of-line half (value.cpp).
// A read whose first attempt read_value could not finish (torn, or a copy
// that needs a call): tries again, stores the outputs as read_value does
// (0 on a failure) and records a failure.
SHAREDMEM_COLD sharedmem_error read_slow(const sharedmem_segment& segment, void* buffer,
                                         std::uint64_t buffer_size, std::uint64_t* value_size,
                                         std::uint64_t* version);
// A write that could not claim its slot: *new_version (if not null) gets
// `version`, and the failure is recorded.
SHAREDMEM_COLD sharedmem_error write_refused(sharedmem_error error, std::uint64_t version,
                                             std::uint64_t* new_version);

// Takes the writer lock and claims the slot readers do not look at: makes its
// sequence number odd. With `expected`, only at that version (otherwise
// SHAREDMEM_E_CONFLICT, the lock released). *version gets the version found.
inline sharedmem_error claim_slot(sharedmem_segment& segment, const std::uint64_t* expected,
                                  platform::LockHold hold, SlotClaim& claim,
                                  std::uint64_t* version) {
  Header& header = *segment.header;
  const platform::LockResult locked = platform::lock_writer(
      *segment.attachment, platform::Deadline::after(kWriterLockTimeout), hold);
  // kOwnerDied: acquired; the dead writer's half-written slot is not current.
  if (locked != platform::LockResult::kAcquired && locked != platform::LockResult::kOwnerDied) {
    *version = header.generation.load(std::memory_order_acquire);
    return lock_failure(locked);
  }
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

inline unsigned char* slot_data(const sharedmem_segment& segment, const SlotClaim& claim) {
  return segment.slot_bytes + claim.target * segment.stride;
}

// After a new generation was published by a sequentially consistent store
// or read-modify-write: if waiters are counted in, changes the change word
// and has the backend wake every waiter on it (layout.hpp).
inline void wake_waiters(sharedmem_segment& segment) noexcept {
  Header& header = *segment.header;
  // The caller published a new generation with a sequentially consistent
  // store (or read-modify-write) before this sequentially consistent load:
  // a waiter counts itself in, then re-checks the generation (wait.cpp), so
  // either it sees the new generation or this sees its count.
  if (header.waiters.load(std::memory_order_seq_cst) == 0) return;
  // The bump first, then the wake: a waiter sleeps only while the word holds
  // what it read before its re-check.
  header.change_word.fetch_add(1, std::memory_order_seq_cst);
  platform::wake_all(*segment.attachment);
}

// Publishes the claimed slot, filled with a value of `length` bytes, as the
// next version; releases the writer lock and wakes the waiters. Returns the
// new version.
inline std::uint64_t publish(sharedmem_segment& segment, const SlotClaim& claim,
                             std::uint64_t length) {
  Header& header = *segment.header;
  // A death here leaves what a death mid-copy leaves: a changed, unpublished slot.
  platform::fault_point("write_mid_copy");
  SlotState& slot = header.slots[claim.target];
  slot.length.store(length, std::memory_order_relaxed);
  slot.seq.store(claim.seq + 1, std::memory_order_release);
  // Sequentially consistent, with the look at the waiter count in
  // wake_waiters (above): the write's one full fence, issued here in
  // every build and on every backend (on x86 an exchange).
  header.generation.store(claim.generation + 1, std::memory_order_seq_cst);
  platform::unlock_writer(*segment.attachment);
  // A death here leaves the write published and its waiters asleep until the
  // next write wakes them (README: Versions, waiting and open modes).
  platform::fault_point("write_published");
  wake_waiters(segment);
  return claim.generation + 1;
}

// Copies min(value length, buffer_size) bytes of a consistent snapshot into
// `buffer` and stores the value's length (if `value_size` is not null) and
// the version of that very snapshot (if `version` is not null: the
// generation whose slot was copied, not overwritten since); both 0 on a
// failure. Never waits for writers; gives up with SHAREDMEM_E_CORRUPTED or
// SHAREDMEM_E_TIMEOUT when no consistent snapshot can be had for seconds (a
// damaged header, a writer that never pauses). Records its own failure,
// as write_value does. Async-signal-safe: no lock, no allocation, and
// thread-local state only on a failure (initial-exec TLS).
inline sharedmem_error read_value(const sharedmem_segment& segment, void* buffer,
                                  std::uint64_t buffer_size, std::uint64_t* value_size,
                                  std::uint64_t* version) {
  // try_read's steps for the common case, a leaf function: the whole value
  // fits the buffer and is copied without a call. Everything else (a torn
  // or truncated copy, a length past the capacity, a larger value) is
  // handed whole to read_slow.
  const Header& header = *segment.header;
  const std::uint64_t generation = header.generation.load(std::memory_order_acquire);
  const std::size_t current = generation % kSlotCount;
  const SlotState& slot = header.slots[current];
  const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
  const std::uint64_t length = slot.length.load(std::memory_order_relaxed);
  if ((seq & 1) != 0 || length > buffer_size || length > segment.capacity ||
      !copy_out_inline(buffer, segment.slot_bytes + current * segment.stride, length))
    return read_slow(segment, buffer, buffer_size, value_size, version);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.seq.load(std::memory_order_relaxed) != seq ||
      (version != nullptr && header.generation.load(std::memory_order_relaxed) > generation + 1))
    return read_slow(segment, buffer, buffer_size, value_size, version);
  if (value_size) *value_size = length;
  if (version) *version = generation;
  return SHAREDMEM_OK;
}

// Replaces the value with the `size` bytes at `data` (size <= capacity)
// under the writer lock, if `expected` is null or the version is still
// *expected (otherwise SHAREDMEM_E_CONFLICT, nothing written).
// *new_version, if not null, receives the version after the call, even on
// a failure. Records its own failure (finish_call): the entry point
// returns its result as it is.
inline sharedmem_error write_value(sharedmem_segment& segment, const void* data,
                                   std::uint64_t size, const std::uint64_t* expected,
                                   std::uint64_t* new_version) {
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

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_VALUE_HPP
