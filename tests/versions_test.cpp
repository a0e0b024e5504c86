// SPDX-License-Identifier: MIT
// Versions and compare-and-write: a segment's version counts its completed
// writes; read_versioned pairs a value with the version that wrote it; and
// write_if lets processes update a value without losing each other's writes.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/faults.hpp"
#include "support/patterns.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"
#include "support/snapshots.hpp"

using namespace sharedmem_test;

namespace {

const std::uint64_t kCapacity = std::stoull(kChildCapacity);
const std::size_t kSpan = static_cast<std::size_t>(kCapacity) - 8;

// The 8-byte little-endian counter a value holds (an empty value is 0).
std::uint64_t counter_of(const std::string& value) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8 && i < value.size(); ++i)
    n |= static_cast<std::uint64_t>(static_cast<unsigned char>(value[i])) << (8 * i);
  return n;
}

std::string counter_value(std::uint64_t n) {
  std::string value(8, '\0');
  for (int i = 0; i < 8; ++i) value[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return value;
}

// Waits for "go", then writes args[1] values whose bytes encode the version
// they become (pattern_value(version)): each reads the version and writes
// with write_if, retrying on a conflict. Reports "done" or "error:<message>".
SHAREDMEM_CHILD_ROLE(versioned_writer) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), kCapacity);
  const int writes = std::stoi(args.at(1));
  report("ready");
  if (await_parent() != "go") return 2;
  for (int done = 0; done < writes;) {
    const std::uint64_t version = sharedmem_version(segment.native_handle());
    const std::string value = pattern_value(version + 1, kSpan);
    const sharedmem_error e = sharedmem_write_if(segment.native_handle(), value.data(),
                                                 value.size(), version, nullptr);
    if (e == SHAREDMEM_OK) {
      ++done;
    } else if (e != SHAREDMEM_E_CONFLICT) {
      report(std::string("error:") + sharedmem_strerror(e));
      return 1;
    }
  }
  report("done");
  return 0;
}

// Waits for "go", then adds 1 to the counter in segment args[0], args[1]
// times, by read_versioned / write_if / retry. Reports "done conflicts:<n>"
// or "error:<message>".
SHAREDMEM_CHILD_ROLE(versioned_increment) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), kCapacity);
  const int increments = std::stoi(args.at(1));
  report("ready");
  if (await_parent() != "go") return 2;
  long conflicts = 0;
  for (int i = 0; i < increments; ++i) {
    for (;;) {
      char bytes[8];
      std::uint64_t size = 0;
      std::uint64_t version = 0;
      sharedmem_error e =
          sharedmem_read_versioned(segment.native_handle(), bytes, sizeof bytes, &size, &version);
      if (e == SHAREDMEM_OK) {
        std::this_thread::yield();  // lets the other processes in between: more conflicts
        const std::string next =
            counter_value(counter_of(std::string(bytes, size < 8 ? size : 8)) + 1);
        e = sharedmem_write_if(segment.native_handle(), next.data(), next.size(), version,
                               nullptr);
      }
      if (e == SHAREDMEM_OK) break;
      if (e != SHAREDMEM_E_CONFLICT) {
        report(std::string("error:") + sharedmem_strerror(e));
        return 1;
      }
      ++conflicts;
    }
  }
  report("done conflicts:" + std::to_string(conflicts));
  return 0;
}

// Starts `count` children in `role` on `name`, and lets them go together.
std::vector<ChildProcess> start_together(const std::string& role, int count,
                                         const std::vector<std::string>& args) {
  std::vector<ChildProcess> children;
  for (int i = 0; i < count; ++i) children.push_back(start_role(role, args));
  for (ChildProcess& child : children) BOOST_TEST_REQUIRE(expect_line(child) == "ready");
  for (ChildProcess& child : children) child.write_line("go");
  return children;
}

// The waits of the waiter roles: longer than the parent waits for their
// lines, so that a lost wake-up fails the test rather than ending in a late
// "woke" when the wait times out and finds the new version.
std::uint32_t waiter_timeout_ms() {
  return static_cast<std::uint32_t>(3 * line_timeout().count());
}

