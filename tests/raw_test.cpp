// SPDX-License-Identifier: MIT
// Raw segments (SHAREDMEM_RAW): a buffer shared in place with the lifetime of
// value segments, a robust cross-process lock that its user holds across
// calls, and change notification; and the refusals that keep the two kinds
// of segment apart.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/snapshots.hpp"
#include "support/roles.hpp"

#if !defined(_WIN32)
#include <signal.h>
#include <time.h>
#include <unistd.h>
#endif

using namespace sharedmem_test;

namespace {

// Not a multiple of any page size: the last page is partly the segment's.
constexpr std::uint64_t kRawCapacity = 3 * 4096 + 123;
const std::string kRawCapacityText = std::to_string(kRawCapacity);

sharedmem_segment* open_raw(const std::string& name, std::uint64_t capacity = kRawCapacity,
                            std::uint32_t flags = 0) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags | SHAREDMEM_RAW, &segment);
  BOOST_TEST_REQUIRE(e == SHAREDMEM_OK, "open raw '" << name << "': " << sharedmem_strerror(e));
  return segment;
}

bool all_bytes_are(const sharedmem_segment* segment, unsigned char byte) {
  const auto* data = static_cast<const unsigned char*>(
      sharedmem_data(const_cast<sharedmem_segment*>(segment)));
  for (std::uint64_t i = 0; i < sharedmem_capacity(segment); ++i)
    if (data[i] != byte) return false;
  return true;
}

// Opens raw segment args[0] of args[1] bytes and reports
// "open created:<0|1> zero:<0|1>" (zero: every byte is 0). Then obeys the
// parent's lines until "exit" or the end of stdin: "fill:<n>" sets every byte
// to n ("filled"); "byte" reports "byte:<first byte>"; "lock" and "unlock"
// report code_line of sharedmem_lock (forever) and sharedmem_unlock.
SHAREDMEM_CHILD_ROLE(raw_hold) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(args.at(0).c_str(), std::stoull(args.at(1)),
                                           SHAREDMEM_RAW, &segment);
  if (e != SHAREDMEM_OK) {
    report("error:" + std::string(sharedmem_strerror(e)));
    return 1;
  }
  report("open created:" + std::to_string(sharedmem_created(segment)) +
         " zero:" + (all_bytes_are(segment, 0) ? "1" : "0"));
  auto* data = static_cast<unsigned char*>(sharedmem_data(segment));
  for (std::string command = await_parent();; command = await_parent()) {
    if (command.rfind("fill:", 0) == 0) {
      std::memset(data, std::stoi(command.substr(5)), sharedmem_capacity(segment));
      report("filled");
    } else if (command == "byte") {
      report("byte:" + std::to_string(data[0]));
    } else if (command == "lock") {
      report(code_line(sharedmem_lock(segment, SHAREDMEM_WAIT_FOREVER)));
    } else if (command == "unlock") {
      report(code_line(sharedmem_unlock(segment)));
    } else {
      break;
    }
  }
  sharedmem_close(segment);
  return 0;
}

// Increments the 64-bit counter at the start of raw segment args[0]
// args[2] times in each of args[1] threads, each increment under the lock
// and spread over a read, a yield and a write, so that two unlocked
// incrementers lose counts. Reports "ready", waits for "go", then reports
// "done failures:<calls that failed>".
SHAREDMEM_CHILD_ROLE(raw_count) {
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kRawCapacity, SHAREDMEM_RAW, &segment) != SHAREDMEM_OK)
    return 1;
  const int threads = std::stoi(args.at(1));
  const int increments = std::stoi(args.at(2));
  auto* counter = static_cast<volatile std::uint64_t*>(sharedmem_data(segment));
  report("ready");
  if (await_parent() != "go") return 2;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < increments; ++i) {
        if (sharedmem_lock(segment, SHAREDMEM_WAIT_FOREVER) != SHAREDMEM_OK) {
          ++failures;
          continue;
        }
        const std::uint64_t seen = *counter;
        if ((i + t) % 8 == 0) std::this_thread::yield();
        *counter = seen + 1;
        if (sharedmem_unlock(segment) != SHAREDMEM_OK) ++failures;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  report("done failures:" + std::to_string(failures.load()));
  sharedmem_close(segment);
  return 0;
}

// Opens raw segment args[0], reports "waiting version:<v>", waits for a
// version other than args[1] and reports "woke version:<v> byte:<first byte>"
// (or "code:<error>").
SHAREDMEM_CHILD_ROLE(raw_wait) {
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kRawCapacity, SHAREDMEM_RAW, &segment) != SHAREDMEM_OK)
    return 1;
  report("waiting version:" + std::to_string(sharedmem_version(segment)));
  std::uint64_t version = 0;
  const auto timeout = static_cast<std::uint32_t>(line_timeout().count());
  const sharedmem_error e = sharedmem_wait(segment, std::stoull(args.at(1)), timeout, &version);
  if (e != SHAREDMEM_OK) {
    report(code_line(e));
  } else {
    report("woke version:" + std::to_string(version) +
           " byte:" + std::to_string(static_cast<unsigned char*>(sharedmem_data(segment))[0]));
  }
  sharedmem_close(segment);
  return 0;
}

