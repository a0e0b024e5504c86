// SPDX-License-Identifier: MIT
// The writer lock (writer_lock.hpp, lock_word.hpp), the same on every OS.
// The steps marked [Lx]/[Ux]/[Cx]/[Tx] are the ones the Promela model
// (linux/writer_lock.pml) stands for.
#include "writer_lock.hpp"

#include <mutex>
#include <new>
#include <thread>

namespace sharedmem::platform {

namespace {
// Every bound lock of this process. At namespace scope, as every object of
// the library that is made once (tests/check_no_guarded_statics.cmake):
// nothing is initialised on first use (std::mutex has no constant
// initialisation on every platform). Never destroyed: a thread-exit hook
// that runs after the library's static destructors (FlsFree at unload
// calls it for every armed thread) still finds it.
// Made in static storage, not on the heap: an unloaded library leaks nothing.
alignas(std::mutex) unsigned char g_registry_mutex_storage[sizeof(std::mutex)];
std::mutex* const g_registry_mutex = new (g_registry_mutex_storage) std::mutex;
WriterLock* g_registry_head = nullptr;
}  // namespace

struct WriterLockRegistry {
  static std::mutex& mutex() { return *g_registry_mutex; }
  static WriterLock*& head() { return g_registry_head; }
  static void add(WriterLock& lock);
  static void remove(WriterLock& lock) noexcept;
};

namespace {

using lock_word::kFreeOwnerDied;
using lock_word::kWaiters;
using lock_word::Meaning;

// Spins before a contended locker sleeps: a holder's write of a small value
// takes well under a microsecond.
constexpr int kSpins = 64;
// A sleeping locker wakes at least this often to check that the holder's
// attachment is alive (a killed holder wakes nobody), starting at the first
// and doubling up to the second.
constexpr std::chrono::milliseconds kFirstSlice{1};
constexpr std::chrono::milliseconds kLongestSlice{64};
// Owner slots an attachment tries before it gives up (each a system call;
// collisions are rare: slots are drawn from 2^20).
constexpr std::uint32_t kClaimAttempts = 64;

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Before a locker sleeps on the shared word: sets its waiters bit, so that
// the holder's release wakes a sleeper. `seen` is the word as last read.
// False when the word changed meanwhile (`seen` then holds the new value:
// look again); true with the bit in `seen`, the value to sleep on.
bool announce_sleeper(std::atomic<std::uint32_t>& word, std::uint32_t& seen) noexcept {
  if ((seen & kWaiters) != 0) return true;
  if (!word.compare_exchange_strong(seen, seen | kWaiters, std::memory_order_relaxed))
    return false;
  seen |= kWaiters;
  return true;
}

}  // namespace

void WriterLockRegistry::add(WriterLock& lock) {
  const std::lock_guard<std::mutex> guard(mutex());
  if (lock.registered_) return;
  lock.next_ = head();
  if (head()) head()->previous_ = &lock;
  head() = &lock;
  lock.registered_ = true;
}

void WriterLockRegistry::remove(WriterLock& lock) noexcept {
  const std::lock_guard<std::mutex> guard(mutex());
  if (!lock.registered_) return;
  if (lock.previous_) lock.previous_->next_ = lock.next_;
  if (lock.next_) lock.next_->previous_ = lock.previous_;
  if (head() == &lock) head() = lock.next_;
  lock.previous_ = lock.next_ = nullptr;
  lock.registered_ = false;
}

void WriterLock::abandon_all(std::uintptr_t thread) noexcept {
  const std::lock_guard<std::mutex> guard(WriterLockRegistry::mutex());
  for (WriterLock* lock = WriterLockRegistry::head(); lock != nullptr; lock = lock->next_)
    lock->abandon_if_held_by(thread);
}

void WriterLock::hold_registry_for_fork() noexcept { WriterLockRegistry::mutex().lock(); }

void WriterLock::release_registry_after_fork() noexcept { WriterLockRegistry::mutex().unlock(); }

WriterLock::~WriterLock() { WriterLockRegistry::remove(*this); }

void WriterLock::bind(WriterLockOs& os, ObjectIdentity object) noexcept {
  os_ = &os;
  object_ = object;
  try {
    WriterLockRegistry::add(*this);
  } catch (...) {  // std::system_error from the mutex: no thread-exit or re-entry check
  }
}

void WriterLock::initialise(lock_word::Shared& shared) noexcept {
  shared.state.store(0, std::memory_order_relaxed);
  shared.magic.store(lock_word::kMagic, std::memory_order_release);
}

void WriterLock::forget_after_fork() noexcept {
  holder_.store(0, std::memory_order_relaxed);
  mine_.store(0, std::memory_order_relaxed);
}

// The uncontended attempt (writer_lock.hpp: lock) found something in its
// way; this does its steps again, each one ready for what it may find.
SHAREDMEM_LOCK_SLOW_PATH LockResult WriterLock::lock_slow(lock_word::Shared& shared,
                                                          Deadline deadline, LockHold hold,
                                                          std::uintptr_t self,
                                                          bool holding) noexcept {
  // A thread that slept on the shared word waiting for the holder word may
  // have taken the one wake a release gave, meant for a locker of another
  // attachment: it then takes the shared word with the waiters bit, so
  // that its own release wakes the next sleeper rather than leave it to
  // the end of its slice.
  bool slept = false;
  if (!holding) {
    if (shared.magic.load(std::memory_order_relaxed) != lock_word::kMagic)
      return LockResult::kCorrupted;
    // [L1] The holder word: which thread of this process holds the lock
    // through this attachment.
    std::uintptr_t holder = 0;
    if (!holder_.compare_exchange_strong(holder, self, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      if (holder == self) return LockResult::kReentered;
      if (const LockResult local = take_holder_word(shared, self, deadline.when(), slept);
          local != LockResult::kAcquired)
        return local;
    }
  }
  std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  if (mine == 0) {
    if (!claim_slot()) {
      holder_.store(0, std::memory_order_release);
      return LockResult::kError;
    }
    mine = mine_.load(std::memory_order_relaxed);
  }
  // [L2] The shared word, uncontended: free -> held by this attachment's slot.
  std::uint32_t seen = 0;
  LockResult result = LockResult::kAcquired;
  if (!shared.state.compare_exchange_strong(seen, slept ? (mine | kWaiters) : mine,
                                            std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
    result = lock_contended(shared, seen, deadline.when(), self, slept);
    if (result != LockResult::kAcquired && result != LockResult::kOwnerDied) {
      holder_.store(0, std::memory_order_release);
      return result;
    }
  }
  shared_ = &shared;
  if (hold == LockHold::kAcrossCalls) arm_thread_exit_hook();
  return result;
}

LockResult WriterLock::take_holder_word(lock_word::Shared& shared, std::uintptr_t self,
                                        std::chrono::steady_clock::time_point deadline,
                                        bool& slept) noexcept {
  bool woken = false;  // the last sleep ended before its time did
  for (int attempt = 0;; ++attempt) {
    std::uintptr_t holder = 0;
    if (holder_.compare_exchange_strong(holder, self, std::memory_order_acquire,
                                        std::memory_order_relaxed))
      return LockResult::kAcquired;
    if (holder == self) return LockResult::kReentered;
    if (attempt < kSpins) {
      cpu_relax();
      continue;
    }
    std::uint32_t state = shared.state.load(std::memory_order_relaxed);
    const Meaning meaning = lock_word::meaning_of(state);
    // [L1b] A wake this thread took may have been the one a release of the
    // shared word gave for one of its lockers (the thread that holds the
    // holder word, asleep for the shared word, among them). If this thread
    // cannot use it now (the word is not held, or this thread gives up), it
    // passes it on, or that locker would sleep to the end of its slice
    // while the lock is free.
    const auto now = std::chrono::steady_clock::now();
    if (woken && (meaning != Meaning::kHeld || now >= deadline)) {
      woken = false;
      os_->wake_one(shared.state);
    }
    if (now >= deadline) return LockResult::kTimeout;
    if (meaning == Meaning::kCorrupted) return LockResult::kCorrupted;
    if (meaning != Meaning::kHeld) {
      // The other thread is between the two words: a moment.
      std::this_thread::yield();
      continue;
    }
    // Sleep on the shared word like any locker: its release wakes us.
    if (!announce_sleeper(shared.state, state)) continue;
    const auto left = deadline - now;
    woken = !os_->sleep(shared.state, state, left < kLongestSlice ? left : kLongestSlice);
    slept = true;
  }
}

LockResult WriterLock::lock_contended(lock_word::Shared& shared, std::uint32_t seen,
                                      std::chrono::steady_clock::time_point deadline,
                                      std::uintptr_t self, bool waited) noexcept {
  const std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  int spins = 0;
  std::chrono::milliseconds slice = kFirstSlice;
  // When the current slice ends, in time elapsed, not in sleeps: a sleep
  // cut short (a signal whose handler does not restart calls, a wake for
  // another locker, the word changing) goes back to sleep only for the rest
  // of the slice, so that a stream of interruptions cannot keep [L7] from
  // ever looking at the holder. Unset (the epoch) until the first sleep.
  using clock = std::chrono::steady_clock;
  clock::time_point slice_end{};
  for (;;) {
    // Once this locker has slept, others may sleep too: it keeps the
    // waiters bit, so that its release wakes the next.
    const std::uint32_t want = waited ? (mine | kWaiters) : mine;
    switch (lock_word::meaning_of(seen)) {
      case Meaning::kCorrupted:
        return LockResult::kCorrupted;
      case Meaning::kFree:  // [L3]
        if (shared.state.compare_exchange_strong(seen, want, std::memory_order_acquire,
                                                 std::memory_order_relaxed))
          return LockResult::kAcquired;
        continue;
      case Meaning::kFreeAfterDeath:  // [L4]
        if (shared.state.compare_exchange_strong(seen, want, std::memory_order_acquire,
                                                 std::memory_order_relaxed))
          return LockResult::kOwnerDied;
        continue;
      case Meaning::kHeld:
        break;
    }
    if ((seen & ~kWaiters) == mine) {
      // [L5] Held through this attachment's own slot while this thread holds
      // the holder word: every live thread here releases the shared word
      // before the holder word, so no live thread holds it. The slot's
      // earlier owner (an attachment whose process died) held it, or a
      // scribbler wrote it.
      if (shared.state.compare_exchange_strong(seen, mine | (seen & kWaiters),
                                               std::memory_order_acquire,
                                               std::memory_order_relaxed))
        return LockResult::kOwnerDied;
      continue;
    }
    const std::uint32_t slot = lock_word::slot_of(seen);
    if (held_elsewhere_by(slot, self)) return LockResult::kReentered;
    if (spins < kSpins) {
      ++spins;
      cpu_relax();
      seen = shared.state.load(std::memory_order_relaxed);
      continue;
    }
    const auto now = clock::now();
    if (now >= deadline) return LockResult::kTimeout;
    // [L6] Announce a sleeper, then sleep while the word is unchanged.
    if (!announce_sleeper(shared.state, seen)) continue;
    if (slice_end == clock::time_point{}) slice_end = now + slice;
    bool slice_ended = now >= slice_end;
    if (!slice_ended) {
      const auto until = deadline < slice_end ? deadline : slice_end;
      slice_ended = os_->sleep(shared.state, seen, until - now) || clock::now() >= slice_end;
    }
    waited = true;
    if (slice_ended) {
      // [L7] The holder kept it a whole slice: if its attachment is gone
      // (the OS dropped its token), take the token for the moment, so that
      // no new attachment claims the slot meanwhile, and the lock with it.
      if (os_->take_token(slot) == WriterLockOs::Token::kTaken) {
        std::uint32_t now_seen = shared.state.load(std::memory_order_relaxed);
        const bool taken =
            (now_seen & ~kWaiters) == (seen & ~kWaiters) &&
            shared.state.compare_exchange_strong(now_seen, mine | kWaiters,
                                                 std::memory_order_acquire,
                                                 std::memory_order_relaxed);
        os_->drop_token(slot);
        if (taken) return LockResult::kOwnerDied;
      }
      if (slice < kLongestSlice) slice *= 2;
      slice_end = clock::time_point{};  // the next sleep starts the next slice
    }
    seen = shared.state.load(std::memory_order_relaxed);
  }
}

bool WriterLock::claim_slot() noexcept {
  if (os_ == nullptr) return false;
  // A start that differs between attachments, so that claims rarely collide.
  std::uint64_t start = static_cast<std::uint64_t>(current_thread()) * 0x9e37'79b9'7f4a'7c15ull ^
                        reinterpret_cast<std::uintptr_t>(this) ^
                        static_cast<std::uint64_t>(
                            std::chrono::steady_clock::now().time_since_epoch().count());
  start ^= start >> 29;
  for (std::uint32_t attempt = 0; attempt < kClaimAttempts; ++attempt) {
    const auto slot = static_cast<std::uint32_t>((start + attempt) % lock_word::kOwnerSlots);
    switch (os_->take_token(slot)) {
      case WriterLockOs::Token::kTaken:
        mine_.store(lock_word::held_by(slot), std::memory_order_relaxed);
        return true;
      case WriterLockOs::Token::kInUse:
        continue;
      case WriterLockOs::Token::kError:
        return false;
    }
  }
  os_->note_no_free_slot();
  return false;
}

// True when `self` holds the lock of the same object through another
// attachment of this process, whose slot is `slot`: locking it again would
// wait for itself.
bool WriterLock::held_elsewhere_by(std::uint32_t slot, std::uintptr_t self) const noexcept {
  // Never waits: a signal handler may have interrupted a thread that holds
  // the registry's mutex.
  std::unique_lock<std::mutex> guard(WriterLockRegistry::mutex(), std::try_to_lock);
  if (!guard.owns_lock()) return false;
  for (const WriterLock* lock = WriterLockRegistry::head(); lock != nullptr; lock = lock->next_) {
    if (lock != this && lock->object_ == object_ &&
        lock->mine_.load(std::memory_order_relaxed) == lock_word::held_by(slot) &&
        lock->holder_.load(std::memory_order_relaxed) == self)
      return true;
  }
  return false;
}

// [U1] with a word that was not exactly this slot's when release_shared
// (writer_lock.hpp) looked: keeps the waiters bit's news, then [U2].
SHAREDMEM_LOCK_SLOW_PATH bool WriterLock::release_announced(lock_word::Shared& shared,
                                                            std::uint32_t seen,
                                                            std::uint32_t to) noexcept {
  const std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  do {
    if ((seen & ~kWaiters) != mine) return false;
  } while (!shared.state.compare_exchange_weak(seen, to, std::memory_order_release,
                                               std::memory_order_relaxed));
  if ((seen & kWaiters) != 0) os_->wake_one(shared.state);  // [U2]
  return true;
}

void WriterLock::abandon_if_held_by(std::uintptr_t thread) noexcept {
  if (holder_.load(std::memory_order_relaxed) != thread || shared_ == nullptr) return;
  (void)release_shared(*shared_, kFreeOwnerDied);  // [T1]
  holder_.store(0, std::memory_order_release);
}

}  // namespace sharedmem::platform
