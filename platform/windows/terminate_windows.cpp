// SPDX-License-Identifier: MIT
// Windows end of the test-only fault injection (fault_injection.hpp).
#include <windows.h>

#include "fault_injection.hpp"

namespace sharedmem::platform {

void terminate_self() noexcept {
  // As another process's TerminateProcess would: no DLL_PROCESS_DETACH.
  ::TerminateProcess(::GetCurrentProcess(), 137);
  for (;;) {
  }
}

void stop_self() noexcept { ::SuspendThread(::GetCurrentThread()); }

}  // namespace sharedmem::platform
