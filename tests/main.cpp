// SPDX-License-Identifier: MIT
// Entry point of the test executable: runs a child role when asked to
// (`--child <role> args...`), otherwise the Boost.Test suite. The header-only
// Boost.Test variant is used on every platform, so the MinGW cross build
// needs no compiled Boost.
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include <boost/test/included/unit_test.hpp>

#include "support/roles.hpp"

bool init_unit_test() { return true; }

int main(int argc, char** argv) {
  const int role_exit = sharedmem_test::run_role_if_requested(argc, argv);
  if (role_exit >= 0) return role_exit;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
