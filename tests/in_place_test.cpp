// SPDX-License-Identifier: MIT
// In-place writes: sharedmem_write_begin hands out the slot readers do not
// look at, sharedmem_write_commit publishes it as sharedmem_write would, and
// sharedmem_write_abort, a close, an exit or a death publish nothing and
// leave the writer lock to the next writer.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <condition_variable>
#include <mutex>
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
#include "support/snapshots.hpp"

using namespace sharedmem_test;

namespace {

const std::uint64_t kCapacity = std::stoull(kChildCapacity);
const std::size_t kSpan = static_cast<std::size_t>(kCapacity) - 8;

// Begins an in-place write of `value` on `segment`, fills it and commits it.
sharedmem_error write_in_place(sharedmem_segment* segment, const std::string& value,
                               std::uint64_t* new_version = nullptr) {
  void* data = nullptr;
  if (sharedmem_error e = sharedmem_write_begin(segment, value.size(), &data)) return e;
  if (!value.empty()) std::memcpy(data, value.data(), value.size());
  return sharedmem_write_commit(segment, new_version);
}

// Opens segment args[0], begins an in-place write of args[1] and fills half
// of it, reports "begun", and waits for the parent: "commit" commits it
// ("committed"), "exit" returns from main with the write still open (the
// exit detach must give it up), anything else or a closed stdin aborts it
// ("aborted"). The parent may kill it while it waits.
SHAREDMEM_CHILD_ROLE(in_place_begin_hold) {
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kCapacity, 0, &segment) != SHAREDMEM_OK) return 1;
  const std::string& value = args.at(1);
  void* data = nullptr;
  const sharedmem_error e = sharedmem_write_begin(segment, value.size(), &data);
  if (e != SHAREDMEM_OK) {
    report(std::string("error:") + sharedmem_strerror(e));
    return 1;
  }
  std::memcpy(data, value.data(), value.size() / 2);
  report("begun");
  const std::string command = await_parent();
  if (command == "exit") return 0;  // no commit, no abort, no close
  std::memcpy(data, value.data(), value.size());
  if (command == "commit") {
    report(sharedmem_write_commit(segment, nullptr) == SHAREDMEM_OK ? "committed" : "failed");
  } else {
    sharedmem_write_abort(segment);
    report("aborted");
  }
  sharedmem_close(segment);
  return 0;
}

// Reports "started", then opens segment args[0] and writes args[1] in place
// (the fault-injection tests kill it inside the commit), and reports
// "survived".
SHAREDMEM_CHILD_ROLE(in_place_write_once) {
  report("started");
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kCapacity, 0, &segment) != SHAREDMEM_OK) return 1;
  const sharedmem_error e = write_in_place(segment, args.at(1));
  sharedmem_close(segment);
  report(e == SHAREDMEM_OK ? "survived" : "failed");
  return e == SHAREDMEM_OK ? 0 : 1;
}

// Waits for "go", then writes args[1] values to segment args[0], each the
// pattern of the version it becomes, in place, filling it in two halves with
// a yield between them (so that readers meet half-filled slots); with
// args[2] == "mixed" every other value goes through sharedmem_write instead.
// Reports "done" or "error:<message>".
SHAREDMEM_CHILD_ROLE(in_place_writer) {
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kCapacity, 0, &segment) != SHAREDMEM_OK) return 1;
  const int writes = std::stoi(args.at(1));
  const bool mixed = args.at(2) == "mixed";
  report("ready");
  if (await_parent() != "go") return 2;
  for (int i = 0; i < writes; ++i) {
    sharedmem_error e = SHAREDMEM_OK;
    for (;;) {
      // The value's size depends on its version, which only the writer lock
      // holds still: begin with the size of the next version's pattern, and
      // start over if another writer came first.
      const std::uint64_t version = sharedmem_version(segment);
      const std::string value = pattern_value(version + 1, kSpan);
      if (mixed && i % 2 == 1) {
        e = sharedmem_write_if(segment, value.data(), value.size(), version, nullptr);
        if (e == SHAREDMEM_E_CONFLICT) continue;
        break;
      }
      void* data = nullptr;
      e = sharedmem_write_begin(segment, value.size(), &data);
      if (e != SHAREDMEM_OK) break;
      if (sharedmem_version(segment) != version) {
        sharedmem_write_abort(segment);
        continue;
      }
      auto* bytes = static_cast<char*>(data);
      const std::size_t half = value.size() / 2;
      std::memcpy(bytes, value.data(), half);
      std::this_thread::yield();
      std::memcpy(bytes + half, value.data() + half, value.size() - half);
      e = sharedmem_write_commit(segment, nullptr);
      break;
    }
    if (e != SHAREDMEM_OK) {
      report(std::string("error:") + sharedmem_strerror(e));
      return 1;
    }
  }
  sharedmem_close(segment);
  report("done");
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(in_place)

