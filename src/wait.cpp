// SPDX-License-Identifier: MIT
// Waiting for a change (sharedmem_wait) and the name check
// (sharedmem_check). The handshake with the writers is in layout.hpp
// (Header::change_word); the writers' side is wake_waiters (value.hpp).
#include <algorithm>
#include <chrono>

#include "fault_injection.hpp"
#include "handle.hpp"
#include "layout.hpp"
#include "platform.hpp"
#include "segment.hpp"

namespace sharedmem::detail {
namespace {

// Whether the segment's name still leads to its object, where names can be
// removed under their holders (platform::kCapabilities.names_removable).
platform::NameState name_state_of(const sharedmem_segment& segment) noexcept {
  if constexpr (platform::kCapabilities.names_removable) {
    return platform::name_state(*segment.attachment);
  } else {
    (void)segment;
    return platform::NameState::kLeadsHere;
  }
}

// A wait that slept and woke (or timed out) with `result` tells a
// long-running holder whether its segment's name was removed under it:
// SHAREDMEM_E_REMOVED then, whatever it found (*version still says whether
// the version moved). Only after a sleep: a wait that returns at once costs
// no system call.
sharedmem_error finish_wait(const sharedmem_segment& segment, sharedmem_error result) {
  return name_state_of(segment) == platform::NameState::kRemoved
             ? SHAREDMEM_E_REMOVED
             : result;
}

// A read-only handle cannot count itself among the waiters (the count is
// shared memory it may not write), so no writer wakes it for sure: it
// sleeps on the change word in slices of at most kReadOnlyWaitSlice (a
// writer that wakes counted waiters wakes it too) and looks at the version
// after each. A change is seen within a slice of its write.
constexpr std::chrono::milliseconds kReadOnlyWaitSlice{4};

sharedmem_error wait_read_only(const sharedmem_segment& segment, std::uint64_t seen,
                               platform::Deadline deadline, std::uint64_t* version) {
  using clock = std::chrono::steady_clock;
  Header& header = *segment.header;
  const clock::time_point until = deadline.when();
  bool slept = false;
  for (std::chrono::microseconds slice{250};; slice = std::min<std::chrono::microseconds>(
                                                 slice * 2, kReadOnlyWaitSlice)) {
    const std::uint32_t word = header.change_word.load(std::memory_order_seq_cst);
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return slept ? finish_wait(segment, SHAREDMEM_OK) : SHAREDMEM_OK;
    const clock::time_point now = clock::now();
    if (now >= until) return finish_wait(segment, SHAREDMEM_E_TIMEOUT);
    platform::Deadline wake = platform::Deadline::at(until - now > slice ? now + slice : until);
    if (platform::wait_for_change(*segment.attachment, word, wake) ==
        platform::WaitResult::kError)
      return SHAREDMEM_E_SYSTEM;
    slept = true;
  }
}

}  // namespace

sharedmem_error wait_segment(const sharedmem_segment* segment, std::uint64_t seen,
                             std::uint32_t timeout_ms, std::uint64_t* version) {
  Header& header = *segment->header;
  // The timeout counts from the call: the clock is read now, once.
  platform::Deadline deadline =
      timeout_ms == SHAREDMEM_WAIT_FOREVER
          ? platform::Deadline::never()
          : platform::Deadline::at(std::chrono::steady_clock::now() +
                                   std::chrono::milliseconds(timeout_ms));
  if (segment->read_only) return wait_read_only(*segment, seen, deadline, version);
  for (;;) {
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return SHAREDMEM_OK;
    header.waiters.fetch_add(1, std::memory_order_seq_cst);
    // The word first, then the generation: a write published after this
    // re-check changes the word after we read it, and the wait sees that.
    const std::uint32_t word = header.change_word.load(std::memory_order_seq_cst);
    *version = header.generation.load(std::memory_order_seq_cst);
    platform::WaitResult result = platform::WaitResult::kWoken;
    if (*version == seen) {
      // Counted in, the version seen unchanged: from here on only the
      // writer's wake (a changed word) ends the wait before the deadline.
      platform::fault_point("wait_before_sleep");
      result = platform::wait_for_change(*segment->attachment, word, deadline);
    }
    header.waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (result == platform::WaitResult::kError) return SHAREDMEM_E_SYSTEM;
    if (result == platform::WaitResult::kTimeout) {
      *version = header.generation.load(std::memory_order_acquire);
      return finish_wait(*segment, *version != seen ? SHAREDMEM_OK : SHAREDMEM_E_TIMEOUT);
    }
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return finish_wait(*segment, SHAREDMEM_OK);
  }
}

sharedmem_error check_segment(const sharedmem_segment* segment) {
  switch (name_state_of(*segment)) {
    case platform::NameState::kLeadsHere:
      return SHAREDMEM_OK;
    case platform::NameState::kRemoved:
      return SHAREDMEM_E_REMOVED;
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

}  // namespace sharedmem::detail
