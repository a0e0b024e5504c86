// SPDX-License-Identifier: MIT
// The fault matrix: processes killed at forced points (through the library's
// test-only fault injection) and at random points. After every kill: nobody
// hangs, no torn value is read, a survivor keeps the content, with no
// survivor the next user starts from zero, and once all users are gone no OS
// object is left.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/faults.hpp"
#include "support/patterns.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

// Opens, writes args[1], closes, and reports "survived": a process armed with
// SHAREDMEM_TEST_FAULT dies on the way instead.
SHAREDMEM_CHILD_ROLE(open_write_close) {
  report("started");  // past the library's own attach at load
  {
    sharedmem::segment segment = sharedmem::segment::open(args.at(0), std::stoull(kChildCapacity));
    segment.write(args.at(1));
  }
  report("survived");
  return 0;
}

// Opens, writes and closes pattern values in a loop, reporting each round,
// until killed.
SHAREDMEM_CHILD_ROLE(churn) {
  const std::uint64_t capacity = std::stoull(kChildCapacity);
  for (std::uint64_t round = 0;; ++round) {
    sharedmem::segment segment = sharedmem::segment::open(args.at(0), capacity);
    if (!is_intact_pattern(segment.read(), capacity - 8)) report("torn");
    segment.write(pattern_value(round, capacity - 8));
    report("round");
  }
}

// Points a lone user passes through: attaching as first user, writing, and
// detaching as last user.
const std::vector<std::string> kLoneUserPoints = {
    "attach_gate_held", "attach_before_init", "attach_mid_init", "write_locked",
    "write_mid_copy",   "write_published",      "detach_before_unlink",
    "detach_after_unlink"};

// Points a user passes through while another holds the segment.
const std::vector<std::string> kSharedUserPoints = {"attach_gate_held", "write_locked",
                                                    "write_mid_copy"};

}  // namespace

BOOST_AUTO_TEST_SUITE(faults, *boost::unit_test::label("fault_injection"))

// Tests that a lone user killed at each forced point leaves nothing behind:
// the next user starts from zero at once and no OS object survives it.
BOOST_AUTO_TEST_CASE(lone_user_killed_at_each_point) {
  if (!fault_injection_built()) return;
  for (const std::string& point : kLoneUserPoints) {
    BOOST_TEST_CONTEXT("killed at " << point) {
      const std::string name = unique_name("lone");
      die_at(name, point, "doomed");
      BOOST_TEST(read_in_child(name) == "value:");
      BOOST_TEST(!os_object_exists(name));
    }
  }
}

// Tests that a user killed at each forced point while another holds the
// segment leaves the survivor its value and a working writer lock.
BOOST_AUTO_TEST_CASE(user_killed_at_each_point_beside_a_survivor) {
  if (!fault_injection_built()) return;
  for (const std::string& point : kSharedUserPoints) {
    BOOST_TEST_CONTEXT("killed at " << point) {
      const std::string name = unique_name("shared");
      ChildProcess survivor = hold_in_child(name, "kept");
      die_at(name, point, "doomed");
      BOOST_TEST(read_in_child(name) == "value:kept");
      survivor.write_line("write:after");
      BOOST_TEST(expect_line(survivor) == "wrote", "the writer lock was recovered");
      BOOST_TEST(read_in_child(name) == "value:after");
      release(survivor);
      BOOST_TEST(read_in_child(name) == "value:");
      BOOST_TEST(!os_object_exists(name));
    }
  }
}

// Tests that a first user killed mid-initialisation leaves a half-made
// object that the next users, racing, reset once and then share.
BOOST_AUTO_TEST_CASE(first_user_killed_mid_init_then_racing_users_agree) {
  if (!fault_injection_built()) return;
  const std::string name = unique_name("midinit");
  die_at(name, "attach_mid_init", "doomed");
  std::vector<ChildProcess> racers;
  for (int i = 0; i < 3; ++i) racers.push_back(hold_in_child(name));
  racers[0].write_line("write:agreed");
  BOOST_TEST(expect_line(racers[0]) == "wrote");
  for (ChildProcess& racer : racers) {
    racer.write_line("read");
    BOOST_TEST(expect_line(racer) == "value:agreed");
  }
  for (ChildProcess& racer : racers) release(racer);
  BOOST_TEST(!os_object_exists(name));
}

