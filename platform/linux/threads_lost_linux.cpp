// SPDX-License-Identifier: MIT
// POSIX end of threads_lost.hpp: the child of fork() has only the forking
// thread. (At exit() the other threads still run and leave on their own.)
// glibc drops a library's fork handlers when the library is unloaded.
#include <pthread.h>

#include "threads_lost.hpp"

namespace sharedmem::platform {

bool on_threads_lost(void (*forget_threads)()) noexcept {
  return ::pthread_atfork(nullptr, nullptr, forget_threads) == 0;
}

}  // namespace sharedmem::platform
