// SPDX-License-Identifier: MIT
// The lifetime locks' system calls (OFD byte locks, the gate's bounded wait)
// and the errno mapping every file of the Linux backend shares.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "attachment_linux.hpp"

namespace sharedmem::platform::posix {

namespace {

int ofd_lock_range(int fd, off_t start, off_t length, short type) noexcept {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = start;
  lock.l_len = length;
  lock.l_pid = 0;  // required to be 0 for OFD locks
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0 ? 0 : errno;
}

}  // namespace

int ofd_lock(int fd, off_t byte, short type) noexcept { return ofd_lock_range(fd, byte, 1, type); }

int ofd_unlock_gate_and_user(int fd) noexcept { return ofd_lock_range(fd, kGateByte, 2, F_UNLCK); }

sharedmem_error take_gate(int fd, short type) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + kGateWait;
  std::chrono::microseconds pause{20};
  for (;;) {
    const int error = ofd_lock(fd, kGateByte, type);
    if (error == 0) return SHAREDMEM_OK;
    if (error != EAGAIN && error != EACCES && error != EINTR)
      return record_os_error(SHAREDMEM_E_SYSTEM, error);
    if (std::chrono::steady_clock::now() >= deadline) return SHAREDMEM_E_TIMEOUT;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(2)) pause *= 2;
  }
}

namespace {

sharedmem_error mapped_errno(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return SHAREDMEM_E_ACCESS_DENIED;
    case ENOMEM:
    case ENOSPC:
    case EFBIG:
      return SHAREDMEM_E_NO_MEMORY;
    // Out of file descriptors (EMFILE, ENFILE) is no shortage of shared
    // memory: SHAREDMEM_E_SYSTEM, with the errno for sharedmem_last_system_error.
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

}  // namespace

sharedmem_error from_errno(int error) noexcept { return record_os_error(mapped_errno(error), error); }

}  // namespace sharedmem::platform::posix