// Waits until the victim, armed to stop at a point it reaches after its
// object exists, holds the attach gate there: POSIX sees it stopped; Windows
// (where it suspends its own thread) sees its object exist, created under
// the gate it keeps until the point.
bool wait_holding_gate(ChildProcess& victim, const std::string& name) {
#if defined(_WIN32)
  (void)victim;
  const auto deadline = std::chrono::steady_clock::now() + line_timeout();
  while (!os_object_exists(name)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
#else
  (void)name;
  return victim.wait_stopped(line_timeout());
#endif
}

// The first point after a creator made its object and before its header is
// complete: on Windows, where initialise_object makes the section at its
// size, the middle of the header (marked as being initialised).
#if defined(_WIN32)
constexpr const char* kBeforeHeader = "attach_mid_init:stop";
#else
constexpr const char* kBeforeHeader = "attach_before_init:stop";
#endif

// Tests that a creator killed after making its object but before writing
// its header, while another process waits to attach, leaves the waiter a
// segment to initialise and use, not an object refused as incompatible
// (on Windows the waiter gets the gate abandoned while the dead creator's
// section may still exist).
BOOST_AUTO_TEST_CASE(creator_killed_before_its_header_while_another_waits) {
  if (!fault_injection_built()) return;
  const std::string name = unique_name("blankwait");
  ChildProcess victim = start_role("open_write_close", {name, "doomed"},
                                   {{"SHAREDMEM_TEST_FAULT", kBeforeHeader}});
  BOOST_TEST_REQUIRE(expect_line(victim) == "started");
  BOOST_TEST_REQUIRE(wait_holding_gate(victim, name), "the creator stopped holding the gate");
  ChildProcess waiter = start_role("segment_hold", {name, kChildCapacity, "after"});
  victim.kill();
  BOOST_TEST_REQUIRE(expect_line(waiter) == "open");
  waiter.write_line("read");
  BOOST_TEST(expect_line(waiter) == "value:after");
  BOOST_TEST(read_in_child(name) == "value:after");
  release(waiter);
  BOOST_TEST(!os_object_exists(name));
}

// Tests processes killed at random points of open/write/close cycles, alone
// and beside a survivor (this process): every later call returns, values are
// intact, and the lifetime rule holds.
BOOST_AUTO_TEST_CASE(users_killed_at_random_points) {
  std::mt19937 random(std::random_device{}());
  const std::uint64_t capacity = std::stoull(kChildCapacity);
  for (int trial = 0; trial < 16; ++trial) {
    const bool with_survivor = trial % 2 == 1;
    BOOST_TEST_CONTEXT("trial " << trial << (with_survivor ? " with survivor" : " alone")) {
      const std::string name = unique_name("random");
      sharedmem::segment survivor;
      if (with_survivor) survivor = sharedmem::segment::open(name, capacity);
      ChildProcess churner = start_role("churn", {name});
      const int rounds = 1 + static_cast<int>(random() % 200);
      for (int i = 0; i < rounds; ++i) BOOST_TEST_REQUIRE(expect_line(churner) == "round");
      churner.kill();
      if (with_survivor) {
        BOOST_TEST(is_intact_pattern(survivor.read(), capacity - 8));
        survivor.write("survivor");
        BOOST_TEST(read_in_child(name) == "value:survivor");
        survivor = sharedmem::segment();
      } else {
        BOOST_TEST(read_in_child(name) == "value:");
      }
      BOOST_TEST(!os_object_exists(name));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
