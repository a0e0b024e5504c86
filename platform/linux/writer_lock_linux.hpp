// SPDX-License-Identifier: MIT
// The Linux writer lock (platform.hpp: lock_writer, unlock_writer): the
// shared words of platform/lock_word.hpp, a futex to sleep on, an OFD byte
// lock per attachment as its owner slot's liveness token, and process-local
// bookkeeping of which thread holds it.
//
// Two levels: a thread first takes its attachment's process-local holder
// word (which names the thread), then the shared state word (which names
// the attachment's slot). It releases them in the opposite order: so a
// thread that holds the holder word and finds the shared word naming its own
// slot knows that no live thread holds it through that slot (a dead earlier
// owner of the slot, or a scribble) and takes it over.
#ifndef SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "lock_word.hpp"
#include "platform.hpp"

namespace sharedmem::platform::posix {

// Where the owner slots' liveness tokens are: byte kSlotTokenBase + slot of
// the object, far past any object's end (max_object_size is 2^40), where no
// other lock of this backend lies.
inline constexpr off_t kSlotTokenBase = off_t{1} << 41;

// One attachment's side of the writer lock, process-local. It must not move
// while it exists (the thread-exit and re-entry checks find it by address).
class WriterLockOwner {
 public:
  WriterLockOwner() = default;
  WriterLockOwner(const WriterLockOwner&) = delete;
  WriterLockOwner& operator=(const WriterLockOwner&) = delete;
  ~WriterLockOwner();

  // Binds to the attachment's own open file description `fd` of the object
  // identified by (`device`, `inode`), and makes the lock findable by the
  // thread-exit hook and the re-entry check. Before this, locking fails.
  void bind(int fd, dev_t device, ino_t inode) noexcept;

  LockResult lock(lock_word::Shared& shared, Deadline deadline, LockHold hold) noexcept;
  bool unlock(lock_word::Shared& shared) noexcept;
  // True while some thread of this process holds the lock through it.
  bool held() const noexcept { return holder_.load(std::memory_order_acquire) != 0; }

  // In a child forked without exec, for the attachment's copy: no thread of
  // the child holds the lock (the forking thread's hold stays the parent's),
  // and the child's slot is claimed afresh on its own description
  // (`own_description`), or never if it has none (locking then fails).
  void forget_after_fork(bool own_description) noexcept;

  // The lock's words in a freshly initialised object.
  static void initialise(lock_word::Shared& shared) noexcept;

  // Used by the thread-exit hook: frees the lock with "owner died" if
  // `thread` holds it through this attachment.
  void abandon_if_held_by(std::uintptr_t thread) noexcept;

 private:
  friend struct OwnerRegistry;

  LockResult lock_contended(lock_word::Shared& shared, std::uint32_t seen,
                            std::chrono::steady_clock::time_point deadline,
                            std::uintptr_t self) noexcept;
  LockResult take_holder_word(lock_word::Shared& shared, std::uintptr_t self,
                              std::chrono::steady_clock::time_point deadline) noexcept;
  bool claim_slot() noexcept;
  bool held_elsewhere_by(std::uint32_t slot, std::uintptr_t self) const noexcept;
  bool release_shared(lock_word::Shared& shared, std::uint32_t to) noexcept;

  // The thread (pthread_self) that holds the lock through this attachment, 0: none.
  std::atomic<std::uintptr_t> holder_{0};
  // held_by(slot) once the slot is claimed; 0 before. Written under holder_
  // (read by other threads' re-entry checks, hence atomic).
  std::atomic<std::uint32_t> mine_{0};
  std::uint32_t slot_ = 0;
  // The shared words, as of the last acquisition (for the thread-exit hook).
  lock_word::Shared* shared_ = nullptr;
  bool may_claim_ = false;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  // All bound owners of this process, under the registry's mutex.
  WriterLockOwner* previous_ = nullptr;
  WriterLockOwner* next_ = nullptr;
  bool registered_ = false;
};

}  // namespace sharedmem::platform::posix

#endif  // SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP
