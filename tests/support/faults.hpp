// SPDX-License-Identifier: MIT
// What the tests that kill processes at the library's fault points share.
#ifndef SHAREDMEM_TESTS_SUPPORT_FAULTS_HPP
#define SHAREDMEM_TESTS_SUPPORT_FAULTS_HPP

#include <boost/test/unit_test.hpp>
#include <string>

#include "child_io.hpp"
#include "process.hpp"

namespace sharedmem_test {

// The exit code of a process killed at a fault point: 128 + SIGKILL, or
// TerminateProcess(137) on Windows.
inline constexpr int kKilledExitCode = 137;

// Cases that need fault points carry the Boost.Test label fault_injection:
// ctest runs them in sharedmem_fault_tests only and leaves them out of the
// shipped variant's runs. Run by hand in the shipped variant, they fail here
// rather than pass without testing anything.
inline bool fault_injection_built() {
#if defined(SHAREDMEM_FAULT_INJECTION)
  return true;
#else
  BOOST_TEST_REQUIRE(false, "needs the fault-injection variant (sharedmem_fault_tests)");
  return false;
#endif
}

// Runs open_write_close (fault_test.cpp: opens `name` with kChildCapacity,
// writes `value`, closes) armed to die at `point` on its way through the named
// segment, and checks that it died there. sharedmem_setget's attach of its
// default segment at load (a sharedmem_open through the same core) passes
// the attach gate once before main, so that point is armed for its second
// hit; "started" proves the victim got past load. (The other points a lone
// user passes are not reached at load: the default segment is already held
// by this process, so the victim is not its first or last user.)
inline void die_at(const std::string& name, const std::string& point, const std::string& value) {
  const std::string armed = point == "attach_gate_held" ? point + "@2" : point;
  ChildProcess victim = start_role("open_write_close", {name, value},
                                   {{"SHAREDMEM_TEST_FAULT", armed}});
  BOOST_TEST_REQUIRE(expect_line(victim) == "started");
  BOOST_TEST(expect_exit(victim) == kKilledExitCode, "the victim died at " << point);
}

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_FAULTS_HPP
