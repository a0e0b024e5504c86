// SPDX-License-Identifier: MIT
// POSIX end of environment.hpp: glibc's secure_getenv.
#include <stdlib.h>

#include "environment.hpp"

namespace sharedmem::platform {

const char* environment_variable(const char* name) noexcept { return ::secure_getenv(name); }

}  // namespace sharedmem::platform
