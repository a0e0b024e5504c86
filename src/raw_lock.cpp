// SPDX-License-Identifier: MIT
// A raw segment's lock and notification (sharedmem_lock, sharedmem_unlock,
// sharedmem_notify): the backend's writer lock, held across calls by the
// thread that took it.
#include <thread>

#include "handle.hpp"
#include "layout.hpp"
#include "platform.hpp"
#include "segment.hpp"

namespace sharedmem::detail {

sharedmem_error lock_segment(sharedmem_segment* segment, std::uint32_t timeout_ms) {
  platform::Deadline deadline = timeout_ms == SHAREDMEM_WAIT_FOREVER
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

sharedmem_error unlock_segment(sharedmem_segment* segment) {
  // Only the thread that locked through this handle unlocks through it.
  if (segment->lock_holder.load(std::memory_order_relaxed) != std::this_thread::get_id())
    return SHAREDMEM_E_NOT_HELD;
  segment->lock_holder.store(std::thread::id(), std::memory_order_relaxed);
  // False when the lock is no longer this thread's after all (a child
  // forked by the locking thread has the parent's record but not its lock).
  return platform::unlock_writer(*segment->attachment) ? SHAREDMEM_OK : SHAREDMEM_E_NOT_HELD;
}

std::uint64_t notify_segment(sharedmem_segment* segment) {
  Header& header = *segment->header;
  // Sequentially consistent, as a write's publication (value.cpp): release
  // for what the caller wrote into the data before (visible to whoever sees
  // the new version), and ordered before wake_waiters' look at the count.
  const std::uint64_t version = header.generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  wake_waiters(*segment);
  return version;
}

}  // namespace sharedmem::detail