// Opens segment args[0], reports "waiting version:<v>", then waits with
// sharedmem_wait (a timeout of waiter_timeout_ms(), which only a lost
// wake-up runs out) until the version reaches args[1]; reports "woke version:<v>
// waits:<n>", or "error:<message> version:<v>" when a wait failed.
SHAREDMEM_CHILD_ROLE(version_waiter) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), kCapacity);
  const std::uint64_t until = std::stoull(args.at(1));
  const long long times = args.size() > 2 ? std::stoll(args[2]) : 1;
  std::uint64_t version = segment.version();
  report("waiting version:" + std::to_string(version));
  long waits = 0;
  while (version < until) {
    const sharedmem_error e =
        sharedmem_wait(segment.native_handle(), version, waiter_timeout_ms(), &version);
    ++waits;
    if (e != SHAREDMEM_OK) {
      report(std::string("error:") + sharedmem_strerror(e) + " version:" +
             std::to_string(version));
      return 1;
    }
  }
  report("woke version:" + std::to_string(version) + " waits:" + std::to_string(waits));
  return 0;
}

// Opens segment args[0], reports "waiting version:<v>", then, until the
// version reaches args[1], waits for the next version (a timeout of
// waiter_timeout_ms(), which only a lost wake-up runs out) and reports
// "saw:<version>" for each, or "error:<message>" and exits 1.
SHAREDMEM_CHILD_ROLE(version_follower) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), kCapacity);
  const std::uint64_t until = std::stoull(args.at(1));
  std::uint64_t version = segment.version();
  report("waiting version:" + std::to_string(version));
  const std::uint32_t timeout = waiter_timeout_ms();
  while (version < until) {
    const sharedmem_error e = sharedmem_wait(segment.native_handle(), version, timeout, &version);
    if (e != SHAREDMEM_OK) {
      report(std::string("error:") + sharedmem_strerror(e));
      return 1;
    }
    report("saw:" + std::to_string(version));
  }
  return 0;
}

// Starts a version_waiter on `name` until version `until`; returns it once
// it reported the version it waits from.
ChildProcess start_waiter(const std::string& name, std::uint64_t until) {
  ChildProcess waiter = start_role("version_waiter", {name, std::to_string(until)});
  BOOST_TEST_REQUIRE(expect_line(waiter).rfind("waiting", 0) == 0u);
  return waiter;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(versions)

// Tests that a new segment is at version 0, that each write adds one, and
// that reads and a refused write do not change it.
BOOST_AUTO_TEST_CASE(version_counts_completed_writes) {
  sharedmem_segment* segment = open_ok(unique_name("ver"));
  BOOST_TEST(sharedmem_version(segment) == 0u);
  BOOST_TEST(sharedmem_version(nullptr) == 0u);
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.error == SHAREDMEM_OK && s.value.empty() && s.version == 0u));
  for (std::uint64_t i = 1; i <= 5; ++i) {
    BOOST_TEST(sharedmem_write(segment, "abc", 3) == SHAREDMEM_OK);
    BOOST_TEST(sharedmem_version(segment) == i);
  }
  char buffer[8];
  BOOST_TEST(sharedmem_read(segment, buffer, sizeof buffer, nullptr) == SHAREDMEM_OK);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "abc" && s.version == 5u));
  const std::string too_big(static_cast<std::size_t>(kCapacity) + 1, 'x');
  BOOST_TEST(sharedmem_write(segment, too_big.data(), too_big.size()) ==
             SHAREDMEM_E_VALUE_TOO_LARGE);
  BOOST_TEST(sharedmem_version(segment) == 5u, "reads and refused writes do not count");
  sharedmem_close(segment);
}

