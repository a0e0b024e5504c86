// SPDX-License-Identifier: MIT
// The per-thread OS error code of platform/os_error.hpp, shared by every
// backend.
#include "os_error.hpp"

#include <cstddef>

#include "platform.hpp"

namespace sharedmem::platform {
namespace {
SHAREDMEM_SIGNAL_SAFE_TLS thread_local int t_os_error = 0;
// Plain bytes: no constructor, no destructor, no allocation.
thread_local char t_error_detail[256];
}  // namespace

sharedmem_error record_error_detail(sharedmem_error error, const char* text) noexcept {
  std::size_t n = 0;
  for (; text != nullptr && text[n] != '\0' && n + 1 < sizeof t_error_detail; ++n)
    t_error_detail[n] = text[n];
  t_error_detail[n] = '\0';
  return error;
}

const char* error_detail() noexcept { return t_error_detail; }

void clear_error_detail() noexcept { t_error_detail[0] = '\0'; }

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
