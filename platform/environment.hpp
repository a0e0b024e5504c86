// SPDX-License-Identifier: MIT
// Reading the environment, the one OS-specific detail the libraries need
// outside the segment code: sharedmem_setget reads SHAREDMEM_DEFAULT_SEGMENT,
// the fault-injection build reads SHAREDMEM_TEST_FAULT. One implementation
// per OS (platform/linux/, platform/windows/), compiled into whichever library
// uses it.
#ifndef SHAREDMEM_PLATFORM_ENVIRONMENT_HPP
#define SHAREDMEM_PLATFORM_ENVIRONMENT_HPP

namespace sharedmem::platform {

// The value of the environment variable `name`, or null when it is unset.
// On Linux null also in a setuid or setgid program (secure_getenv), so that
// whoever starts such a program cannot steer the library through it. The
// pointer is valid until the environment changes.
const char* environment_variable(const char* name) noexcept;

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_ENVIRONMENT_HPP
