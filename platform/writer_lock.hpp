// SPDX-License-Identifier: MIT
// The writer lock (platform.hpp: lock_writer, unlock_writer), the part that
// is the same on every OS: the shared words of lock_word.hpp, the
// process-local holder word, owner-slot takeover, re-entry detection and
// the thread-exit handover. What differs per OS is behind WriterLockOs: how
// a locker sleeps on the shared word and wakes one sleeper (a futex on
// Linux, a named event on Windows) and what an owner slot's liveness token
// is (an OFD byte lock on Linux, a named kernel object on Windows).
//
// Two levels: a thread first takes its attachment's process-local holder
// word (which names the thread), then the shared state word (which names
// the attachment's slot). It releases them in the opposite order: so a
// thread that holds the holder word and finds the shared word naming its own
// slot knows that no live thread holds it through that slot (a dead earlier
// owner of the slot, or a scribble) and takes it over.
//
// The uncontended lock and unlock are atomic operations on these words
// only; WriterLockOs is called only when the lock is contended (or, for a
// lock kept across calls, to arm the thread-exit hook).
#ifndef SHAREDMEM_PLATFORM_WRITER_LOCK_HPP
#define SHAREDMEM_PLATFORM_WRITER_LOCK_HPP

#include <atomic>
#include <chrono>
#include <cstdint>

#include "lock_word.hpp"
#include "platform.hpp"

namespace sharedmem::platform {

// What the writer lock needs from the OS, for one attachment.
class WriterLockOs {
 public:
  enum class Token {
    kTaken,  // this attachment holds the slot's liveness token now
    kInUse,  // a live attachment (of any process, this one too) holds it
    kError,  // the OS refused otherwise (noted for take_os_error)
  };
  // Sleeps while `word` holds `expected`, at most `timeout` (it may return
  // earlier, spuriously too). True when the timeout ended the sleep.
  virtual bool sleep(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     std::chrono::nanoseconds timeout) noexcept = 0;
  // Wakes at least one sleeper on `word`, in any process, if there is one;
  // a sleeper about to sleep on the value it read before the change does
  // not miss it.
  virtual void wake_one(std::atomic<std::uint32_t>& word) noexcept = 0;
  // Takes owner slot `slot`'s liveness token without waiting. The OS drops
  // it when the attachment's process ends, however it ends.
  virtual Token take_token(std::uint32_t slot) noexcept = 0;
  // Gives back a token taken with take_token.
  virtual void drop_token(std::uint32_t slot) noexcept = 0;
  // Notes for take_os_error that every owner slot tried was in use.
  virtual void note_no_free_slot() noexcept = 0;

 protected:
  ~WriterLockOs() = default;
};

// The calling thread's identity within its process (never 0), and the
// thread-exit hook: after arm_thread_exit_hook, the calling thread's end
// calls WriterLock::abandon_all(its identity). Defined per OS.
std::uintptr_t current_thread() noexcept;
void arm_thread_exit_hook() noexcept;

// Which object an attachment is to: two attachments of one process to the
// same object have equal identities (the re-entry check across handles).
struct ObjectIdentity {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  bool operator==(const ObjectIdentity& other) const noexcept {
    return high == other.high && low == other.low;
  }
};

// One attachment's side of the writer lock, process-local. It must not move
// while it exists (the thread-exit and re-entry checks find it by address).
class WriterLock {
 public:
  WriterLock() = default;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

  // Binds to the attachment's OS side `os` (which must outlive this) of the
  // object `object`, and makes the lock findable by the thread-exit hook and
  // the re-entry check. Before this, locking fails.
  void bind(WriterLockOs& os, ObjectIdentity object) noexcept;

  LockResult lock(lock_word::Shared& shared, Deadline deadline, LockHold hold) noexcept;
  bool unlock(lock_word::Shared& shared) noexcept;
  // True while some thread of this process holds the lock through it.
  bool held() const noexcept { return holder_.load(std::memory_order_acquire) != 0; }

  // In a child forked without exec, for the attachment's copy: no thread of
  // the child holds the lock (the forking thread's hold stays the parent's),
  // and the child's slot is claimed afresh (`may_claim`: it has a liveness
  // token of its own to claim with; if not, locking then fails).
  void forget_after_fork(bool may_claim) noexcept;

  // The lock's words in a freshly initialised object.
  static void initialise(lock_word::Shared& shared) noexcept;

  // The thread-exit hook's work: frees, with "owner died", every lock that
  // `thread` holds through any attachment of this process.
  static void abandon_all(std::uintptr_t thread) noexcept;

  // Around fork() (the backend's fork handlers): holds the registry of this
  // process's locks from before the fork until after it in both processes,
  // so that the child never inherits it taken by a thread it does not have
  // (its next open, close or thread exit would wait for ever).
  static void hold_registry_for_fork() noexcept;
  static void release_registry_after_fork() noexcept;

 private:
  friend struct WriterLockRegistry;

  void abandon_if_held_by(std::uintptr_t thread) noexcept;
  LockResult lock_contended(lock_word::Shared& shared, std::uint32_t seen,
                            std::chrono::steady_clock::time_point deadline,
                            std::uintptr_t self) noexcept;
  LockResult take_holder_word(lock_word::Shared& shared, std::uintptr_t self,
                              std::chrono::steady_clock::time_point deadline) noexcept;
  bool claim_slot() noexcept;
  bool held_elsewhere_by(std::uint32_t slot, std::uintptr_t self) const noexcept;
  bool release_shared(lock_word::Shared& shared, std::uint32_t to) noexcept;

  // The thread (current_thread) that holds the lock through this attachment, 0: none.
  std::atomic<std::uintptr_t> holder_{0};
  // held_by(slot) once the slot is claimed; 0 before. Written under holder_
  // (read by other threads' re-entry checks, hence atomic).
  std::atomic<std::uint32_t> mine_{0};
  // The shared words, as of the last acquisition (for the thread-exit hook).
  lock_word::Shared* shared_ = nullptr;
  WriterLockOs* os_ = nullptr;
  bool may_claim_ = false;
  ObjectIdentity object_;
  // All bound locks of this process, under the registry's mutex.
  WriterLock* previous_ = nullptr;
  WriterLock* next_ = nullptr;
  bool registered_ = false;
};

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_WRITER_LOCK_HPP