// Tests that write_if writes only at the expected version, reports the
// version after the call either way, and changes nothing on a conflict.
BOOST_AUTO_TEST_CASE(write_if_writes_only_at_the_expected_version) {
  sharedmem_segment* segment = open_ok(unique_name("wif"));
  std::uint64_t after = 99;
  BOOST_TEST(sharedmem_write_if(segment, "one", 3, 0, &after) == SHAREDMEM_OK);
  BOOST_TEST(after == 1u);
  BOOST_TEST(sharedmem_write_if(segment, "stale", 5, 0, &after) == SHAREDMEM_E_CONFLICT);
  BOOST_TEST(after == 1u);
  BOOST_TEST(sharedmem_write_if(segment, "stale", 5, 7, nullptr) == SHAREDMEM_E_CONFLICT);
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "one" && s.version == 1u), "a conflict wrote nothing");
  BOOST_TEST(sharedmem_write_if(segment, nullptr, 0, 1, &after) == SHAREDMEM_OK);
  BOOST_TEST(after == 2u);
  const std::string too_big(static_cast<std::size_t>(kCapacity) + 1, 'x');
  BOOST_TEST(sharedmem_write_if(segment, too_big.data(), too_big.size(), 2, &after) ==
             SHAREDMEM_E_VALUE_TOO_LARGE);
  BOOST_TEST(after == 2u);
  BOOST_TEST(sharedmem_write_if(nullptr, "a", 1, 0, &after) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_read_versioned(nullptr, nullptr, 0, nullptr, nullptr) ==
             SHAREDMEM_E_INVALID_ARGUMENT);
  sharedmem_close(segment);
}

// Tests that a writer killed in the middle of its write does not count: the
// version and the value stay those of the last completed write.
BOOST_AUTO_TEST_CASE(writer_killed_mid_write_does_not_count,
                     *boost::unit_test::label("fault_injection")) {
  if (!fault_injection_built()) return;
  const std::string name = unique_name("verkill");
  sharedmem_segment* segment = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  die_at(name, "write_mid_copy", "doomed");
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  BOOST_TEST(sharedmem_version(segment) == 1u);
  BOOST_TEST(sharedmem_write(segment, "next", 4) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_version(segment) == 2u);
  sharedmem_close(segment);
}

// Tests that read_versioned pairs each value with the version that wrote it
// while several processes write: every value's bytes encode its version.
BOOST_AUTO_TEST_CASE(read_versioned_pairs_value_and_version_under_writers) {
  const std::string name = unique_name("verpair");
  sharedmem_segment* segment = open_ok(name);
  constexpr int kWriters = 3;
  constexpr int kWrites = 5000;
  std::vector<ChildProcess> writers =
      start_together("versioned_writer", kWriters, {name, std::to_string(kWrites)});
  const std::uint64_t total = std::uint64_t{kWriters} * kWrites;
  const auto give_up = std::chrono::steady_clock::now() + line_timeout();
  long reads = 0;
  long mismatches = 0;
  std::uint64_t last = 0;
  for (;;) {
    const Snapshot s = read_snapshot(segment);
    BOOST_TEST_REQUIRE(s.error == SHAREDMEM_OK, sharedmem_strerror(s.error));
    ++reads;
    const bool matches = s.version == 0 ? s.value.empty()
                                        : s.value == pattern_value(s.version, kSpan);
    if (!matches && mismatches++ == 0)
      BOOST_TEST_MESSAGE("first mismatch: version " << s.version << ", value of "
                                                    << counter_of(s.value));
    BOOST_TEST_REQUIRE(s.version >= last, "versions never go back");
    last = s.version;
    if (s.version == total) break;
    const bool in_time = std::chrono::steady_clock::now() < give_up;
    BOOST_TEST_REQUIRE(in_time, "writers did not finish");
  }
  BOOST_TEST_MESSAGE(reads << " reads");
  BOOST_TEST(mismatches == 0, mismatches << " of " << reads << " reads paired a value with "
                                         << "another version");
  for (ChildProcess& writer : writers) {
    BOOST_TEST(expect_line(writer) == "done");
    BOOST_TEST(expect_exit(writer) == 0);
  }
  sharedmem_close(segment);
}

// Tests that processes incrementing one counter by read_versioned, write_if
// and retry lose no increment: the count is exactly the total, and so is the
// version.
BOOST_AUTO_TEST_CASE(write_if_counter_from_several_processes_loses_nothing) {
  const std::string name = unique_name("vercount");
  sharedmem_segment* segment = open_ok(name);
  constexpr int kProcesses = 4;
  constexpr int kIncrements = 3000;
  std::vector<ChildProcess> children =
      start_together("versioned_increment", kProcesses, {name, std::to_string(kIncrements)});
  long conflicts = 0;
  for (ChildProcess& child : children) {
    const std::string line = expect_line(child);
    BOOST_TEST(line.rfind("done", 0) == 0u, line);
    conflicts += field(line, "conflicts");
    BOOST_TEST(expect_exit(child) == 0);
  }
  BOOST_TEST_MESSAGE("conflicts retried: " << conflicts);
  const Snapshot s = read_snapshot(segment);
  BOOST_TEST(counter_of(s.value) == std::uint64_t{kProcesses} * kIncrements);
  BOOST_TEST(s.version == std::uint64_t{kProcesses} * kIncrements);
  sharedmem_close(segment);
}