ChildProcess hold_raw_in_child(const std::string& name, const std::string& expect_open) {
  ChildProcess holder = start_role("raw_hold", {name, kRawCapacityText});
  BOOST_TEST_REQUIRE(expect_line(holder) == expect_open);
  return holder;
}

void command(ChildProcess& child, const std::string& line, const std::string& answer) {
  BOOST_TEST_REQUIRE(child.write_line(line));
  BOOST_TEST_REQUIRE(expect_line(child) == answer);
}

#if defined(SHAREDMEM_FRAME_PRODUCER) && defined(SHAREDMEM_FRAME_CONSUMER)
// An example program: a path, or a bare file name next to this executable.
std::string example_program(const std::string& program) {
  if (program.find_first_of("\\/") != std::string::npos) return program;
  const std::string self = self_path();
  return self.substr(0, self.find_last_of("\\/") + 1) + program;
}

ChildProcess start_frame_program(const char* program, const std::string& name) {
  std::vector<std::string> args{"--name", name};
  if (std::string(program) == SHAREDMEM_FRAME_PRODUCER) {
    args.push_back("--interval-ms");
    args.push_back("10");
  }
  return ChildProcess(example_program(program), args);
}

// Reads the consumer's lines until it printed `count` intact frames with
// new numbers above `after`; returns the last number. Frames torn by a
// producer killed mid-frame are allowed, at most `torn_allowed` of them.
std::uint64_t expect_frames(ChildProcess& consumer, std::uint64_t after, int count,
                            int torn_allowed) {
  std::uint64_t last = after;
  for (int lines = 0; count > 0 && lines < 500; ++lines) {
    const std::string line = expect_line(consumer);
    if (line.rfind("frame ", 0) != 0) continue;  // "no new frame...", "...died holding..."
    const std::uint64_t number = std::stoull(line.substr(6));
    if (line.find("checksum ok") == std::string::npos) {
      BOOST_TEST_REQUIRE(torn_allowed-- > 0, "too many torn frames: " << line);
      continue;
    }
    // A frame may be printed twice (a consumer woken for one frame may
    // already read the next, then wakes for it), or again by a new consumer.
    BOOST_TEST_REQUIRE(number >= last, "frames never go back: " << line << " after " << last);
    if (number > last) --count;
    last = number;
  }
  BOOST_TEST_REQUIRE(count == 0, "the consumer printed too few intact frames");
  return last;
}
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(raw)

// Tests the frame example (issue 11.4): kill the producer or the consumer at
// any moment and start it again, and frames go on, numbered from where they
// were (the consumer keeps the segment alive), checksums intact.
bool frame_programs_built() {
#if defined(SHAREDMEM_FRAME_PRODUCER) && defined(SHAREDMEM_FRAME_CONSUMER)
  return true;
#else
  return false;
#endif
}
constexpr Condition kFramePrograms{frame_programs_built,
                                   "the examples are not built (SHAREDMEM_BUILD_EXAMPLES)"};

BOOST_AUTO_TEST_CASE(frame_example_survives_kills_and_restarts, only_if(kFramePrograms)) {
#if defined(SHAREDMEM_FRAME_PRODUCER) && defined(SHAREDMEM_FRAME_CONSUMER)
  const std::string name = unique_name("frames");
  // emplace, not assignment: a ChildProcess is replaced by destroying it
  // (which kills and reaps it), then starting the next.
  std::optional<ChildProcess> consumer;
  std::optional<ChildProcess> producer;
  consumer.emplace(start_frame_program(SHAREDMEM_FRAME_CONSUMER, name));
  producer.emplace(start_frame_program(SHAREDMEM_FRAME_PRODUCER, name));
  std::uint64_t last = expect_frames(*consumer, 0, 3, 0);
  for (int round = 0; round < 3; ++round) {
    producer->kill();  // wherever it is: mid-frame, holding the lock, or sleeping
    producer.emplace(start_frame_program(SHAREDMEM_FRAME_PRODUCER, name));
    last = expect_frames(*consumer, last, 3, 1);
    consumer->kill();
    consumer.emplace(start_frame_program(SHAREDMEM_FRAME_CONSUMER, name));
    last = expect_frames(*consumer, last, 3, 0);
  }
#endif
}