// Tests that a committed in-place write is a write: readers see the old value
// until the commit and the new one after it, the version goes up by one, and
// sizes 0 and the full capacity work.
BOOST_AUTO_TEST_CASE(commit_publishes_like_a_write) {
  sharedmem_segment* segment = open_ok(unique_name("ipcommit"));
  BOOST_TEST(sharedmem_write(segment, "old", 3) == SHAREDMEM_OK);
  void* data = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_write_begin(segment, 5, &data) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(data != nullptr);
  std::memcpy(data, "ne", 2);
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "old" && s.version == 1u), "readers see the old value while it fills");
  BOOST_TEST(sharedmem_version(segment) == 1u);
  std::memcpy(static_cast<char*>(data) + 2, "w!!", 3);
  std::uint64_t version = 0;
  BOOST_TEST(sharedmem_write_commit(segment, &version) == SHAREDMEM_OK);
  BOOST_TEST(version == 2u);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "new!!" && s.version == 2u));

  BOOST_TEST(write_in_place(segment, "", &version) == SHAREDMEM_OK);
  s = read_snapshot(segment);
  BOOST_TEST((s.value.empty() && s.version == 3u && version == 3u));
  std::string full(static_cast<std::size_t>(kCapacity), '\0');
  for (std::size_t i = 0; i < full.size(); ++i) full[i] = static_cast<char>('a' + i % 26);
  BOOST_TEST(write_in_place(segment, full) == SHAREDMEM_OK);
  BOOST_TEST(read_snapshot(segment).value == full);
  BOOST_TEST(sharedmem_write(segment, "after", 5) == SHAREDMEM_OK, "the lock was released");
  BOOST_TEST(sharedmem_version(segment) == 5u);
  sharedmem_close(segment);
}

// Tests that an abort publishes nothing and releases the lock: the value and
// version stay, and the next write and in-place write go through.
BOOST_AUTO_TEST_CASE(abort_leaves_the_old_value) {
  const std::string name = unique_name("ipabort");
  sharedmem_segment* segment = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  for (int round = 0; round < 3; ++round) {  // both slots, and again
    void* data = nullptr;
    BOOST_TEST_REQUIRE(sharedmem_write_begin(segment, 6, &data) == SHAREDMEM_OK);
    std::memcpy(data, "doomed", 6);
    sharedmem_write_abort(segment);
    const Snapshot s = read_snapshot(segment);
    BOOST_TEST((s.value == "kept" && s.version == 1u));
  }
  BOOST_TEST(read_in_child(name) == "value:kept");
  BOOST_TEST(sharedmem_write(segment, "next", 4) == SHAREDMEM_OK);
  BOOST_TEST(write_in_place(segment, "then") == SHAREDMEM_OK);
  const Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "then" && s.version == 3u));
  sharedmem_close(segment);
}

// Tests that a commit wakes sharedmem_wait callers in other processes.
BOOST_AUTO_TEST_CASE(commit_wakes_waiters) {
  const std::string name = unique_name("ipwake");
  sharedmem_segment* segment = open_ok(name);
  ChildProcess waiter = start_role("version_waiter", {name, "1"});
  BOOST_TEST_REQUIRE(expect_line(waiter) == "waiting version:0");
  BOOST_TEST(write_in_place(segment, "wake") == SHAREDMEM_OK);
  const std::string line = expect_line(waiter);
  BOOST_TEST(line.rfind("woke version:1", 0) == 0u, line);
  BOOST_TEST(expect_exit(waiter) == 0);
  sharedmem_close(segment);
}

