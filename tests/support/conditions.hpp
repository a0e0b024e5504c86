// SPDX-License-Identifier: MIT
// Test cases that can run only where a condition holds (root, a cgroup we
// may create, a build without a given sanitizer, the examples built). Such a
// case is declared with `*only_if(condition)`: Boost.Test skips it with the
// condition's reason when it does not hold, and ctest reports it as SKIPPED,
// never as passed. tests/CMakeLists.txt runs each of these cases as a ctest
// test of its own (sharedmem.case.<name>, found through the label), and the
// suites' runs leave them out.
#ifndef SHAREDMEM_TESTS_SUPPORT_CONDITIONS_HPP
#define SHAREDMEM_TESTS_SUPPORT_CONDITIONS_HPP

#include <boost/test/unit_test.hpp>

#if defined(__linux__)
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace sharedmem_test {

// The label that marks a conditional case; tests/CMakeLists.txt reads it.
inline constexpr const char* kConditionalLabel = "conditional";

struct Condition {
  bool (*holds)();
  const char* reason;  // why the case cannot run when it does not hold
};

// The decorators of a conditional case: its label and its precondition.
inline boost::unit_test::decorator::collector_t& only_if(Condition condition) {
  return *boost::unit_test::label(kConditionalLabel) *
         boost::unit_test::precondition([condition](boost::unit_test::test_unit_id) {
           boost::test_tools::assertion_result result(condition.holds());
           if (!result) result.message() << condition.reason;
           return result;
         });
}

inline bool address_sanitizer_absent() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  return true;
#endif
}
inline bool thread_sanitizer_absent() {
#if defined(__SANITIZE_THREAD__)
  return false;
#else
  return true;
#endif
}

inline constexpr Condition kWithoutAddressSanitizer{
    address_sanitizer_absent, "the AddressSanitizer/UBSan runtimes cannot run it"};
inline constexpr Condition kWithoutThreadSanitizer{
    thread_sanitizer_absent, "ThreadSanitizer delivers signals only at its own safe points"};

#if defined(__linux__)
// Whether this system lets us make a user namespace as root (a container
// may not).
inline bool user_namespaces_allowed() {
  if (::geteuid() != 0) return false;
  const pid_t child = ::fork();
  if (child == 0) _exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  int status = 0;
  return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}
inline constexpr Condition kUserNamespaces{
    user_namespaces_allowed, "needs root and a kernel that lets it create user namespaces"};
#endif

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_CONDITIONS_HPP