// Tests that sharedmem_wait returns at once when the version already
// differs from the one seen, and reports the version it found.
BOOST_AUTO_TEST_CASE(wait_returns_at_once_on_another_version) {
  sharedmem_segment* segment = open_ok(unique_name("waitnow"));
  BOOST_TEST(sharedmem_write(segment, "a", 1) == SHAREDMEM_OK);
  std::uint64_t version = 0;
  const auto timeout = static_cast<std::uint32_t>(line_timeout().count());
  BOOST_TEST(sharedmem_wait(segment, 0, timeout, &version) == SHAREDMEM_OK);
  BOOST_TEST(version == 1u);
  BOOST_TEST(sharedmem_wait(segment, 7, 0, nullptr) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_wait(nullptr, 0, 0, &version) == SHAREDMEM_E_INVALID_ARGUMENT);
  sharedmem_close(segment);
}

// Tests that sharedmem_wait on an unchanging segment times out, not before
// its timeout, reporting the unchanged version.
BOOST_AUTO_TEST_CASE(wait_times_out_when_nothing_changes) {
  sharedmem_segment* segment = open_ok(unique_name("waitout"));
  BOOST_TEST(sharedmem_write(segment, "a", 1) == SHAREDMEM_OK);
  std::uint64_t version = 99;
  BOOST_TEST(sharedmem_wait(segment, 1, 0, &version) == SHAREDMEM_E_TIMEOUT);
  BOOST_TEST(version == 1u);
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(sharedmem_wait(segment, 1, 120, &version) == SHAREDMEM_E_TIMEOUT);
  const bool waited_long_enough =
      std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(120);
  BOOST_TEST(waited_long_enough);
  BOOST_TEST(version == 1u);
  sharedmem_close(segment);
}

// Tests that one write wakes every waiter of several processes.
BOOST_AUTO_TEST_CASE(one_write_wakes_waiters_in_several_processes) {
  const std::string name = unique_name("waitall");
  sharedmem_segment* segment = open_ok(name);
  std::vector<ChildProcess> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(start_waiter(name, 1));
  BOOST_TEST(sharedmem_write(segment, "go", 2) == SHAREDMEM_OK);
  for (ChildProcess& waiter : waiters) {
    const std::string line = expect_line(waiter);
    BOOST_TEST(line.rfind("woke version:1", 0) == 0u, line);
    BOOST_TEST(expect_exit(waiter) == 0);
  }
  sharedmem_close(segment);
}

// Tests that no wake-up is lost while a writer and waiters race: waiters in
// three processes follow every version, in lock step with this process,
// which writes each next version after a random pause (so that it lands at
// a random point of the waiters' way into their wait) once all of them saw
// the last one. Each wait has a timeout that only a lost wake-up runs out.
BOOST_AUTO_TEST_CASE(waiters_racing_a_writer_lose_no_wake_up) {
  const std::string name = unique_name("waitrace");
  sharedmem_segment* segment = open_ok(name);
  constexpr std::uint64_t kRounds = 300;
  std::vector<ChildProcess> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(start_role("version_follower", {name, std::to_string(kRounds)}));
    BOOST_TEST_REQUIRE(expect_line(waiters.back()) == "waiting version:0");
  }
  std::mt19937 random(std::random_device{}());
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 300));
    BOOST_TEST_REQUIRE(sharedmem_write(segment, "w", 1) == SHAREDMEM_OK);
    for (ChildProcess& waiter : waiters)
      BOOST_TEST_REQUIRE(expect_line(waiter) == "saw:" + std::to_string(round));
  }
  for (ChildProcess& waiter : waiters) BOOST_TEST(expect_exit(waiter) == 0);
  sharedmem_close(segment);
}

