// SPDX-License-Identifier: MIT
// When threads counted inside the Set/Get library can vanish without leaving
// it. The library counts the Set/Get calls in flight so that unloading waits
// for them before unmapping; a thread that no longer exists never leaves, and
// waiting for it would stall for nothing. One implementation per OS
// (platform/linux/, platform/windows/), compiled into sharedmem_setget.
#ifndef SHAREDMEM_PLATFORM_THREADS_LOST_HPP
#define SHAREDMEM_PLATFORM_THREADS_LOST_HPP

namespace sharedmem::platform {

// Arranges for `forget_threads` to run, on the one surviving thread, each
// time every other thread of the process is gone without leaving the
// library: in the child of fork() on POSIX (only the forking thread is
// copied), and when the process terminates on Windows (ExitProcess kills the
// other threads before the DLL is detached). Call once; the arrangement
// ends when the library is unloaded. Returns false if it cannot be made.
bool on_threads_lost(void (*forget_threads)()) noexcept;

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_THREADS_LOST_HPP
