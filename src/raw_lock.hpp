// SPDX-License-Identifier: MIT
// A raw segment's lock (sharedmem_lock, sharedmem_unlock): the backend's
// writer lock, taken by the calling thread and kept across calls until it
// releases it. Locking again from the holder thread is
// SHAREDMEM_E_WOULD_DEADLOCK; unlocking from a thread that did not lock
// through this handle is SHAREDMEM_E_NOT_HELD, changing nothing. Inline:
// the entry points (api.cpp) are one function down to the backend's lock.
#ifndef SHAREDMEM_SRC_RAW_LOCK_HPP
#define SHAREDMEM_SRC_RAW_LOCK_HPP

#include <chrono>
#include <cstdint>
#include <thread>

#include "handle.hpp"
#include "platform.hpp"

namespace sharedmem::detail {

inline sharedmem_error lock_segment(sharedmem_segment* segment, std::uint32_t timeout_ms) {
  const platform::Deadline deadline =
      timeout_ms == SHAREDMEM_WAIT_FOREVER
          ? platform::Deadline::never()
          : platform::Deadline::after(std::chrono::milliseconds(timeout_ms));
  const platform::LockResult locked =
      platform::lock_writer(*segment->attachment, deadline, platform::LockHold::kAcrossCalls);
  if (locked != platform::LockResult::kAcquired && locked != platform::LockResult::kOwnerDied)
    return lock_failure(locked);
  segment->lock_holder.store(std::this_thread::get_id(), std::memory_order_relaxed);
  // kOwnerDied: acquired all the same.
  return locked == platform::LockResult::kOwnerDied ? SHAREDMEM_E_OWNER_DIED : SHAREDMEM_OK;
}

inline sharedmem_error unlock_segment(sharedmem_segment* segment) {
  // Only the thread that locked through this handle unlocks through it.
  if (segment->lock_holder.load(std::memory_order_relaxed) != std::this_thread::get_id())
    return SHAREDMEM_E_NOT_HELD;
  segment->lock_holder.store(std::thread::id(), std::memory_order_relaxed);
  // False when the lock is no longer this thread's after all (a child
  // forked by the locking thread has the parent's record but not its lock).
  return platform::unlock_writer(*segment->attachment) ? SHAREDMEM_OK : SHAREDMEM_E_NOT_HELD;
}

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_RAW_LOCK_HPP