// Tests every bad call: null handles and outputs, sizes beyond the capacity,
// commits and aborts with no write open, a second begin, writes while a
// write is open (through the same handle and another one), and a close with
// a write open, which must release the lock and publish nothing.
BOOST_AUTO_TEST_CASE(hostile_calls_get_errors_and_change_nothing) {
  const std::string name = unique_name("iphostile");
  sharedmem_segment* segment = open_ok(name);
  sharedmem_segment* other = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "base", 4) == SHAREDMEM_OK);
  void* data = &data;
  BOOST_TEST(sharedmem_write_begin(nullptr, 1, &data) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(data == nullptr, "a failed begin nulls *data");
  BOOST_TEST(sharedmem_write_begin(segment, 1, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  data = &data;
  BOOST_TEST(sharedmem_write_begin(segment, kCapacity + 1, &data) == SHAREDMEM_E_VALUE_TOO_LARGE);
  BOOST_TEST(data == nullptr);
  BOOST_TEST(sharedmem_write_begin(segment, UINT64_MAX, &data) == SHAREDMEM_E_VALUE_TOO_LARGE);
  std::uint64_t version = 99;
  BOOST_TEST(sharedmem_write_commit(nullptr, &version) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_write_commit(segment, &version) == SHAREDMEM_E_NOT_HELD);
  BOOST_TEST(version == 1u, "a failed commit reports the unchanged version");
  BOOST_TEST(sharedmem_write_commit(segment, nullptr) == SHAREDMEM_E_NOT_HELD);
  sharedmem_write_abort(nullptr);
  sharedmem_write_abort(segment);
  BOOST_TEST(std::string(sharedmem_strerror(SHAREDMEM_E_NOT_HELD)).find("in-place") !=
             std::string::npos);

  // A write open: everything else this thread tries on the segment is refused.
  BOOST_TEST_REQUIRE(sharedmem_write_begin(segment, 4, &data) == SHAREDMEM_OK);
  std::memcpy(data, "open", 4);
  void* second = &second;
  BOOST_TEST(sharedmem_write_begin(segment, 4, &second) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(second == nullptr);
  BOOST_TEST(sharedmem_write_begin(other, 4, &second) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(sharedmem_write(segment, "no", 2) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(sharedmem_write(other, "no", 2) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(sharedmem_write_if(segment, "no", 2, 1, nullptr) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(sharedmem_write_commit(other, nullptr) == SHAREDMEM_E_NOT_HELD,
             "another handle holds no write");
  sharedmem_write_abort(other);  // not its write: nothing happens
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "base" && s.version == 1u), "nothing was written meanwhile");
  BOOST_TEST(sharedmem_write_commit(segment, &version) == SHAREDMEM_OK, "the open write survived");
  BOOST_TEST(version == 2u);
  BOOST_TEST(sharedmem_write_commit(segment, &version) == SHAREDMEM_E_NOT_HELD, "double commit");
  BOOST_TEST(version == 2u);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "open" && s.version == 2u));

  // Begin, then close: the lock is free for this thread and for others.
  BOOST_TEST_REQUIRE(sharedmem_write_begin(other, 6, &data) == SHAREDMEM_OK);
  std::memcpy(data, "closed", 6);
  sharedmem_close(other);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "open" && s.version == 2u), "a close publishes nothing");
  BOOST_TEST(sharedmem_write(segment, "mine", 4) == SHAREDMEM_OK);
  ChildProcess holder = hold_in_child(name);
  holder.write_line("write:theirs");
  BOOST_TEST(expect_line(holder) == "wrote", "another process got the lock at once");
  release(holder);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "theirs" && s.version == 4u));
  sharedmem_close(segment);
}