// Tests that a raw segment is a zero-filled, page-aligned buffer of exactly
// its capacity that every handle sees in place.
BOOST_AUTO_TEST_CASE(raw_segment_is_a_shared_zeroed_buffer) {
  const std::string name = unique_name("rawbuf");
  sharedmem_segment* first = open_raw(name);
  sharedmem_segment* second = open_raw(name);
  BOOST_TEST(sharedmem_created(first) == 1);
  BOOST_TEST(sharedmem_created(second) == 0);
  BOOST_TEST(sharedmem_capacity(first) == kRawCapacity);
  auto* a = static_cast<unsigned char*>(sharedmem_data(first));
  auto* b = static_cast<unsigned char*>(sharedmem_data(second));
  BOOST_TEST_REQUIRE(a != nullptr);
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(a) % 4096 == 0u, "page-aligned");
  BOOST_TEST(all_bytes_are(first, 0));
  a[0] = 1;
  a[kRawCapacity - 1] = 2;
  BOOST_TEST(b[0] == 1);
  BOOST_TEST(b[kRawCapacity - 1] == 2);
  BOOST_TEST(sharedmem_version(first) == 0u);
  sharedmem_close(first);
  sharedmem_close(second);
}

// Tests the lifetime rule on a raw segment: the last close frees it and the
// next first user sees zeros.
BOOST_AUTO_TEST_CASE(raw_last_close_frees) {
  const std::string name = unique_name("rawlife");
  ChildProcess holder = hold_raw_in_child(name, "open created:1 zero:1");
  command(holder, "fill:7", "filled");
  {
    ChildProcess second = hold_raw_in_child(name, "open created:0 zero:0");
    command(second, "byte", "byte:7");
    release(second);
  }
  BOOST_TEST(os_object_exists(name));
  release(holder);
  BOOST_TEST(!os_object_exists(name), "the last user removed the object");
  ChildProcess next = hold_raw_in_child(name, "open created:1 zero:1");
  release(next);
}

// Tests that SIGKILL / TerminateProcess of the only user frees a raw segment.
BOOST_AUTO_TEST_CASE(raw_kill_of_only_user_frees) {
  const std::string name = unique_name("rawkill");
  ChildProcess holder = hold_raw_in_child(name, "open created:1 zero:1");
  command(holder, "fill:9", "filled");
  holder.kill();
  ChildProcess next = hold_raw_in_child(name, "open created:1 zero:1");
  release(next);
  BOOST_TEST(!os_object_exists(name));
}

// Tests that a holder keeps a raw segment's bytes for the next user, even
// when another user was killed.
BOOST_AUTO_TEST_CASE(raw_holder_keeps_it) {
  const std::string name = unique_name("rawkeep");
  ChildProcess keeper = hold_raw_in_child(name, "open created:1 zero:1");
  ChildProcess writer = hold_raw_in_child(name, "open created:0 zero:1");
  command(writer, "fill:5", "filled");
  writer.kill();
  ChildProcess next = hold_raw_in_child(name, "open created:0 zero:0");
  command(next, "byte", "byte:5");
  release(next);
  sharedmem_segment* mine = open_raw(name);
  BOOST_TEST(all_bytes_are(mine, 5));
  release(keeper);
  sharedmem_close(mine);
}

// Tests mutual exclusion: threads in several processes each increment a
// counter in the buffer under the lock, and no increment is lost.
BOOST_AUTO_TEST_CASE(lock_excludes_processes_and_threads) {
  const std::string name = unique_name("rawcount");
  sharedmem_segment* segment = open_raw(name);
  constexpr int kProcesses = 3;
  constexpr int kThreads = 3;
  constexpr int kIncrements = 400;
  std::vector<ChildProcess> counters;
  for (int p = 0; p < kProcesses; ++p) {
    counters.push_back(start_role(
        "raw_count", {name, std::to_string(kThreads), std::to_string(kIncrements)}));
    BOOST_TEST_REQUIRE(expect_line(counters.back()) == "ready");
  }
  for (ChildProcess& counter : counters) counter.write_line("go");
  for (ChildProcess& counter : counters) {
    BOOST_TEST(expect_line(counter) == "done failures:0");
    BOOST_TEST(expect_exit(counter) == 0);
  }
  std::uint64_t count = 0;
  std::memcpy(&count, sharedmem_data(segment), sizeof count);
  BOOST_TEST(count == std::uint64_t{kProcesses} * kThreads * kIncrements);
  sharedmem_close(segment);
}

// Tests that a holder killed holding the lock hangs nobody: the next locker
// gets it with SHAREDMEM_E_OWNER_DIED, and the lock works normally after.
BOOST_AUTO_TEST_CASE(holder_killed_holding_the_lock_gives_owner_died) {
  const std::string name = unique_name("rawdied");
  sharedmem_segment* segment = open_raw(name);
  ChildProcess holder = hold_raw_in_child(name, "open created:0 zero:1");
  command(holder, "lock", code_line(SHAREDMEM_OK));
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_E_TIMEOUT);
  holder.kill();
  const auto timeout = static_cast<std::uint32_t>(line_timeout().count());
  BOOST_TEST(sharedmem_lock(segment, timeout) == SHAREDMEM_E_OWNER_DIED);
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  ChildProcess next = hold_raw_in_child(name, "open created:0 zero:1");
  command(next, "lock", code_line(SHAREDMEM_OK));
  command(next, "unlock", code_line(SHAREDMEM_OK));
  release(next);
  sharedmem_close(segment);
}

