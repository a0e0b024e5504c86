// SPDX-License-Identifier: MIT
// Facts about the system and the backend, and (test builds) how a process
// kills or stops itself at a fault point.
#include <signal.h>
#include <unistd.h>

#include <cstdint>

#include "platform.hpp"

namespace sharedmem::platform {

std::size_t page_size() noexcept {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

std::uint64_t max_object_size() noexcept {
  // off_t is 64-bit here; beyond 1 TiB, fail early with a clear size error
  // rather than late with whatever mmap says.
  return std::uint64_t{1} << 40;
}

const char* backend_name() noexcept { return "posix"; }

#if defined(SHAREDMEM_FAULT_INJECTION)
void terminate_self() noexcept {
  ::raise(SIGKILL);
  ::_exit(137);  // not reached
}

void stop_self() noexcept { ::raise(SIGSTOP); }
#endif

}  // namespace sharedmem::platform