// Tests that an in-place write belongs to the thread that began it: another
// thread using the same handle cannot commit or abort it, and it stays intact
// for its owner.
BOOST_AUTO_TEST_CASE(another_thread_cannot_end_the_write) {
  sharedmem_segment* segment = open_ok(unique_name("ipthread"));
  void* data = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_write_begin(segment, 5, &data) == SHAREDMEM_OK);
  std::memcpy(data, "owner", 5);
  sharedmem_error commit = SHAREDMEM_OK;
  std::thread intruder([&] {
    commit = sharedmem_write_commit(segment, nullptr);
    sharedmem_write_abort(segment);
  });
  intruder.join();
  BOOST_TEST(commit == SHAREDMEM_E_NOT_HELD);
  BOOST_TEST(sharedmem_version(segment) == 0u);
  BOOST_TEST(sharedmem_write_commit(segment, nullptr) == SHAREDMEM_OK);
  const Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "owner" && s.version == 1u));
  // And the lock went back to everyone: another thread writes.
  sharedmem_error later = SHAREDMEM_E_SYSTEM;
  std::thread writer([&] { later = sharedmem_write(segment, "later", 5); });
  writer.join();
  BOOST_TEST(later == SHAREDMEM_OK);
  sharedmem_close(segment);
}

// Tests that a thread that ends with its in-place write open publishes
// nothing and blocks nobody: the lock passes to the next writer (as its
// owner died), and the handle serves in-place writes again.
BOOST_AUTO_TEST_CASE(thread_that_ends_with_a_write_open_blocks_nobody) {
  sharedmem_segment* segment = open_ok(unique_name("ipthreadend"));
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  sharedmem_error begun = SHAREDMEM_E_SYSTEM;
  std::thread leaver([&] {
    void* data = nullptr;
    begun = sharedmem_write_begin(segment, 6, &data);
    if (begun == SHAREDMEM_OK) std::memcpy(data, "leaked", 6);
  });
  leaver.join();
  BOOST_TEST_REQUIRE(begun == SHAREDMEM_OK);
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  BOOST_TEST(sharedmem_write_commit(segment, nullptr) == SHAREDMEM_E_NOT_HELD,
             "not this thread's write");
  // A lock left held would time out (SHAREDMEM_E_TIMEOUT) instead.
  BOOST_TEST(write_in_place(segment, "next") == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_write(segment, "then", 4) == SHAREDMEM_OK);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "then" && s.version == 3u));
  sharedmem_close(segment);
}

// Tests the misuse of closing a handle while another thread's in-place write
// on it is open: nothing is published, and once that thread ends, the lock
// passes on (its robust bookkeeping still finds the pages).
BOOST_AUTO_TEST_CASE(close_under_another_threads_write_frees_the_lock_at_its_end) {
  const std::string name = unique_name("ipcloseother");
  sharedmem_segment* keeper = open_ok(name);
  BOOST_TEST(sharedmem_write(keeper, "kept", 4) == SHAREDMEM_OK);
  sharedmem_segment* shared = open_ok(name);
  std::mutex mutex;
  std::condition_variable changed;
  int stage = 0;  // 1: the write is begun, 2: the handle is closed
  std::thread writer([&] {
    void* data = nullptr;
    const sharedmem_error e = sharedmem_write_begin(shared, 6, &data);
    if (e == SHAREDMEM_OK) std::memcpy(data, "orphan", 6);
    std::unique_lock<std::mutex> lock(mutex);
    stage = 1;
    changed.notify_all();
    changed.wait_for(lock, line_timeout(), [&] { return stage == 2; });
  });  // ends without touching the closed handle
  {
    std::unique_lock<std::mutex> lock(mutex);
    const bool begun = changed.wait_for(lock, line_timeout(), [&] { return stage == 1; });
    BOOST_TEST_REQUIRE(begun);
  }
  sharedmem_close(shared);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    stage = 2;
  }
  changed.notify_all();
  writer.join();
  Snapshot s = read_snapshot(keeper);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  // A lock left held would time out (SHAREDMEM_E_TIMEOUT) instead.
  BOOST_TEST(sharedmem_write(keeper, "next", 4) == SHAREDMEM_OK);
  sharedmem_close(keeper);
}

