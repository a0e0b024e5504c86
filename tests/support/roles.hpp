// SPDX-License-Identifier: MIT
// Child roles: the test executable re-runs itself as `<exe> --child <role>
// args...` to play a helper process. Test files register roles next to the
// tests that use them.
#ifndef SHAREDMEM_TESTS_SUPPORT_ROLES_HPP
#define SHAREDMEM_TESTS_SUPPORT_ROLES_HPP

#include <functional>
#include <string>
#include <vector>

namespace sharedmem_test {

using Role = std::function<int(const std::vector<std::string>& args)>;

bool register_role(const std::string& name, Role role);
// Runs `argv` if it asks for a child role; returns its exit code, or -1.
int run_role_if_requested(int argc, char** argv);

// Prints one line to stdout and flushes it: the child's way to report.
void report(const std::string& line);
// Blocks until the parent sends a line or closes stdin; returns the line.
std::string await_parent();

}  // namespace sharedmem_test

#define SHAREDMEM_CAT2(a, b) a##b
#define SHAREDMEM_CAT(a, b) SHAREDMEM_CAT2(a, b)
// Defines child role `name`: SHAREDMEM_CHILD_ROLE(hold) { ...; return 0; }
#define SHAREDMEM_CHILD_ROLE(name)                                                   \
  static int SHAREDMEM_CAT(role_, name)(const std::vector<std::string>& args);      \
  static const bool SHAREDMEM_CAT(role_registered_, name) =                          \
      ::sharedmem_test::register_role(#name, &SHAREDMEM_CAT(role_, name));            \
  static int SHAREDMEM_CAT(role_, name)([[maybe_unused]] const std::vector<std::string>& args)

#endif  // SHAREDMEM_TESTS_SUPPORT_ROLES_HPP
