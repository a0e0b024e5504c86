// SPDX-License-Identifier: MIT
// Test-only fault injection: named points in the attach, detach and write
// paths where a test can have the process killed outright, as SIGKILL or
// TerminateProcess would, to prove that no such death hangs or corrupts a
// peer. Compiled in only when the build defines SHAREDMEM_FAULT_INJECTION
// (CMake option of the same name); otherwise every point is an empty inline.
//
// Arming: the environment variable SHAREDMEM_TEST_FAULT, read once, holds
// "<point>[@<n>][:stop]": the process dies at the n-th (default first) time
// it reaches that point, or with ":stop" stops there (SIGSTOP; on Windows the
// thread suspends itself) until the test resumes it, to force interleavings.
#ifndef SHAREDMEM_PLATFORM_FAULT_INJECTION_HPP
#define SHAREDMEM_PLATFORM_FAULT_INJECTION_HPP

namespace sharedmem::platform {

#if defined(SHAREDMEM_FAULT_INJECTION)
void fault_point(const char* point) noexcept;
// Ends this process at once, running no exit handlers and no DLL detach.
[[noreturn]] void terminate_self() noexcept;
// Stops the calling thread (POSIX: the whole process) until resumed.
void stop_self() noexcept;
#else
inline void fault_point(const char*) noexcept {}
#endif

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_FAULT_INJECTION_HPP