// Tests that a writer killed between begin and commit publishes nothing and
// blocks nobody: the old value and version stay, and the next writer gets the
// lock at once.
BOOST_AUTO_TEST_CASE(writer_killed_between_begin_and_commit_leaves_the_old_value) {
  const std::string name = unique_name("ipkill");
  sharedmem_segment* segment = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  ChildProcess victim = start_role("in_place_begin_hold", {name, "doomed value"});
  BOOST_TEST_REQUIRE(expect_line(victim) == "begun");
  victim.kill();
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  BOOST_TEST(read_in_child(name) == "value:kept");
  // A lock left held would time out (SHAREDMEM_E_TIMEOUT) instead.
  BOOST_TEST(write_in_place(segment, "next") == SHAREDMEM_OK);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "next" && s.version == 2u));
  sharedmem_close(segment);
}

// Tests that a process that returns from main with an in-place write open
// publishes nothing, and that another process's begun write commits and
// aborts as it should while this one waits for the lock.
BOOST_AUTO_TEST_CASE(exit_with_a_write_open_publishes_nothing) {
  const std::string name = unique_name("ipexit");
  sharedmem_segment* segment = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  ChildProcess leaver = start_role("in_place_begin_hold", {name, "left open"});
  BOOST_TEST_REQUIRE(expect_line(leaver) == "begun");
  leaver.write_line("exit");
  BOOST_TEST(expect_exit(leaver) == 0);
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  BOOST_TEST(sharedmem_write(segment, "free", 4) == SHAREDMEM_OK);

  ChildProcess aborter = start_role("in_place_begin_hold", {name, "aborted"});
  BOOST_TEST_REQUIRE(expect_line(aborter) == "begun");
  aborter.write_line("abort");
  BOOST_TEST(expect_line(aborter) == "aborted");
  BOOST_TEST(expect_exit(aborter) == 0);
  ChildProcess committer = start_role("in_place_begin_hold", {name, "committed"});
  BOOST_TEST_REQUIRE(expect_line(committer) == "begun");
  committer.write_line("commit");
  BOOST_TEST(expect_line(committer) == "committed");
  BOOST_TEST(expect_exit(committer) == 0);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "committed" && s.version == 3u));
  sharedmem_close(segment);
}

// Tests that a writer killed inside its commit, before it published, leaves
// the old value and version.
BOOST_AUTO_TEST_CASE(writer_killed_in_commit_publishes_nothing,
                     *boost::unit_test::label("fault_injection")) {
  if (!fault_injection_built()) return;
  const std::string name = unique_name("ipcommitkill");
  sharedmem_segment* segment = open_ok(name);
  BOOST_TEST(sharedmem_write(segment, "kept", 4) == SHAREDMEM_OK);
  ChildProcess victim = start_role("in_place_write_once", {name, "doomed"},
                                   {{"SHAREDMEM_TEST_FAULT", "write_mid_copy"}});
  BOOST_TEST_REQUIRE(expect_line(victim) == "started");
  BOOST_TEST(expect_exit(victim) == kKilledExitCode, "the victim died in its commit");
  Snapshot s = read_snapshot(segment);
  BOOST_TEST((s.value == "kept" && s.version == 1u));
  BOOST_TEST(write_in_place(segment, "next") == SHAREDMEM_OK);
  s = read_snapshot(segment);
  BOOST_TEST((s.value == "next" && s.version == 2u));
  sharedmem_close(segment);
}

