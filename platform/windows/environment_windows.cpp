// SPDX-License-Identifier: MIT
// Windows end of environment.hpp. Windows has no setuid programs: a process's
// environment is its starter's choice, so the plain C runtime lookup is right.
#include <cstdlib>

#include "environment.hpp"

namespace sharedmem::platform {

const char* environment_variable(const char* name) noexcept { return std::getenv(name); }

}  // namespace sharedmem::platform
