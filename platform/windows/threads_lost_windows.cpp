// SPDX-License-Identifier: MIT
// Windows end of threads_lost.hpp: DLL_PROCESS_DETACH with a non-null
// `reserved` means the process is terminating, and ExitProcess has already
// killed every other thread. The C runtime's entry point calls this DllMain
// before it runs the DLL's static destructors, so the callback runs first.
#include <windows.h>

#include <atomic>

#include "threads_lost.hpp"

namespace sharedmem::platform {
namespace {
std::atomic<void (*)()> g_forget_threads{nullptr};
}  // namespace

bool on_threads_lost(void (*forget_threads)()) noexcept {
  g_forget_threads.store(forget_threads);
  return true;
}

}  // namespace sharedmem::platform

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID reserved) {
  if (reason == DLL_PROCESS_DETACH && reserved != nullptr) {
    if (void (*forget)() = sharedmem::platform::g_forget_threads.load()) forget();
  }
  return TRUE;
}
