// SPDX-License-Identifier: MIT
// The Linux writer lock (platform.hpp: lock_writer, unlock_writer): the
// shared lock of platform/writer_lock.hpp with a futex to sleep on and an
// OFD byte lock per attachment as its owner slot's liveness token.
#ifndef SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "lock_word.hpp"
#include "platform.hpp"
#include "writer_lock.hpp"

namespace sharedmem::platform::posix {

// Where the owner slots' liveness tokens are: byte kSlotTokenBase + slot of
// the object, far past any object's end (max_object_size is 2^40), where no
// other lock of this backend lies.
inline constexpr off_t kSlotTokenBase = off_t{1} << 41;

// current_thread() (writer_lock.hpp), inline for the lock's uncontended
// path: the thread pointer, the address of the thread's control block,
// which no other live thread of the process shares (glibc's pthread_self
// returns it on x86-64) and which stays the same until the thread has
// ended, its thread_local destructors (the thread-exit hook) included.
inline std::uintptr_t this_thread() noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
  return reinterpret_cast<std::uintptr_t>(__builtin_thread_pointer());
#else
  const pthread_t self = ::pthread_self();
  std::uintptr_t id = 0;
  std::memcpy(&id, &self, sizeof self < sizeof id ? sizeof self : sizeof id);
  return id;
#endif
}

// One attachment's side of the writer lock, process-local (WriterLock: lock,
// unlock, held, forget_after_fork, initialise). It must not move while it
// exists (the thread-exit and re-entry checks find it by address).
class WriterLockOwner final : public WriterLock, private WriterLockOs {
 public:
  // Binds to the attachment's own open file description `fd` of the object
  // identified by (`device`, `inode`), and makes the lock findable by the
  // thread-exit hook and the re-entry check. Before this, locking fails. In
  // a child forked without exec, forget_after_fork(): the child's slot is
  // claimed afresh on its own description.
  void bind(int fd, dev_t device, ino_t inode) noexcept;
  // In a child forked without exec: 0 when it has a description of its
  // own, else the errno of its failure to get one (Attachment::lent; EMFILE
  // when out of descriptors). Sharing the parent's, it claims no owner
  // slot, whose liveness token would be the parent's too: locking fails
  // with SHAREDMEM_E_SYSTEM and that errno.
  void set_shares_parents_description(int why) noexcept { shares_parents_description_ = why; }

 private:
  bool sleep(std::atomic<std::uint32_t>& word, std::uint32_t expected,
             std::chrono::nanoseconds timeout) noexcept override;
  void wake_one(std::atomic<std::uint32_t>& word) noexcept override;
  Token take_token(std::uint32_t slot) noexcept override;
  void drop_token(std::uint32_t slot) noexcept override;
  void note_no_free_slot() noexcept override;

  int fd_ = -1;
  int shares_parents_description_ = 0;  // why, as an errno; 0: it does not
};

}  // namespace sharedmem::platform::posix

#endif  // SHAREDMEM_PLATFORM_LINUX_WRITER_LOCK_LINUX_HPP
