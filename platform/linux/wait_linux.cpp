// SPDX-License-Identifier: MIT
// Waiting for a change and waking the waiters: a process-shared futex on the
// core's change word (end_attach checked that it lies in the mapping).
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>

#include "attachment_linux.hpp"

namespace sharedmem::platform {

// A process-shared futex (never FUTEX_PRIVATE_FLAG: waiters and wakers are
// in different processes); FUTEX_WAIT_BITSET takes an absolute deadline, on
// CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME: steady_clock's clock.
WaitResult wait_for_change(Attachment& attachment, std::uint32_t seen, Deadline deadline) noexcept {
  std::uint32_t* const futex = attachment.change_futex;
  struct timespec until {};
  const struct timespec* timeout = nullptr;
  if (!deadline.is_never()) {
    const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           deadline.when().time_since_epoch())
                           .count();
    until.tv_sec = static_cast<time_t>(since / 1'000'000'000);
    until.tv_nsec = static_cast<long>(since % 1'000'000'000);
    timeout = &until;
  }
  if (::syscall(SYS_futex, futex, FUTEX_WAIT_BITSET, seen, timeout, nullptr,
                FUTEX_BITSET_MATCH_ANY) == 0)
    return WaitResult::kWoken;
  switch (errno) {
    case EAGAIN:  // the word had changed already
    case EINTR:
      return WaitResult::kWoken;
    case ETIMEDOUT:
      return WaitResult::kTimeout;
    default:
      (void)record_os_error(SHAREDMEM_E_SYSTEM, errno);
      return WaitResult::kError;
  }
}

void wake_all(Attachment& attachment) noexcept {
  ::syscall(SYS_futex, attachment.change_futex, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace sharedmem::platform
