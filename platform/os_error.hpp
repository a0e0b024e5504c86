// SPDX-License-Identifier: MIT
// Where the backends note the OS error code (errno, GetLastError) behind a
// failure they report, for sharedmem_last_system_error. The core reads it
// through platform::take_os_error (platform.hpp).
#ifndef SHAREDMEM_PLATFORM_OS_ERROR_HPP
#define SHAREDMEM_PLATFORM_OS_ERROR_HPP

#include "sharedmem/sharedmem.h"

namespace sharedmem::platform {

// Notes `code` as this thread's OS error when `mapped` is one that an OS
// error causes (SHAREDMEM_E_ACCESS_DENIED, _NO_MEMORY, _SYSTEM); the codes
// that judge what the OS found (NOT_OWNER, INCOMPATIBLE, ...) note nothing.
// Returns `mapped`.
sharedmem_error record_os_error(sharedmem_error mapped, int code) noexcept;

// Notes `text` (truncated to fit) as this thread's detail of the failure
// being reported, for sharedmem_last_error_detail; returns `error`.
sharedmem_error record_error_detail(sharedmem_error error, const char* text) noexcept;
// This thread's detail ("" if none), and clearing it (the core does, as each
// open begins).
const char* error_detail() noexcept;
void clear_error_detail() noexcept;

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_OS_ERROR_HPP