// Tests that readers never see a partly filled value while in-place writers
// in several processes (and one mixing in ordinary writes) fill slots in two
// halves: every snapshot is the whole pattern of the version it reports.
BOOST_AUTO_TEST_CASE(readers_never_see_a_partly_filled_value) {
  const std::string name = unique_name("iptorn");
  sharedmem_segment* segment = open_ok(name);
  constexpr int kWrites = 2000;
  std::vector<ChildProcess> writers;
  for (const char* mode : {"in_place", "in_place", "mixed"})
    writers.push_back(start_role("in_place_writer", {name, std::to_string(kWrites), mode}));
  for (ChildProcess& writer : writers) BOOST_TEST_REQUIRE(expect_line(writer) == "ready");
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::atomic<long> reads{0};
  auto reader = [&] {
    while (!stop.load()) {
      const Snapshot s = read_snapshot(segment);
      const bool whole = s.error == SHAREDMEM_OK &&
                         (s.version == 0 ? s.value.empty() : s.value == pattern_value(s.version, kSpan));
      if (!whole) ++torn;
      ++reads;
    }
  };
  std::thread first(reader);
  std::thread second(reader);
  for (ChildProcess& writer : writers) writer.write_line("go");
  // Each write yields inside the lock while two readers spin: on a loaded
  // 2-core machine 6,000 of them can take longer than one line's timeout.
  // Nothing here may throw while the readers run (they would be left
  // joinable), so results are checked, not required.
  for (ChildProcess& writer : writers) {
    const std::optional<std::string> line = writer.read_line(6 * line_timeout());
    BOOST_TEST(line.value_or("(no line in time)") == "done");
    BOOST_TEST(writer.wait(line_timeout()).value_or(-1) == 0);
  }
  stop = true;
  first.join();
  second.join();
  BOOST_TEST_MESSAGE(reads.load() << " reads");
  BOOST_TEST(torn.load() == 0, torn.load() << " of " << reads.load()
                                           << " reads saw a value other than their version's");
  BOOST_TEST(sharedmem_version(segment) == 3u * kWrites);
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cpp_api)

// Tests the C++ in-place writer: commit publishes and returns the version,
// destruction without commit aborts, moves keep one owner, and errors come
// as exceptions or error codes.
BOOST_AUTO_TEST_CASE(in_place_writer_commits_or_aborts) {
  auto segment = sharedmem::segment::open(unique_name("cppip"), 64);
  segment.write("old");
  {
    sharedmem::in_place_writer writer = segment.write_in_place(5);
    BOOST_TEST_REQUIRE(static_cast<bool>(writer));
    BOOST_TEST(writer.size() == 5u);
    std::memcpy(writer.data(), "fresh", 5);
    BOOST_TEST(writer.commit() == 2u);
    BOOST_TEST(!writer);
    BOOST_TEST(writer.data() == nullptr);
    std::error_code ec;
    writer.commit(nullptr, ec);
    BOOST_TEST((ec == sharedmem::errc::not_held));
    BOOST_CHECK_THROW(writer.commit(), sharedmem::error);
  }
  BOOST_TEST(segment.read() == "fresh");
  {
    sharedmem::in_place_writer writer = segment.write_in_place(4);
    std::memcpy(writer.data(), "lost", 4);
    sharedmem::in_place_writer moved = std::move(writer);
    BOOST_TEST(!writer);
    BOOST_TEST(static_cast<bool>(moved));
  }  // destroyed uncommitted: aborted
  BOOST_TEST(segment.read() == "fresh");
  BOOST_TEST(segment.version() == 2u);
  std::error_code ec;
  {
    sharedmem::in_place_writer writer = segment.write_in_place(2);
    std::memcpy(writer.data(), "ab", 2);
    // A second one on this thread is refused while the first is open; the
    // assignment then aborts the first.
    writer = segment.write_in_place(0, ec);
    BOOST_TEST((ec == sharedmem::errc::would_deadlock));
    BOOST_TEST(!writer);
  }
  BOOST_TEST(segment.read() == "fresh");
  BOOST_TEST(segment.version() == 2u);
  sharedmem::in_place_writer writer = segment.write_in_place(65, ec);
  BOOST_TEST((ec == sharedmem::errc::value_too_large));
  BOOST_TEST(!writer);
  try {
    (void)segment.write_in_place(65);
    BOOST_FAIL("no exception");
  } catch (const sharedmem::error& e) {
    BOOST_TEST((e.code() == sharedmem::errc::value_too_large));
  }
  writer = segment.write_in_place(3);
  std::memcpy(writer.data(), "new", 3);
  std::uint64_t version = 0;
  BOOST_TEST(!writer.commit(&version, ec));
  BOOST_TEST(version == 3u);
  BOOST_TEST(segment.read() == "new");
}

BOOST_AUTO_TEST_SUITE_END()