#if !defined(_WIN32)
// Tests that a locker whose sleeps are cut short faster than its sleep
// slices still finds the holder dead: a timer sends SIGUSR1 to the locking
// thread every 100 us (less than the shortest slice, 1 ms), with a handler
// installed without SA_RESTART, so that every futex sleep ends with EINTR
// before its slice does; the lock is still OWNER_DIED within the slices
// (docs/SECURITY.md: "taken over within its sleep slices, not after a
// timeout"), not a timeout.
BOOST_AUTO_TEST_CASE(a_signal_storm_never_hides_a_dead_holder) {
  const std::string name = unique_name("rawstorm");
  sharedmem_segment* segment = open_raw(name);
  ChildProcess holder = hold_raw_in_child(name, "open created:0 zero:1");
  command(holder, "lock", code_line(SHAREDMEM_OK));
  holder.kill();
  static std::atomic<long> delivered{0};
  delivered.store(0);
  struct sigaction count {};
  count.sa_handler = [](int) { delivered.fetch_add(1); };
  ::sigemptyset(&count.sa_mask);
  count.sa_flags = 0;  // no SA_RESTART
  struct sigaction previous {};
  BOOST_TEST_REQUIRE(::sigaction(SIGUSR1, &count, &previous) == 0);
  struct sigevent event {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = SIGUSR1;
  event._sigev_un._tid = ::gettid();  // sigev_notify_thread_id, which glibc 2.36 does not name
  timer_t timer{};
  BOOST_TEST_REQUIRE(::timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  struct itimerspec every {};
  every.it_value.tv_nsec = 20'000;
  every.it_interval.tv_nsec = 20'000;
  BOOST_TEST_REQUIRE(::timer_settime(timer, 0, &every, nullptr) == 0);
  // "Taken over within its sleep slices": the whole ladder of slices (1, 2,
  // 4 ... 64 ms) is 127 ms; the takeover itself, a few ms even under load.
  const sharedmem_error locked = sharedmem_lock(segment, 500);
  ::timer_delete(timer);
  ::sigaction(SIGUSR1, &previous, nullptr);
  BOOST_TEST(locked == SHAREDMEM_E_OWNER_DIED);
  BOOST_TEST(delivered.load() > 0);
  if (locked == SHAREDMEM_E_OWNER_DIED) BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  sharedmem_close(segment);
}
#endif

// Tests that a thread that ends holding the lock counts as a dead holder.
BOOST_AUTO_TEST_CASE(thread_ending_holding_the_lock_gives_owner_died) {
  const std::string name = unique_name("rawthread");
  sharedmem_segment* segment = open_raw(name);
  std::thread([&] { BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK); }).join();
  const auto timeout = static_cast<std::uint32_t>(line_timeout().count());
  BOOST_TEST(sharedmem_lock(segment, timeout) == SHAREDMEM_E_OWNER_DIED);
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  sharedmem_close(segment);
}

// Tests that a lock held elsewhere makes sharedmem_lock time out, and that a
// wait for a lock that is released in time succeeds.
BOOST_AUTO_TEST_CASE(lock_times_out_while_a_live_peer_holds_it) {
  const std::string name = unique_name("rawtimeout");
  sharedmem_segment* segment = open_raw(name);
  ChildProcess holder = hold_raw_in_child(name, "open created:0 zero:1");
  command(holder, "lock", code_line(SHAREDMEM_OK));
  const auto before = std::chrono::steady_clock::now();
  BOOST_TEST(sharedmem_lock(segment, 200) == SHAREDMEM_E_TIMEOUT);
  BOOST_TEST((std::chrono::steady_clock::now() - before >= std::chrono::milliseconds(200)),
             "no timeout before the deadline");
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_E_NOT_HELD, "not ours to unlock");
  command(holder, "unlock", code_line(SHAREDMEM_OK));
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
  command(holder, "unlock", code_line(SHAREDMEM_E_NOT_HELD));
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  release(holder);
  sharedmem_close(segment);
}

