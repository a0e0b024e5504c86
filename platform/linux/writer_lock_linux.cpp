// SPDX-License-Identifier: MIT
// The Linux side of the writer lock (writer_lock_linux.hpp): futex sleeps
// and wakes, OFD byte locks as the owner slots' liveness tokens, and the
// thread-exit hook as a thread_local destructor.
#include "writer_lock_linux.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "os_error.hpp"

namespace sharedmem::platform {
namespace {

std::uint32_t* futex_address(std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(&word);
}

// Sets (F_WRLCK) or clears (F_UNLCK) owner slot `slot`'s liveness token
// without waiting: 0, or errno (EAGAIN: another description holds it).
int token_lock(int fd, std::uint32_t slot, short type) noexcept {
  struct flock token {};
  token.l_type = type;
  token.l_whence = SEEK_SET;
  token.l_start = posix::kSlotTokenBase + static_cast<off_t>(slot);
  token.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &token) == 0 ? 0 : errno;
}

// Frees the locks of a thread that ends while holding them (an in-place
// write or a raw lock kept across calls): the next locker gets them as
// "owner died", as if the thread's process had died.
struct ThreadExitHook {
  bool armed = false;
  ~ThreadExitHook() {
    if (armed) WriterLock::abandon_all(current_thread());
  }
};
thread_local ThreadExitHook t_exit_hook;
// Whether the calling thread armed t_exit_hook already. Every raw lock arms
// the hook: this flag, initial-exec and trivially destructible, is read
// without a call, where t_exit_hook itself is reached through
// __tls_get_addr (its destructor makes a first access register it).
SHAREDMEM_SIGNAL_SAFE_TLS thread_local bool t_exit_hook_armed = false;

}  // namespace

std::uintptr_t current_thread() noexcept { return posix::this_thread(); }

void arm_thread_exit_hook() noexcept {
  if (t_exit_hook_armed) return;
  t_exit_hook.armed = true;
  t_exit_hook_armed = true;
}

namespace posix {

void WriterLockOwner::bind(int fd, dev_t device, ino_t inode) noexcept {
  fd_ = fd;
  WriterLock::bind(*this, ObjectIdentity{static_cast<std::uint64_t>(device),
                                         static_cast<std::uint64_t>(inode)});
}

// Process-shared: the holder may be in another process. True when the
// timeout ended the sleep (ETIMEDOUT); a wake, a changed word (EAGAIN) or a
// signal (EINTR) end it early.
bool WriterLockOwner::sleep(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            std::chrono::nanoseconds timeout) noexcept {
  struct timespec relative {};
  relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  return ::syscall(SYS_futex, futex_address(word), FUTEX_WAIT, expected, &relative, nullptr, 0) !=
             0 &&
         errno == ETIMEDOUT;
}

void WriterLockOwner::wake_one(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, futex_address(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

WriterLockOs::Token WriterLockOwner::take_token(std::uint32_t slot) noexcept {
  if (fd_ < 0) return Token::kError;
  if (shares_parents_description_ != 0) {
    (void)record_os_error(SHAREDMEM_E_SYSTEM, shares_parents_description_);
    return Token::kError;
  }
  const int error = token_lock(fd_, slot, F_WRLCK);
  if (error == 0) return Token::kTaken;
  if (error == EAGAIN || error == EACCES) return Token::kInUse;
  (void)record_os_error(SHAREDMEM_E_SYSTEM, error);
  return Token::kError;
}

void WriterLockOwner::drop_token(std::uint32_t slot) noexcept {
  (void)token_lock(fd_, slot, F_UNLCK);
}

void WriterLockOwner::note_no_free_slot() noexcept {
  (void)record_os_error(SHAREDMEM_E_SYSTEM, EAGAIN);
}

}  // namespace posix
}  // namespace sharedmem::platform
