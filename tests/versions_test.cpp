// SPDX-License-Identifier: MIT
// Versions and compare-and-write: a segment's version counts its completed
// writes; read_versioned pairs a value with the version that wrote it; and
// write_if lets processes update a value without losing each other's writes.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
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

using namespace sharedmem_test;

namespace {

const std::uint64_t kCapacity = std::stoull(kChildCapacity);
const std::size_t kSpan = static_cast<std::size_t>(kCapacity) - 8;

sharedmem_segment* open_ok(const std::string& name, std::uint64_t capacity = kCapacity,
                           std::uint32_t flags = 0) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
  BOOST_TEST_REQUIRE(e == SHAREDMEM_OK, "open '" << name << "': " << sharedmem_strerror(e));
  return segment;
}

// The value and version of one snapshot.
struct Snapshot {
  std::string value;
  std::uint64_t version = 0;
  sharedmem_error error = SHAREDMEM_OK;
};

Snapshot read_versioned(const sharedmem_segment* segment) {
  Snapshot s;
  s.value.resize(static_cast<std::size_t>(sharedmem_capacity(segment)));
  std::uint64_t size = 0;
  s.error = sharedmem_read_versioned(segment, s.value.data(), s.value.size(), &size, &s.version);
  s.value.resize(static_cast<std::size_t>(size));
  return s;
}

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

}  // namespace

BOOST_AUTO_TEST_SUITE(versions)

// Tests that a new segment is at version 0, that each write adds one, and
// that reads and a refused write do not change it.
BOOST_AUTO_TEST_CASE(version_counts_completed_writes) {
  sharedmem_segment* segment = open_ok(unique_name("ver"));
  BOOST_TEST(sharedmem_version(segment) == 0u);
  BOOST_TEST(sharedmem_version(nullptr) == 0u);
  Snapshot s = read_versioned(segment);
  BOOST_TEST((s.error == SHAREDMEM_OK && s.value.empty() && s.version == 0u));
  for (std::uint64_t i = 1; i <= 5; ++i) {
    BOOST_TEST(sharedmem_write(segment, "abc", 3) == SHAREDMEM_OK);
    BOOST_TEST(sharedmem_version(segment) == i);
  }
  char buffer[8];
  BOOST_TEST(sharedmem_read(segment, buffer, sizeof buffer, nullptr) == SHAREDMEM_OK);
  s = read_versioned(segment);
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
  Snapshot s = read_versioned(segment);
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
  Snapshot s = read_versioned(segment);
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
    const Snapshot s = read_versioned(segment);
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
  const Snapshot s = read_versioned(segment);
  BOOST_TEST(counter_of(s.value) == std::uint64_t{kProcesses} * kIncrements);
  BOOST_TEST(s.version == std::uint64_t{kProcesses} * kIncrements);
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
