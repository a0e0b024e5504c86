// SPDX-License-Identifier: MIT
// The segment handle (sharedmem_segment) and the process's registry of open
// handles: private to the core (src/).
#ifndef SHAREDMEM_SRC_HANDLE_HPP
#define SHAREDMEM_SRC_HANDLE_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "layout.hpp"
#include "platform.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem::detail {

// A write between taking the writer lock and publishing: the slot it fills
// (not the current one, so readers do not take it) and that slot's odd
// sequence number. sharedmem_write goes through it in one call;
// sharedmem_write_begin and sharedmem_write_commit split it in two.
struct SlotClaim {
  std::uint64_t generation = 0;  // the last completed write's, read under the lock
  std::size_t target = 0;
  std::uint64_t seq = 0;
};

}  // namespace sharedmem::detail

// The fields the hot path reads (header, slot_bytes, capacity, stride, raw,
// the refusals) come first, in the handle's first cache line: the entry
// point's kind check loads the line the protocol reads next.
struct alignas(64) sharedmem_segment {
  sharedmem::detail::Header* header = nullptr;
  unsigned char* slot_bytes = nullptr;  // slot i at slot_bytes + i * stride
  std::uint64_t capacity = 0;
  std::uint64_t stride = 0;
  // A raw segment (SHAREDMEM_RAW): its `capacity` bytes at `data`.
  unsigned char* data = nullptr;
  bool raw = false;
  // Opened with SHAREDMEM_READ_ONLY: the mapping has no write access.
  bool read_only = false;
  bool created = false;  // this open initialised the segment
  // What the value writes (write, write_if, write_begin) and the raw ones
  // (lock, notify) answer before touching anything: SHAREDMEM_OK, or the
  // kind or read-only refusal. One load on the hot path.
  sharedmem_error value_write_refusal = SHAREDMEM_OK;
  sharedmem_error raw_write_refusal = SHAREDMEM_OK;
  sharedmem::platform::AttachmentPtr attachment;
  // The thread that took the raw segment's lock through this handle and has
  // not released it through it; a default id when none. Only that thread
  // stores its own id here (and close, when the handle is no longer used),
  // so relaxed accesses suffice: the lock itself orders the rest.
  std::atomic<std::thread::id> lock_holder{};
  // The open segments of this process, for the detach at exit (handle.cpp).
  sharedmem_segment* previous = nullptr;
  sharedmem_segment* next = nullptr;
  bool detached_at_exit = false;
  // sharedmem_write_begin's write, open until commit or abort: the token of
  // the thread that began it (0: none), which alone may end it, since the
  // writer lock it holds belongs to that thread. The claim and size are
  // written and read only by that thread, under the writer lock.
  std::atomic<std::uint64_t> in_place_thread{0};
  sharedmem::detail::SlotClaim in_place_claim;
  std::uint64_t in_place_size = 0;
};
static_assert(offsetof(sharedmem_segment, attachment) <= 64,
              "the hot path's fields share the handle's first cache line");

namespace sharedmem::detail {

// Counts an open or a close that holds an attachment outside the registry
// for its lifetime: the exit detach waits for it (at most a few seconds).
class InFlight {
 public:
  InFlight() noexcept;
  ~InFlight();
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

// Set once the exit detach has begun (never reset: a library unloaded and
// loaded again starts afresh): an open then fails with
// SHAREDMEM_E_NOT_ATTACHED. An open reads it after counting itself in
// flight, as the exit detach sets it before it looks at the count: one of
// them sees the other.
extern std::atomic<bool> g_exit_detach_begun;

// Adds a freshly opened handle to the registry; one that completes after the
// exit detach began is detached at once (its pages stay mapped).
void remember(sharedmem_segment* segment);
// Takes the handle out of the registry: true if the exit detach has not
// taken it already (then the caller detaches it and frees it).
bool forget(sharedmem_segment* segment);

// A number for the calling thread that no other thread of this process ever
// gets, even after this one ends: it names the owner of an in-place write.
std::uint64_t thread_token() noexcept;

// Ends the in-place write open on `segment` if the calling thread began it:
// true, and the caller now publishes it or gives it up. False when there is
// none or another thread's (whose writer lock this thread cannot release).
bool end_in_place_write(sharedmem_segment& segment) noexcept;

// Releases the writer lock without publishing. A slot claimed meanwhile keeps
// its odd sequence number, as after a writer that died: no reader accepts a
// copy of it, and the next writer starts it afresh. (Making it even again
// would let a reader that picked it as current long ago accept bytes that
// were never published.)
inline void give_up(sharedmem_segment& segment) noexcept {
  platform::unlock_writer(*segment.attachment);
}

// Gives up the calling thread's in-place write on `segment`, if any.
inline void abandon_in_place_write(sharedmem_segment& segment) noexcept {
  if (end_in_place_write(segment)) give_up(segment);
}

// The error of a lock_writer result that did not acquire the lock.
inline sharedmem_error lock_failure(platform::LockResult result) noexcept {
  switch (result) {
    case platform::LockResult::kTimeout:
      return SHAREDMEM_E_TIMEOUT;
    case platform::LockResult::kReentered:
      return SHAREDMEM_E_WOULD_DEADLOCK;
    case platform::LockResult::kCorrupted:
      return SHAREDMEM_E_CORRUPTED;
    default:  // kError (kAcquired and kOwnerDied are no failure)
      return SHAREDMEM_E_SYSTEM;
  }
}

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_HANDLE_HPP
