// SPDX-License-Identifier: MIT
// The per-thread OS error code of platform/os_error.hpp, shared by every
// backend.
#include "os_error.hpp"

#include "platform.hpp"

namespace sharedmem::platform {
namespace {
SHAREDMEM_SIGNAL_SAFE_TLS thread_local int t_os_error = 0;
}  // namespace

sharedmem_error record_os_error(sharedmem_error mapped, int code) noexcept {
  if (mapped == SHAREDMEM_E_ACCESS_DENIED || mapped == SHAREDMEM_E_NO_MEMORY ||
      mapped == SHAREDMEM_E_SYSTEM)
    t_os_error = code;
  return mapped;
}

int take_os_error() noexcept {
  const int code = t_os_error;
  t_os_error = 0;
  return code;
}

}  // namespace sharedmem::platform
