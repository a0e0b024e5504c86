// SPDX-License-Identifier: MIT
// Stress: several processes times several threads doing a mix of Set/Get,
// named writes and reads, and open/close cycles at once: zero torn reads,
// no failed call, no deadlock, no leaked objects. SHAREDMEM_STRESS_FACTOR
// (default 1) multiplies the work for a longer soak.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/patterns.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"

using namespace sharedmem_test;

namespace {

constexpr std::uint64_t kCapacity = 8192;
constexpr std::size_t kSpan = kCapacity - 8;
constexpr int kThreads = 3;
constexpr int kProcesses = 3;

std::uint64_t stress_factor() {
  const char* text = std::getenv("SHAREDMEM_STRESS_FACTOR");
  const long factor = text ? std::atol(text) : 1;
  return factor > 0 ? static_cast<std::uint64_t>(factor) : 1;
}

struct Tally {
  std::uint64_t torn = 0;
  std::uint64_t failed = 0;
};

// One thread's share of the mix; `tag` keeps its private names unique.
Tally run_mix(const std::string& shared_name, const std::string& tag, std::uint64_t iterations,
              std::uint64_t seed) {
  Tally tally;
  std::mt19937_64 random(seed);
  std::error_code ec;
  sharedmem::segment shared = sharedmem::segment::open(shared_name, kCapacity, ec);
  if (ec) return {0, 1};
  std::vector<wchar_t> text(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    const std::uint64_t k = random();
    switch (k % 6) {
      case 0:
        SetSharedMem(pattern_text(k, SHAREDMEM_DEFAULT_CAPACITY_CHARS).c_str());
        break;
      case 1:
        GetSharedMem(text.data(), static_cast<std::uint32_t>(text.size()));
        tally.torn += !is_intact_text(text.data());
        break;
      case 2: {
        const std::string value = pattern_value(k >> 8, kSpan);
        tally.failed += static_cast<bool>(shared.write(value.data(), value.size(), ec));
        break;
      }
      case 3:
        tally.torn += !is_intact_pattern(shared.read(), kSpan);
        break;
      case 4: {  // a private segment's whole life
        sharedmem::segment mine =
            sharedmem::segment::open(tag + "_" + std::to_string(i % 4), 256, ec);
        if (ec) {
          ++tally.failed;
          break;
        }
        mine.write(std::to_string(k));
        tally.failed += mine.read() != std::to_string(k);
        break;
      }
      case 5: {  // a second, short-lived handle to the shared segment
        sharedmem::segment again = sharedmem::segment::open(shared_name, kCapacity, ec);
        if (ec) {
          ++tally.failed;
          break;
        }
        tally.torn += !is_intact_pattern(again.read(), kSpan);
        break;
      }
    }
  }
  return tally;
}

// Runs kThreads threads of the mix and returns their sum.
Tally run_threads(const std::string& shared_name, const std::string& tag,
                  std::uint64_t iterations, std::uint64_t seed) {
  std::vector<Tally> tallies(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      tallies[t] = run_mix(shared_name, tag + "_t" + std::to_string(t), iterations,
                           seed * 31 + static_cast<std::uint64_t>(t));
    });
  for (std::thread& thread : threads) thread.join();
  Tally sum;
  for (const Tally& t : tallies) {
    sum.torn += t.torn;
    sum.failed += t.failed;
  }
  return sum;
}

// args: shared name, private-name tag, iterations, seed.
SHAREDMEM_CHILD_ROLE(stress_worker) {
  const Tally tally = run_threads(args.at(0), args.at(1), std::stoull(args.at(2)),
                                  std::stoull(args.at(3)));
  report("torn:" + std::to_string(tally.torn) + " failed:" + std::to_string(tally.failed));
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stress)

// Tests a mixed load from several processes and threads: no torn read, no
// failed call, every process finishes, and no segment outlives its users.
BOOST_AUTO_TEST_CASE(mixed_load_from_processes_and_threads) {
  const std::uint64_t iterations = 10000 * stress_factor();
  const std::string shared = unique_name("stress");
  std::vector<ChildProcess> workers;
  std::vector<std::string> tags;
  for (int p = 0; p < kProcesses; ++p) {
    tags.push_back(unique_name("priv" + std::to_string(p)));
    workers.push_back(start_role("stress_worker", {shared, tags.back(), std::to_string(iterations),
                                                   std::to_string(p + 1)}));
  }
  tags.push_back(unique_name("privparent"));
  const Tally mine = run_threads(shared, tags.back(), iterations, 99);
  BOOST_TEST(mine.torn == 0u);
  BOOST_TEST(mine.failed == 0u);
  for (ChildProcess& worker : workers) {
    const std::optional<std::string> line = worker.read_line(scaled(std::chrono::minutes(3)));
    BOOST_TEST_REQUIRE(line.has_value(), "a worker did not finish: deadlock or hang");
    BOOST_TEST(*line == "torn:0 failed:0");
    BOOST_TEST(expect_exit(worker) == 0);
  }
  BOOST_TEST(!os_object_exists(shared));
  for (const std::string& tag : tags)
    for (int t = 0; t < kThreads; ++t)
      for (int i = 0; i < 4; ++i)
        BOOST_TEST(!os_object_exists(tag + "_t" + std::to_string(t) + "_" + std::to_string(i)));
}

BOOST_AUTO_TEST_SUITE_END()
