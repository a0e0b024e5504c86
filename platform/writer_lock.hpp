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
// only, inline below, so that a backend's lock_writer and unlock_writer are
// one function each down to the words; everything else (a contended,
// corrupted or re-entered lock, the first lock that claims an owner slot, a
// release that must wake a sleeper) is out of line in writer_lock.cpp.
// WriterLockOs is called only when the lock is contended (or, for a lock
// kept across calls, to arm the thread-exit hook).
#ifndef SHAREDMEM_PLATFORM_WRITER_LOCK_HPP
#define SHAREDMEM_PLATFORM_WRITER_LOCK_HPP

#include <atomic>
#include <chrono>
#include <cstdint>

#include "lock_word.hpp"
#include "platform.hpp"

#if defined(__GNUC__)
#define SHAREDMEM_LOCK_SLOW_PATH __attribute__((noinline, cold))
#else
#define SHAREDMEM_LOCK_SLOW_PATH
#endif

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

  // lock_writer and unlock_writer (platform.hpp) on the words `shared`, for
  // the calling thread. `self` is its current_thread(), for a backend that
  // has it at hand more cheaply than a call (Linux: the thread pointer).
  LockResult lock(lock_word::Shared& shared, Deadline deadline, LockHold hold) noexcept {
    return lock(shared, deadline, hold, current_thread());
  }
  LockResult lock(lock_word::Shared& shared, Deadline deadline, LockHold hold,
                  std::uintptr_t self) noexcept;
  bool unlock(lock_word::Shared& shared) noexcept { return unlock(shared, current_thread()); }
  bool unlock(lock_word::Shared& shared, std::uintptr_t self) noexcept;
  // True while some thread of this process holds the lock through it.
  bool held() const noexcept { return holder_.load(std::memory_order_acquire) != 0; }

  // In a child forked without exec, for the attachment's copy: no thread of
  // the child holds the lock (the forking thread's hold stays the parent's),
  // and the child's slot is claimed afresh, with a liveness token of its own.
  void forget_after_fork() noexcept;

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
  // lock() when its uncontended attempt did not get the lock: `holding`
  // when this thread took the holder word already.
  SHAREDMEM_LOCK_SLOW_PATH LockResult lock_slow(lock_word::Shared& shared, Deadline deadline,
                                                LockHold hold, std::uintptr_t self,
                                                bool holding) noexcept;
  // `waited`: this locker slept on the shared word already (it keeps the
  // waiters bit from then on).
  LockResult lock_contended(lock_word::Shared& shared, std::uint32_t seen,
                            std::chrono::steady_clock::time_point deadline, std::uintptr_t self,
                            bool waited) noexcept;
  // [L1] when another thread of this process holds the holder word; sets
  // `slept` when it slept on the shared word meanwhile.
  LockResult take_holder_word(lock_word::Shared& shared, std::uintptr_t self,
                              std::chrono::steady_clock::time_point deadline,
                              bool& slept) noexcept;
  bool claim_slot() noexcept;
  bool held_elsewhere_by(std::uint32_t slot, std::uintptr_t self) const noexcept;
  bool release_shared(lock_word::Shared& shared, std::uint32_t to) noexcept;
  // release_shared when the word was not exactly this slot's (`seen`): a
  // sleeper announced itself, or a scribbler changed it.
  SHAREDMEM_LOCK_SLOW_PATH bool release_announced(lock_word::Shared& shared, std::uint32_t seen,
                                                  std::uint32_t to) noexcept;

  // The thread (current_thread) that holds the lock through this attachment, 0: none.
  std::atomic<std::uintptr_t> holder_{0};
  // held_by(slot) once the slot is claimed; 0 before. Written under holder_
  // (read by other threads' re-entry checks, hence atomic).
  std::atomic<std::uint32_t> mine_{0};
  // The shared words, as of the last acquisition (for the thread-exit hook).
  lock_word::Shared* shared_ = nullptr;
  WriterLockOs* os_ = nullptr;
  ObjectIdentity object_;
  // All bound locks of this process, under the registry's mutex.
  WriterLock* previous_ = nullptr;
  WriterLock* next_ = nullptr;
  bool registered_ = false;
};

// The uncontended lock: the holder word free -> this thread ([L1]), then the
// shared word free -> this attachment's slot ([L2]). Anything else (a
// corrupted lock area, the holder word taken, no slot claimed yet, the
// shared word not free) goes to lock_slow, which looks at it all again.
inline LockResult WriterLock::lock(lock_word::Shared& shared, Deadline deadline, LockHold hold,
                                   std::uintptr_t self) noexcept {
  if (shared.magic.load(std::memory_order_relaxed) != lock_word::kMagic)
    return lock_slow(shared, deadline, hold, self, false);
  std::uintptr_t holder = 0;
  if (!holder_.compare_exchange_strong(holder, self, std::memory_order_acquire,
                                       std::memory_order_relaxed))
    return lock_slow(shared, deadline, hold, self, false);
  const std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  std::uint32_t seen = 0;
  if (mine == 0 || !shared.state.compare_exchange_strong(seen, mine, std::memory_order_acquire,
                                                         std::memory_order_relaxed))
    return lock_slow(shared, deadline, hold, self, true);
  shared_ = &shared;
  if (hold == LockHold::kAcrossCalls) arm_thread_exit_hook();
  return LockResult::kAcquired;
}

// [U1] Frees the shared word, held by this attachment's slot, into `to`
// (free, or free with "owner died"); wakes one sleeper if any announced
// itself ([U2], in release_announced). False, changing nothing, when the
// word is not this slot's (a scribbler changed it: it stays as it is,
// CORRUPTED or held, for everyone).
inline bool WriterLock::release_shared(lock_word::Shared& shared, std::uint32_t to) noexcept {
  std::uint32_t seen = mine_.load(std::memory_order_relaxed);
  return shared.state.compare_exchange_strong(seen, to, std::memory_order_release,
                                              std::memory_order_relaxed) ||
         release_announced(shared, seen, to);
}

inline bool WriterLock::unlock(lock_word::Shared& shared, std::uintptr_t self) noexcept {
  if (holder_.load(std::memory_order_relaxed) != self) return false;
  (void)release_shared(shared, 0);
  holder_.store(0, std::memory_order_release);  // [U3] after the shared word
  return true;
}

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_WRITER_LOCK_HPP
