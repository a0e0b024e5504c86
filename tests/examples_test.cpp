// SPDX-License-Identifier: MIT
// The examples run as a user runs them: the producer and the consumer of
// examples/ in two processes.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "support/child_io.hpp"
#include "support/process.hpp"

using namespace sharedmem_test;

namespace {

// The example program of that file, built with this test.
std::string example_program(const std::string& file) {
#if defined(_WIN32)
  const std::string self = self_path();
  return self.substr(0, self.find_last_of("\\/") + 1) + file;
#else
  return file;
#endif
}

}  // namespace

BOOST_AUTO_TEST_SUITE(examples)

// Tests the versions-and-waiting example: the consumer, started first,
// prints the producer's counter values as they arrive, in order (it may
// skip one only if two writes land before it wakes), and stops at the last.
BOOST_AUTO_TEST_CASE(counter_consumer_prints_the_producers_values) {
  const std::string name = unique_name("counter");
  ChildProcess consumer(example_program(SHAREDMEM_COUNTER_CONSUMER), {"--until", "5", name});
  BOOST_TEST_REQUIRE(expect_line(consumer) == "waiting for values of '" + name + "'");
  ChildProcess producer(example_program(SHAREDMEM_COUNTER_PRODUCER),
                        {"--count", "5", "--interval-ms", "20", name});
  for (int i = 1; i <= 5; ++i)
    BOOST_TEST(expect_line(producer) == "wrote " + std::to_string(i));
  BOOST_TEST(expect_exit(producer) == 0);

  std::uint64_t last = 0;
  std::vector<std::string> lines;
  while (last < 5) {
    const std::string line = expect_line(consumer);
    lines.push_back(line);
    const std::string prefix = "counter ";
    BOOST_TEST_REQUIRE(line.rfind(prefix, 0) == 0u, line);
    const std::uint64_t counter = std::stoull(line.substr(prefix.size()));
    BOOST_TEST_REQUIRE(counter > last, "values arrive in order: " << line);
    BOOST_TEST(line == "counter " + std::to_string(counter) + " (version " +
                           std::to_string(counter) + ")");
    last = counter;
  }
  BOOST_TEST(expect_exit(consumer) == 0);
  BOOST_TEST(lines.size() >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()