// Tests the lock's rules inside one process: not recursive (through any
// handle), only its holder thread unlocks it, and a close releases the
// closing thread's lock.
BOOST_AUTO_TEST_CASE(lock_is_the_holder_threads_alone) {
  const std::string name = unique_name("rawrules");
  sharedmem_segment* segment = open_raw(name);
  sharedmem_segment* other = open_raw(name);
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_E_NOT_HELD, "unlock without lock");
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_E_WOULD_DEADLOCK);
  BOOST_TEST(sharedmem_lock(other, 0) == SHAREDMEM_E_WOULD_DEADLOCK, "through another handle");
  BOOST_TEST(sharedmem_unlock(other) == SHAREDMEM_E_NOT_HELD, "not locked through it");
  std::thread([&] {
    BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_E_NOT_HELD, "another thread");
    BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_E_TIMEOUT, "still held");
  }).join();
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_E_NOT_HELD, "unlocked twice");
  // A close releases the lock its thread holds through the handle.
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
  sharedmem_close(segment);
  std::thread([&] { BOOST_TEST(sharedmem_lock(other, 0) == SHAREDMEM_OK); }).join();
  // That thread ended holding it: the next locker is told.
  BOOST_TEST(sharedmem_lock(other, 0) == SHAREDMEM_E_OWNER_DIED);
  BOOST_TEST(sharedmem_unlock(other) == SHAREDMEM_OK);
  sharedmem_close(other);
}

// Tests that notify advances the version and wakes waiters in other
// processes, which then see the data written before it.
BOOST_AUTO_TEST_CASE(notify_wakes_waiters_with_the_data) {
  const std::string name = unique_name("rawnotify");
  sharedmem_segment* segment = open_raw(name);
  std::vector<ChildProcess> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.push_back(start_role("raw_wait", {name, "0"}));
    BOOST_TEST_REQUIRE(expect_line(waiters.back()) == "waiting version:0");
  }
  {
    // Both waiters counted in (they go to sleep right after): the wake-up,
    // not a look at the version on their way in, must end their wait.
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.has_header());
    const auto give_up = std::chrono::steady_clock::now() + line_timeout();
    while (view.header()->waiters.load() < 2 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    BOOST_TEST_REQUIRE(view.header()->waiters.load() == 2u);
  }
  static_cast<unsigned char*>(sharedmem_data(segment))[0] = 42;
  std::uint64_t version = 0;
  BOOST_TEST(sharedmem_notify(segment, &version) == SHAREDMEM_OK);
  BOOST_TEST(version == 1u);
  for (ChildProcess& waiter : waiters) {
    // Well before the waiter's own timeout, which would also see version 1.
    const std::optional<std::string> line = waiter.read_line(line_timeout() / 2);
    BOOST_TEST_REQUIRE(line.has_value(), "the notify woke the waiter");
    BOOST_TEST(*line == "woke version:1 byte:42");
    BOOST_TEST(expect_exit(waiter) == 0);
  }
  BOOST_TEST(sharedmem_notify(segment, nullptr) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_version(segment) == 2u);
  BOOST_TEST(sharedmem_wait(segment, 2, 10, &version) == SHAREDMEM_E_TIMEOUT);
  BOOST_TEST(sharedmem_wait(segment, 1, 10, &version) == SHAREDMEM_OK);
  BOOST_TEST(version == 2u);
  sharedmem_close(segment);
}

