// SPDX-License-Identifier: MIT
// The C++ layer's C++20 forms, compiled as C++20 (the rest of the suite is
// C++17, as the layer's floor): reads and writes through std::span.
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <span>
#include <string>

#include "sharedmem/sharedmem.hpp"
#include "support/process.hpp"

static_assert(__cplusplus >= 202002L, "this file must be compiled as C++20");

using namespace sharedmem_test;

BOOST_AUTO_TEST_SUITE(cpp_api)

// Tests that span reads copy into the caller's buffer (truncating to it and
// reporting the full size) and that span writes store exactly the span.
BOOST_AUTO_TEST_CASE(span_reads_and_writes) {
  sharedmem::segment s = sharedmem::segment::open(unique_name("cppspan"), 64);
  const std::array<std::byte, 5> bytes{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                       std::byte{5}};
  s.write(std::span<const std::byte>(bytes));
  std::array<std::byte, 8> whole{};
  BOOST_TEST(s.read(std::span<std::byte>(whole)) == 5u);
  BOOST_TEST((whole[0] == std::byte{1} && whole[4] == std::byte{5} && whole[5] == std::byte{0}));
  std::array<std::byte, 2> part{};
  std::uint64_t version = 0;
  BOOST_TEST(s.read_versioned(std::span<std::byte>(part), version) == 5u);
  BOOST_TEST((part[0] == std::byte{1} && part[1] == std::byte{2}));
  BOOST_TEST(version == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