// Tests that a writer killed after publishing its write but before waking
// the waiters leaves nobody stuck: the write counts, and the next write wakes
// the waiter that slept through it, which then sees the newest version.
BOOST_AUTO_TEST_CASE(writer_killed_after_publishing_leaves_waiters_working,
                     *boost::unit_test::label("fault_injection")) {
  if (!fault_injection_built()) return;
  const std::string name = unique_name("pubkill");
  sharedmem_segment* segment = open_ok(name);
  ChildProcess waiter = start_role("version_follower", {name, "2"});
  BOOST_TEST_REQUIRE(expect_line(waiter) == "waiting version:0");
  die_at(name, "write_published", "published");
  BOOST_TEST(sharedmem_version(segment) == 1u, "the killed write was published");
  BOOST_TEST(sharedmem_write(segment, "next", 4) == SHAREDMEM_OK);
  // Woken by the first write or by the second (a waiter that looked at the
  // version between the two sees 1 first): either way it reaches 2.
  std::string line = expect_line(waiter);
  if (line == "saw:1") line = expect_line(waiter);
  BOOST_TEST(line == "saw:2");
  BOOST_TEST(expect_exit(waiter) == 0);
  sharedmem_close(segment);
}

// Tests that a write wakes a waiter that counted itself in while the write
// was under way (stopped mid-copy, before it published): the writer must
// look for waiters only after publishing. The waiter stops after it counted
// itself in and saw the old version, before it sleeps, and goes on only
// once the write returned: it then finds the wake, or, had the writer
// looked for waiters too early, sleeps until its timeout, three times as
// long as this test waits for its line. (A wait that times out still
// returns OK once the version moved: only the time tells the two apart.)
// POSIX only: the test support stops and resumes processes there alone.
#if defined(SHAREDMEM_FAULT_INJECTION) && !defined(_WIN32)
BOOST_AUTO_TEST_CASE(a_waiter_counted_in_during_a_write_is_woken_by_it,
                     *boost::unit_test::label("fault_injection")) {
  const std::string name = unique_name("waitmid");
  sharedmem_segment* segment = open_ok(name);  // keeps it alive between the children
  ChildProcess writer = start_role("segment_hold", {name, kChildCapacity},
                                   {{"SHAREDMEM_TEST_FAULT", "write_mid_copy:stop"}});
  BOOST_TEST_REQUIRE(expect_line(writer) == "open");
  writer.write_line("write:x");
  BOOST_TEST_REQUIRE(writer.wait_stopped(line_timeout()), "the writer stopped mid-copy");
  ChildProcess waiter = start_role("version_waiter", {name, "1"},
                                   {{"SHAREDMEM_TEST_FAULT", "wait_before_sleep:stop"}});
  BOOST_TEST_REQUIRE(expect_line(waiter) == "waiting version:0");
  BOOST_TEST_REQUIRE(waiter.wait_stopped(line_timeout()), "the waiter stopped before sleeping");
  writer.resume();
  BOOST_TEST(expect_line(writer) == "wrote");
  waiter.resume();
  const std::string line = expect_line(waiter);
  BOOST_TEST(line.rfind("woke version:1", 0) == 0u, line);
  BOOST_TEST(expect_exit(waiter) == 0);
  writer.close_stdin();
  BOOST_TEST(expect_exit(writer) == 0);
  sharedmem_close(segment);
}
#endif

// Tests that a waiter killed while waiting leaves the others working: the
// next write still wakes the survivor, and waits still time out and wake.
BOOST_AUTO_TEST_CASE(waiter_killed_while_waiting_leaves_the_rest_working) {
  const std::string name = unique_name("waitkill");
  sharedmem_segment* segment = open_ok(name);
  ChildProcess victim = start_waiter(name, 1);
  ChildProcess survivor = start_waiter(name, 1);
  victim.kill();
  BOOST_TEST(sharedmem_write(segment, "a", 1) == SHAREDMEM_OK);
  const std::string line = expect_line(survivor);
  BOOST_TEST(line.rfind("woke version:1", 0) == 0u, line);
  BOOST_TEST(expect_exit(survivor) == 0);
  BOOST_TEST(sharedmem_wait(segment, 1, 10, nullptr) == SHAREDMEM_E_TIMEOUT);
  ChildProcess next = start_waiter(name, 2);
  BOOST_TEST(sharedmem_write(segment, "b", 1) == SHAREDMEM_OK);
  BOOST_TEST(expect_line(next).rfind("woke version:2", 0) == 0u);
  BOOST_TEST(expect_exit(next) == 0);
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