// Tests that a name lives as one kind at a time: a live value segment is
// refused as raw and a live raw segment as a value, in every open mode, and
// nothing is changed.
BOOST_AUTO_TEST_CASE(kind_mismatch_is_refused_both_ways) {
  const std::string value_name = unique_name("kindval");
  sharedmem::segment value = sharedmem::segment::open(value_name, 512);
  value.write("kept");
  for (std::uint32_t mode : {0u, unsigned{SHAREDMEM_OPEN_ONLY}})
    BOOST_TEST(open_error(value_name, 512, SHAREDMEM_RAW | mode) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(open_error(value_name, 0, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY) ==
             SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(value.read() == "kept");

  const std::string raw_name = unique_name("kindraw");
  sharedmem_segment* raw = open_raw(raw_name);
  static_cast<unsigned char*>(sharedmem_data(raw))[0] = 3;
  for (std::uint32_t mode : {0u, unsigned{SHAREDMEM_OPEN_ONLY}})
    BOOST_TEST(open_error(raw_name, kRawCapacity, mode) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(open_error(raw_name, 0, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(open_error(raw_name, kRawCapacity, SHAREDMEM_CREATE_ONLY | SHAREDMEM_RAW) ==
             SHAREDMEM_E_EXISTS);
  BOOST_TEST(static_cast<unsigned char*>(sharedmem_data(raw))[0] == 3);
  // The raw segment opens at any capacity with OPEN_ONLY, and only at its own otherwise.
  sharedmem_segment* any = nullptr;
  BOOST_TEST(sharedmem_open(raw_name.c_str(), 0, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY, &any) ==
             SHAREDMEM_OK);
  BOOST_TEST(sharedmem_capacity(any) == kRawCapacity);
  sharedmem_close(any);
  BOOST_TEST(open_error(raw_name, kRawCapacity + 1, SHAREDMEM_RAW) == SHAREDMEM_E_SIZE_MISMATCH);
  sharedmem_close(raw);
  // Once the raw segment is gone, the name is free for a value segment.
  BOOST_TEST(open_error(raw_name, 512, 0) == SHAREDMEM_OK);
}

// Tests that the C++ layer says which kind a refused name is.
BOOST_AUTO_TEST_CASE(cpp_kind_mismatch_names_the_kind) {
  const std::string value_name = unique_name("cppkindval");
  sharedmem::segment value = sharedmem::segment::open(value_name, 512);
  try {
    (void)sharedmem::raw_segment::open(value_name, 512);
    BOOST_FAIL("a value segment opened as raw");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::wrong_kind);
    BOOST_TEST(std::string(e.what()).find("is a value segment") != std::string::npos, e.what());
  }
  const std::string raw_name = unique_name("cppkindraw");
  sharedmem::raw_segment raw = sharedmem::raw_segment::open(raw_name, 512);
  try {
    (void)sharedmem::segment::open(raw_name, 512);
    BOOST_FAIL("a raw segment opened as a value segment");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::wrong_kind);
    BOOST_TEST(std::string(e.what()).find("is a raw segment") != std::string::npos, e.what());
  }
}

// Tests that the value calls refuse a raw segment and the raw calls a value
// segment, without touching either.
BOOST_AUTO_TEST_CASE(calls_of_the_other_kind_are_refused) {
  const std::string name = unique_name("rawrefuse");
  sharedmem_segment* raw = open_raw(name);
  char buffer[16] = {};
  std::uint64_t size = 99;
  std::uint64_t version = 99;
  BOOST_TEST(sharedmem_write(raw, "abc", 3) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(sharedmem_write_if(raw, "abc", 3, 0, &version) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(sharedmem_read(raw, buffer, sizeof buffer, &size) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(sharedmem_read_versioned(raw, buffer, sizeof buffer, &size, &version) ==
             SHAREDMEM_E_WRONG_KIND);
  void* slot = &version;
  BOOST_TEST(sharedmem_write_begin(raw, 3, &slot) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(slot == nullptr);
  BOOST_TEST(sharedmem_write_commit(raw, &version) == SHAREDMEM_E_WRONG_KIND);
  sharedmem_write_abort(raw);  // does nothing
  BOOST_TEST(sharedmem_lock(raw, 0) == SHAREDMEM_OK, "no writer lock was left taken");
  BOOST_TEST(sharedmem_unlock(raw) == SHAREDMEM_OK);
  BOOST_TEST(all_bytes_are(raw, 0));
  BOOST_TEST(sharedmem_version(raw) == 0u);
  sharedmem_close(raw);

  const std::string value_name = unique_name("valrefuse");
  sharedmem::segment value = sharedmem::segment::open(value_name, 64);
  value.write("v");
  BOOST_TEST(sharedmem_data(value.native_handle()) == nullptr);
  BOOST_TEST(sharedmem_lock(value.native_handle(), 0) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(sharedmem_unlock(value.native_handle()) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(sharedmem_notify(value.native_handle(), &version) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(value.version() == 1u);
  BOOST_TEST(value.read() == "v");
  // The writer lock a value write takes is free: the lock call took nothing.
  value.write("w");
}

// Tests that SHAREDMEM_ANY_KIND opens whatever lives under a name: a raw
// segment that another process holds (and sharedmem_segment_kind says raw)
// as well as a value segment, while the other opens keep refusing the
// wrong kind; and that it goes only with SHAREDMEM_OPEN_ONLY.
BOOST_AUTO_TEST_CASE(any_kind_opens_the_live_segment_of_either_kind) {
  constexpr std::uint32_t kAny = SHAREDMEM_OPEN_ONLY | SHAREDMEM_ANY_KIND;
  const std::string name = unique_name("anykind");
  BOOST_TEST(open_error(name, 0, kAny) == SHAREDMEM_E_NOT_FOUND, "nothing is created");
  ChildProcess holder = hold_raw_in_child(name, "open created:1 zero:1");
  command(holder, "fill:7", "filled");

  sharedmem_segment* any = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, kAny, &any) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_segment_kind(any) == SHAREDMEM_KIND_RAW);
  BOOST_TEST(sharedmem_created(any) == 0);
  BOOST_TEST(sharedmem_capacity(any) == kRawCapacity);
  BOOST_TEST_REQUIRE(sharedmem_data(any) != nullptr);
  BOOST_TEST(all_bytes_are(any, 7), "the holder's bytes");
  BOOST_TEST(sharedmem_write(any, "abc", 3) == SHAREDMEM_E_WRONG_KIND);
  // A handle opened with ANY_KIND is a raw handle like any other: the lock
  // and its rules work through it.
  BOOST_TEST(sharedmem_lock(any, 0) == SHAREDMEM_OK);
  std::thread([&] {
    BOOST_TEST(sharedmem_unlock(any) == SHAREDMEM_E_NOT_HELD, "another thread's lock");
  }).join();
  BOOST_TEST(sharedmem_unlock(any) == SHAREDMEM_OK);
  sharedmem_close(any);
  BOOST_TEST(open_error(name, kRawCapacity, kAny) == SHAREDMEM_OK, "its own capacity");
  BOOST_TEST(open_error(name, kRawCapacity + 1, kAny) == SHAREDMEM_E_SIZE_MISMATCH);
  BOOST_TEST(open_error(name, kRawCapacity, 0) == SHAREDMEM_E_WRONG_KIND);
  BOOST_TEST(open_error(name, 0, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_WRONG_KIND);
  command(holder, "byte", "byte:7");
  release(holder);

  const std::string value_name = unique_name("anyvalue");
  sharedmem::segment value = sharedmem::segment::open(value_name, 100);
  value.write("v");
  BOOST_TEST_REQUIRE(sharedmem_open(value_name.c_str(), 0, kAny, &any) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_segment_kind(any) == SHAREDMEM_KIND_VALUE);
  BOOST_TEST(sharedmem_data(any) == nullptr);
  char buffer[8] = {};
  std::uint64_t size = 0;
  BOOST_TEST(sharedmem_read(any, buffer, sizeof buffer, &size) == SHAREDMEM_OK);
  BOOST_TEST(std::string(buffer, size) == "v");
  BOOST_TEST(sharedmem_lock(any, 0) == SHAREDMEM_E_WRONG_KIND);
  sharedmem_close(any);
  BOOST_TEST(open_error(value_name, 0, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY) ==
             SHAREDMEM_E_WRONG_KIND);

  BOOST_TEST(sharedmem_segment_kind(nullptr) == SHAREDMEM_KIND_UNKNOWN);
  for (std::uint32_t flags : {std::uint32_t{SHAREDMEM_ANY_KIND},
                              std::uint32_t{SHAREDMEM_ANY_KIND | SHAREDMEM_CREATE_ONLY},
                              std::uint32_t{kAny | SHAREDMEM_RAW}})
    BOOST_TEST(open_error(value_name, 100, flags) == SHAREDMEM_E_INVALID_ARGUMENT,
               "flags " << flags);
}

// Tests the new calls with hostile input: null handles and outputs, sizes no
// system can map, unknown flags next to SHAREDMEM_RAW.
BOOST_AUTO_TEST_CASE(raw_calls_survive_hostile_input) {
  std::uint64_t version = 99;
  BOOST_TEST(sharedmem_data(nullptr) == nullptr);
  BOOST_TEST(sharedmem_lock(nullptr, 0) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_lock(nullptr, SHAREDMEM_WAIT_FOREVER) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_unlock(nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_notify(nullptr, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_notify(nullptr, &version) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(version == 0u);
  const std::string name = unique_name("rawhostile");
  for (std::uint64_t capacity : {std::uint64_t{0}, UINT64_MAX, UINT64_MAX - 4096,
                                 UINT64_MAX / 2, std::uint64_t{1} << 62})
    BOOST_TEST(open_error(name, capacity, SHAREDMEM_RAW) == SHAREDMEM_E_INVALID_SIZE,
               "capacity " << capacity);
  BOOST_TEST(open_error(name, 64, SHAREDMEM_RAW | 0x10u) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(open_error(name, 64, SHAREDMEM_RAW | SHAREDMEM_CREATE_ONLY | SHAREDMEM_OPEN_ONLY) ==
             SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(open_error(name, 0, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_NOT_FOUND);
  // The smallest raw segment: one byte.
  sharedmem_segment* tiny = open_raw(name, 1);
  BOOST_TEST(sharedmem_capacity(tiny) == 1u);
  BOOST_TEST(static_cast<unsigned char*>(sharedmem_data(tiny))[0] == 0);
  BOOST_TEST(sharedmem_notify(tiny, nullptr) == SHAREDMEM_OK, "a null output is allowed");
  BOOST_TEST(sharedmem_wait(tiny, 0, 0, nullptr) == SHAREDMEM_OK);
  sharedmem_close(tiny);
}

// Tests that a raw segment whose header was given another kind under it is
// refused by the next opener as incompatible, not used as raw.
BOOST_AUTO_TEST_CASE(raw_header_of_another_kind_is_refused) {
  const std::string name = unique_name("rawdamage");
  sharedmem_segment* segment = open_raw(name);
  {
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.has_header());
    BOOST_TEST(view.header()->kind == sharedmem::detail::kKindRaw);
    view.header()->kind = 77;
    BOOST_TEST(open_error(name, kRawCapacity, SHAREDMEM_RAW) == SHAREDMEM_E_INCOMPATIBLE);
    BOOST_TEST(open_error(name, kRawCapacity, 0) == SHAREDMEM_E_INCOMPATIBLE);
    view.header()->kind = sharedmem::detail::kKindValue;
    BOOST_TEST(open_error(name, kRawCapacity, 0) == SHAREDMEM_E_INCOMPATIBLE,
               "a raw geometry is no value segment");
    view.header()->kind = sharedmem::detail::kKindRaw;
  }
  sharedmem_segment* again = open_raw(name);
  sharedmem_close(again);
  sharedmem_close(segment);
}

// Tests that a live raw segment's header rewritten under its users never
// moves or grows their buffer: each handle keeps what it checked at open,
// its lock and notify keep working, and newcomers refuse the header.
BOOST_AUTO_TEST_CASE(raw_header_scribbles_never_move_the_buffer) {
  const std::string name = unique_name("rawscribble");
  sharedmem_segment* segment = open_raw(name);
  void* const data = sharedmem_data(segment);
  {
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.has_header());
    // The fields before the generation, to put back.
    unsigned char saved[offsetof(sharedmem::detail::Header, generation)];
    std::memcpy(saved, view.bytes(), sizeof saved);
    view.header()->capacity = std::uint64_t{1} << 40;
    view.header()->total_bytes = std::uint64_t{1} << 41;
    view.header()->header_bytes = 0;
    view.header()->generation.store(UINT64_MAX);
    BOOST_TEST(sharedmem_capacity(segment) == kRawCapacity);
    BOOST_TEST(sharedmem_data(segment) == data);
    BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
    std::memset(data, 0xab, kRawCapacity);
    BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
    std::uint64_t version = 1;
    BOOST_TEST(sharedmem_notify(segment, &version) == SHAREDMEM_OK);
    BOOST_TEST(version == 0u, "the version wraps; nothing else follows from it");
    BOOST_TEST(open_error(name, kRawCapacity, SHAREDMEM_RAW) == SHAREDMEM_E_INCOMPATIBLE);
    BOOST_TEST(open_error(name, 0, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY) ==
               SHAREDMEM_E_INCOMPATIBLE);
    std::memcpy(view.bytes(), saved, sizeof saved);
  }
  sharedmem_segment* again = open_raw(name);
  BOOST_TEST(all_bytes_are(again, 0xab));
  sharedmem_close(again);
  sharedmem_close(segment);
}

// Tests the C++ raw_segment: RAII, data()/size(), and its lock held by the
// standard guards, with owner-died reported through owner_died() and the
// error_code form.
BOOST_AUTO_TEST_CASE(cpp_raw_segment_works_with_standard_guards) {
  using namespace std::chrono_literals;
  const std::string name = unique_name("cppraw");
  sharedmem::raw_segment frames = sharedmem::raw_segment::open(name, kRawCapacity);
  BOOST_TEST(frames.created());
  BOOST_TEST(frames.size() == kRawCapacity);
  BOOST_TEST_REQUIRE(frames.data() != nullptr);
  BOOST_TEST(std::to_integer<int>(frames.data()[kRawCapacity - 1]) == 0);
  {
    std::scoped_lock lock(frames);
    BOOST_TEST(!frames.owner_died());
    frames.data()[0] = std::byte{1};
    std::thread([&] {
      std::unique_lock<sharedmem::raw_segment> attempt(frames, 20ms);
      BOOST_TEST(!attempt.owns_lock(), "held by the scoped_lock");
    }).join();
    BOOST_CHECK_THROW(frames.lock(), sharedmem::error);  // would deadlock
  }
  {
    std::unique_lock<sharedmem::raw_segment> lock(frames, std::try_to_lock);
    BOOST_TEST(lock.owns_lock());
  }
  BOOST_CHECK_THROW(frames.unlock(), sharedmem::error);
  std::thread([&] { frames.lock(); }).join();  // ends holding it
  {
    std::lock_guard<sharedmem::raw_segment> lock(frames);
    BOOST_TEST(frames.owner_died());
  }
  std::thread([&] { frames.lock(); }).join();
  std::error_code ec;
  BOOST_TEST(frames.lock(ec) == sharedmem::errc::owner_died);
  frames.unlock();
  BOOST_TEST(frames.notify() == 1u);
  BOOST_TEST(frames.wait(0) == 1u);
  std::uint64_t version = 0;
  BOOST_TEST(!frames.wait(1, 5ms, &version));
  BOOST_TEST(frames.wait(0, 5ms, &version));
  BOOST_TEST(version == 1u);
  sharedmem::raw_segment moved = std::move(frames);
  BOOST_TEST(!frames);
  BOOST_TEST(std::to_integer<int>(moved.data()[0]) == 1);
  std::error_code open_ec;
  sharedmem::raw_segment none = sharedmem::raw_segment::open(name, 1, open_ec);
  BOOST_TEST(open_ec == sharedmem::errc::size_mismatch);
  BOOST_TEST(!none);
  BOOST_TEST(none.data() == nullptr);
  BOOST_TEST(none.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
