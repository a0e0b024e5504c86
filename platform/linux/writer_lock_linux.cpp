// SPDX-License-Identifier: MIT
// The Linux writer lock (writer_lock_linux.hpp, lock_word.hpp). The steps
// marked [Lx]/[Ux]/[Cx]/[Tx] are the ones the Promela model
// (writer_lock.pml, next to this file) stands for.
#include "writer_lock_linux.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "os_error.hpp"

namespace sharedmem::platform::posix {

struct OwnerRegistry {
  static std::mutex& mutex() {
    static std::mutex registry_mutex;
    return registry_mutex;
  }
  static WriterLockOwner*& head() {
    static WriterLockOwner* owners = nullptr;
    return owners;
  }
  static void add(WriterLockOwner& owner);
  static void remove(WriterLockOwner& owner) noexcept;
  static void abandon_all(std::uintptr_t thread) noexcept;
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

std::uintptr_t this_thread() noexcept {
  const pthread_t self = ::pthread_self();
  std::uintptr_t id = 0;
  std::memcpy(&id, &self, sizeof self < sizeof id ? sizeof self : sizeof id);
  return id;
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

std::uint32_t* futex_address(std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(&word);
}

// Sleeps while `word` holds `expected`, at most `timeout`. 0 when woken,
// else errno (ETIMEDOUT, EAGAIN: the word changed, EINTR). Process-shared:
// the holder may be in another process.
int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) noexcept {
  struct timespec relative {};
  relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  return ::syscall(SYS_futex, futex_address(word), FUTEX_WAIT, expected, &relative, nullptr, 0) ==
                 0
             ? 0
             : errno;
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

void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, futex_address(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Sets (F_WRLCK) or clears (F_UNLCK) owner slot `slot`'s liveness token
// without waiting: 0, or errno (EAGAIN: another description holds it).
int token_lock(int fd, std::uint32_t slot, short type) noexcept {
  struct flock token {};
  token.l_type = type;
  token.l_whence = SEEK_SET;
  token.l_start = kSlotTokenBase + static_cast<off_t>(slot);
  token.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &token) == 0 ? 0 : errno;
}

// Frees the locks of a thread that ends while holding them (an in-place
// write or a raw lock kept across calls): the next locker gets them as
// "owner died", as if the thread's process had died.
struct ThreadExitHook {
  bool armed = false;
  ~ThreadExitHook() {
    if (armed) OwnerRegistry::abandon_all(this_thread());
  }
};
thread_local ThreadExitHook t_exit_hook;

}  // namespace

void OwnerRegistry::add(WriterLockOwner& owner) {
  const std::lock_guard<std::mutex> lock(mutex());
  if (owner.registered_) return;
  owner.next_ = head();
  if (head()) head()->previous_ = &owner;
  head() = &owner;
  owner.registered_ = true;
}

void OwnerRegistry::remove(WriterLockOwner& owner) noexcept {
  const std::lock_guard<std::mutex> lock(mutex());
  if (!owner.registered_) return;
  if (owner.previous_) owner.previous_->next_ = owner.next_;
  if (owner.next_) owner.next_->previous_ = owner.previous_;
  if (head() == &owner) head() = owner.next_;
  owner.previous_ = owner.next_ = nullptr;
  owner.registered_ = false;
}

void OwnerRegistry::abandon_all(std::uintptr_t thread) noexcept {
  const std::lock_guard<std::mutex> lock(mutex());
  for (WriterLockOwner* owner = head(); owner != nullptr; owner = owner->next_)
    owner->abandon_if_held_by(thread);
}

WriterLockOwner::~WriterLockOwner() { OwnerRegistry::remove(*this); }

void WriterLockOwner::bind(int fd, dev_t device, ino_t inode) noexcept {
  fd_ = fd;
  device_ = device;
  inode_ = inode;
  may_claim_ = true;
  try {
    OwnerRegistry::add(*this);
  } catch (...) {  // std::system_error from the mutex: no thread-exit or re-entry check
  }
}

void WriterLockOwner::initialise(lock_word::Shared& shared) noexcept {
  shared.state.store(0, std::memory_order_relaxed);
  shared.magic.store(lock_word::kMagic, std::memory_order_release);
}

void WriterLockOwner::forget_after_fork(bool own_description) noexcept {
  holder_.store(0, std::memory_order_relaxed);
  mine_.store(0, std::memory_order_relaxed);
  may_claim_ = own_description;
}

LockResult WriterLockOwner::lock(lock_word::Shared& shared, Deadline deadline,
                                 LockHold hold) noexcept {
  if (shared.magic.load(std::memory_order_relaxed) != lock_word::kMagic)
    return LockResult::kCorrupted;
  const std::uintptr_t self = this_thread();
  // [L1] The holder word: which thread of this process holds the lock
  // through this attachment.
  std::uintptr_t holder = 0;
  if (!holder_.compare_exchange_strong(holder, self, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
    if (holder == self) return LockResult::kReentered;
    if (const LockResult local = take_holder_word(shared, self, deadline.when());
        local != LockResult::kAcquired)
      return local;
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
  if (!shared.state.compare_exchange_strong(seen, mine, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
    result = lock_contended(shared, seen, deadline.when(), self);
    if (result != LockResult::kAcquired && result != LockResult::kOwnerDied) {
      holder_.store(0, std::memory_order_release);
      return result;
    }
  }
  shared_ = &shared;
  if (hold == LockHold::kAcrossCalls) t_exit_hook.armed = true;
  return result;
}

LockResult WriterLockOwner::take_holder_word(lock_word::Shared& shared, std::uintptr_t self,
                                             std::chrono::steady_clock::time_point deadline) noexcept {
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
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return LockResult::kTimeout;
    std::uint32_t state = shared.state.load(std::memory_order_relaxed);
    const Meaning meaning = lock_word::meaning_of(state);
    if (meaning == Meaning::kCorrupted) return LockResult::kCorrupted;
    if (meaning != Meaning::kHeld) {
      // The other thread is between the two words: a moment.
      ::sched_yield();
      continue;
    }
    // Sleep on the shared word like any locker: its release wakes us.
    if (!announce_sleeper(shared.state, state)) continue;
    const auto left = deadline - now;
    (void)futex_wait(shared.state, state, left < kLongestSlice ? left : kLongestSlice);
  }
}

LockResult WriterLockOwner::lock_contended(lock_word::Shared& shared, std::uint32_t seen,
                                           std::chrono::steady_clock::time_point deadline,
                                           std::uintptr_t self) noexcept {
  const std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  bool waited = false;
  int spins = 0;
  std::chrono::milliseconds slice = kFirstSlice;
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
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return LockResult::kTimeout;
    // [L6] Announce a sleeper, then sleep while the word is unchanged.
    if (!announce_sleeper(shared.state, seen)) continue;
    const auto left = deadline - now;
    const int woke = futex_wait(shared.state, seen, left < slice ? left : slice);
    waited = true;
    if (woke == ETIMEDOUT) {
      // [L7] The holder kept it a whole slice: if its attachment is gone
      // (the OS dropped its token), take the token for the moment, so that
      // no new attachment claims the slot meanwhile, and the lock with it.
      if (token_lock(fd_, slot, F_WRLCK) == 0) {
        std::uint32_t now_seen = shared.state.load(std::memory_order_relaxed);
        const bool taken =
            (now_seen & ~kWaiters) == (seen & ~kWaiters) &&
            shared.state.compare_exchange_strong(now_seen, mine | kWaiters,
                                                 std::memory_order_acquire,
                                                 std::memory_order_relaxed);
        (void)token_lock(fd_, slot, F_UNLCK);
        if (taken) return LockResult::kOwnerDied;
      }
      if (slice < kLongestSlice) slice *= 2;
    }
    seen = shared.state.load(std::memory_order_relaxed);
  }
}

bool WriterLockOwner::claim_slot() noexcept {
  if (!may_claim_ || fd_ < 0) return false;
  // A start that differs between attachments, so that claims rarely collide.
  std::uint64_t start = static_cast<std::uint64_t>(::getpid()) * 0x9e37'79b9'7f4a'7c15ull ^
                        reinterpret_cast<std::uintptr_t>(this) ^
                        static_cast<std::uint64_t>(
                            std::chrono::steady_clock::now().time_since_epoch().count());
  start ^= start >> 29;
  for (std::uint32_t attempt = 0; attempt < kClaimAttempts; ++attempt) {
    const auto slot = static_cast<std::uint32_t>((start + attempt) % lock_word::kOwnerSlots);
    const int error = token_lock(fd_, slot, F_WRLCK);
    if (error == 0) {
      slot_ = slot;
      mine_.store(lock_word::held_by(slot), std::memory_order_relaxed);
      return true;
    }
    if (error != EAGAIN && error != EACCES) {
      (void)record_os_error(SHAREDMEM_E_SYSTEM, error);
      return false;
    }
  }
  (void)record_os_error(SHAREDMEM_E_SYSTEM, EAGAIN);
  return false;
}

// True when `self` holds the lock of the same object through another
// attachment of this process, whose slot is `slot`: locking it again would
// wait for itself.
bool WriterLockOwner::held_elsewhere_by(std::uint32_t slot, std::uintptr_t self) const noexcept {
  // Never waits: a signal handler may have interrupted a thread that holds
  // the registry's mutex.
  std::unique_lock<std::mutex> lock(OwnerRegistry::mutex(), std::try_to_lock);
  if (!lock.owns_lock()) return false;
  for (const WriterLockOwner* owner = OwnerRegistry::head(); owner != nullptr;
       owner = owner->next_) {
    if (owner != this && owner->device_ == device_ && owner->inode_ == inode_ &&
        owner->mine_.load(std::memory_order_relaxed) == lock_word::held_by(slot) &&
        owner->holder_.load(std::memory_order_relaxed) == self)
      return true;
  }
  return false;
}

// [U1] Frees the shared word, held by this attachment's slot, into `to`
// (free, or free with "owner died"); wakes one sleeper if any announced
// itself. False, changing nothing, when the word is not this slot's (a
// scribbler changed it: it stays as it is, CORRUPTED or held, for everyone).
bool WriterLockOwner::release_shared(lock_word::Shared& shared, std::uint32_t to) noexcept {
  const std::uint32_t mine = mine_.load(std::memory_order_relaxed);
  std::uint32_t seen = mine;
  while (!shared.state.compare_exchange_weak(seen, to, std::memory_order_release,
                                             std::memory_order_relaxed)) {
    if ((seen & ~kWaiters) != mine) return false;
  }
  if ((seen & kWaiters) != 0) futex_wake_one(shared.state);  // [U2]
  return true;
}

bool WriterLockOwner::unlock(lock_word::Shared& shared) noexcept {
  if (holder_.load(std::memory_order_relaxed) != this_thread()) return false;
  (void)release_shared(shared, 0);
  holder_.store(0, std::memory_order_release);  // [U3] after the shared word
  return true;
}

void WriterLockOwner::abandon_if_held_by(std::uintptr_t thread) noexcept {
  if (holder_.load(std::memory_order_relaxed) != thread || shared_ == nullptr) return;
  (void)release_shared(*shared_, kFreeOwnerDied);  // [T1]
  holder_.store(0, std::memory_order_release);
}

}  // namespace sharedmem::platform::posix
