// SPDX-License-Identifier: MIT
// Multi-process tests of the lifetime rule: a segment lives while any process
// has it open (or, for the default segment, has the library loaded); the last
// one out frees it, even by dying; the next one in starts from zero.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "sharedmem/setget.hpp"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/snapshots.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

// SetSharedMem(args[0]) on this process's default segment, then holds it
// (the library stays loaded) until the parent says so.
SHAREDMEM_CHILD_ROLE(seed_set_hold) {
  if (!args.empty()) SetSharedMem(widen(args[0]).c_str());
  report("set");
  await_parent();
  return 0;
}

// Prints "value:<GetSharedMem>" and exits.
SHAREDMEM_CHILD_ROLE(seed_get) {
  if (sharedmem_default_status() != SHAREDMEM_OK) {
    report(std::string("error:") + sharedmem_strerror(sharedmem_default_status()));
    return 1;
  }
  report("value:" + narrow(sharedmem::get_shared_mem()));
  return 0;
}

// The token churner `index` writes: "churner<index>".
std::string churn_token(int index) { return "churner" + std::to_string(index); }

// Opens segment args[0] and closes it again, args[1] times; each time it reads
// the value, which must be empty or the token of one of the args[3] churners
// (the segment lives only while some churner has it open), and every other
// time it writes its own token, churn_token(args[2]). Reports "ready", waits
// for "go" (so that all churners overlap), then reports "failures:<n>", with
// the first failure after it when n > 0, and exits 0.
SHAREDMEM_CHILD_ROLE(segment_churn) {
  const std::string& name = args.at(0);
  const int iterations = std::stoi(args.at(1));
  const std::string token = churn_token(std::stoi(args.at(2)));
  const int churners = std::stoi(args.at(3));
  report("ready");
  if (await_parent() != "go") return 2;
  int failures = 0;
  std::string first_failure;
  const auto fail = [&](const std::string& what) {
    if (failures++ == 0) first_failure = what;
  };
  for (int i = 0; i < iterations; ++i) {
    std::error_code ec;
    sharedmem::segment segment = sharedmem::segment::open(name, std::stoull(kChildCapacity), ec);
    if (ec) {
      fail("open: " + ec.message());
      continue;
    }
    const std::string value = segment.read();
    bool known = value.empty();
    for (int k = 0; k < churners && !known; ++k) known = value == churn_token(k);
    if (!known) fail("read: '" + value + "'");
    if (i % 2 == 0 && segment.write(token.data(), token.size(), ec)) fail("write: " + ec.message());
  }
  report("failures:" + std::to_string(failures) +
         (failures ? " (first: " + first_failure + ")" : ""));
  return 0;
}

// Opens segment args[0] (capacity kChildCapacity) with the flags args[1]
// when the parent says "go", reports "code:<error> created:<0|1>", and holds
// the segment until the parent says anything else.
SHAREDMEM_CHILD_ROLE(segment_open_mode) {
  report("ready");
  if (await_parent() != "go") return 2;
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e =
      sharedmem_open(args.at(0).c_str(), std::stoull(kChildCapacity),
                     static_cast<std::uint32_t>(std::stoul(args.at(1))), &segment);
  report(code_line(e) + " created:" + std::to_string(sharedmem_created(segment)));
  await_parent();
  sharedmem_close(segment);
  return 0;
}

// The default segment of children started with this environment.
Environment default_segment(const std::string& name) {
  return {{"SHAREDMEM_DEFAULT_SEGMENT", name}};
}

std::string seed_get_in_child(const Environment& env) {
  ChildProcess reader = start_role("seed_get", {}, env);
  const std::string line = expect_line(reader);
  BOOST_TEST(expect_exit(reader) == 0);
  return line;
}

ChildProcess seed_set_in_child(const Environment& env, const std::string& text) {
  ChildProcess setter = start_role("seed_set_hold", {text}, env);
  BOOST_TEST_REQUIRE(expect_line(setter) == "set");
  return setter;
}

// Runs the dl probe (see process.hpp) and checks that it printed `expected`
// and exited 0.
void run_library_probe(LibraryProbe probe, const std::string& segment, const Environment& env,
                       const std::string& text, const std::vector<std::string>& expected) {
  ChildProcess child = start_library_probe(probe, segment, text, env);
  std::vector<std::string> lines;
  while (std::optional<std::string> line = child.read_line(line_timeout())) lines.push_back(*line);
  BOOST_TEST(lines == expected, boost::test_tools::per_element());
  BOOST_TEST(expect_exit(child) == 0, "the probe's calls all worked");
}

}  // namespace

// The names the threads of exit_while_opening use: <prefix>.<thread>.<slot>.
constexpr int kExitThreads = 4;
constexpr int kExitSlots = 8;
std::string exit_slot_name(const std::string& prefix, int thread, int slot) {
  return prefix + "." + std::to_string(thread) + "." + std::to_string(slot);
}

// Starts kExitThreads threads that keep opening (creating), writing and
// closing segments exit_slot_name(args[0], thread, slot), two open at a
// time each, and calls exit(0) once each has opened a few: a normal exit
// while other threads open segments.
SHAREDMEM_CHILD_ROLE(exit_while_opening) {
  static std::atomic<int> opened{0};
  const std::string prefix = args.at(0);
  for (int t = 0; t < kExitThreads; ++t) {
    std::thread([prefix, t] {
      sharedmem_segment* held[2] = {nullptr, nullptr};
      for (unsigned i = 0;; ++i) {
        sharedmem_segment*& slot = held[i % 2];
        sharedmem_close(slot);
        slot = nullptr;
        const std::string name = exit_slot_name(prefix, t, static_cast<int>(i % kExitSlots));
        if (sharedmem_open(name.c_str(), 64, 0, &slot) == SHAREDMEM_OK) {
          (void)sharedmem_write(slot, "x", 1);
          ++opened;
        }
      }
    }).detach();
  }
  while (opened.load() < 4 * kExitThreads) std::this_thread::yield();
  std::exit(0);
}

BOOST_AUTO_TEST_SUITE(lifetime)

// Tests that the content persists while one user remains, and is gone (and
// its OS object removed) after the last one exits normally.
BOOST_AUTO_TEST_CASE(last_close_frees_named_segment) {
  const std::string name = unique_name("life");
  ChildProcess writer = hold_in_child(name, "persisted");
  BOOST_TEST(read_in_child(name) == "value:persisted");
  BOOST_TEST(os_object_exists(name));
  release(writer);
  BOOST_TEST(!os_object_exists(name), "the last user removed the object");
  BOOST_TEST(read_in_child(name) == "value:");
  BOOST_TEST(!os_object_exists(name));
}

// Tests that SIGKILL of the only user does not hand its content to the next.
BOOST_AUTO_TEST_CASE(kill_of_only_user_frees_named_segment) {
  const std::string name = unique_name("kill1");
  ChildProcess writer = hold_in_child(name, "stale");
  writer.kill();
  BOOST_TEST(read_in_child(name) == "value:");
  BOOST_TEST(!os_object_exists(name), "the next user's exit removed the dead segment");
}

// Tests that SIGKILL of one of two users keeps the content for the survivor.
BOOST_AUTO_TEST_CASE(kill_of_one_user_keeps_segment_for_survivor) {
  const std::string name = unique_name("kill2");
  ChildProcess survivor = hold_in_child(name);
  ChildProcess writer = hold_in_child(name, "kept");
  writer.kill();
  BOOST_TEST(read_in_child(name) == "value:kept");
  release(survivor);
  BOOST_TEST(read_in_child(name) == "value:");
}

// Tests that this process's own handle keeps a segment alive for others.
BOOST_AUTO_TEST_CASE(handle_in_parent_keeps_segment_alive) {
  const std::string name = unique_name("parent");
  sharedmem::segment mine = sharedmem::segment::open(name, 512);
  {
    ChildProcess writer = hold_in_child(name, "from child");
    release(writer);
  }
  BOOST_TEST(mine.read() == "from child");
}

// Tests that processes racing to create one name all end up sharing a
// single, once-initialised segment.
BOOST_AUTO_TEST_CASE(racing_first_opens_share_one_segment) {
  for (int trial = 0; trial < 5; ++trial) {
    const std::string name = unique_name("race");
    std::vector<ChildProcess> racers;
    for (int i = 0; i < 4; ++i) racers.push_back(start_role("segment_hold", {name, kChildCapacity}));
    for (ChildProcess& racer : racers) BOOST_TEST_REQUIRE(expect_line(racer) == "open");
    sharedmem::segment mine = sharedmem::segment::open(name, 512);
    mine.write("shared by all");
    for (ChildProcess& racer : racers) {
      racer.write_line("read");
      BOOST_TEST(expect_line(racer) == "value:shared by all");
      release(racer);
    }
  }
}

// Tests that opens never fail while other processes keep creating and freeing
// the same segment: an opener that finds the object just as its last user
// leaves must create it afresh, not report an error. No process holds the
// segment between the churners' opens, so it is freed and re-created all
// the time; reads see nothing but what churners wrote.
BOOST_AUTO_TEST_CASE(open_close_churn_never_fails) {
  const std::string name = unique_name("churn");
  constexpr int kChurners = 3;
  const std::string iterations = "300";
  std::vector<ChildProcess> churners;
  for (int i = 0; i < kChurners; ++i)
    churners.push_back(start_role(
        "segment_churn", {name, iterations, std::to_string(i), std::to_string(kChurners)}));
  for (ChildProcess& churner : churners) BOOST_TEST_REQUIRE(expect_line(churner) == "ready");
  for (ChildProcess& churner : churners) churner.write_line("go");
  for (ChildProcess& churner : churners) {
    BOOST_TEST(expect_line(churner) == "failures:0");
    BOOST_TEST(expect_exit(churner) == 0);
  }
  BOOST_TEST(!os_object_exists(name), "the last churner out removed the object");
}

// Tests that CREATE_ONLY is refused while a live process holds the name,
// leaving its value alone, and creates afresh once its only user was killed.
BOOST_AUTO_TEST_CASE(create_only_refuses_a_live_segment_and_takes_a_dead_one) {
  const std::string name = unique_name("conly");
  const std::uint64_t capacity = std::stoull(kChildCapacity);
  ChildProcess holder = hold_in_child(name, "live");
  BOOST_TEST(open_error(name, capacity, SHAREDMEM_CREATE_ONLY) == SHAREDMEM_E_EXISTS);
  BOOST_TEST(read_in_child(name) == "value:live");
  holder.kill();
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), capacity, SHAREDMEM_CREATE_ONLY, &segment) ==
                     SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(segment) == 1);
  BOOST_TEST(sharedmem_version(segment) == 0u);
  std::uint64_t size = 1;
  BOOST_TEST(sharedmem_read(segment, nullptr, 0, &size) == SHAREDMEM_OK);
  BOOST_TEST(size == 0u, "the dead user's value is not handed on");
  sharedmem_close(segment);
  BOOST_TEST(open_error(name, capacity, SHAREDMEM_CREATE_ONLY | SHAREDMEM_OPEN_ONLY) ==
             SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(open_error(name, 0, SHAREDMEM_CREATE_ONLY) == SHAREDMEM_E_INVALID_SIZE);
}

// Tests that OPEN_ONLY joins a live segment, taking its capacity when asked
// for capacity 0, and still refuses another capacity.
BOOST_AUTO_TEST_CASE(open_only_joins_a_live_segment_at_its_capacity) {
  const std::string name = unique_name("oonly");
  ChildProcess holder = hold_in_child(name, "held");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, SHAREDMEM_OPEN_ONLY, &segment) ==
                     SHAREDMEM_OK);
  BOOST_TEST(sharedmem_capacity(segment) == std::stoull(kChildCapacity));
  BOOST_TEST(sharedmem_created(segment) == 0);
  char buffer[16];
  std::uint64_t size = 0;
  BOOST_TEST(sharedmem_read(segment, buffer, sizeof buffer, &size) == SHAREDMEM_OK);
  BOOST_TEST(std::string(buffer, size) == "held");
  BOOST_TEST(sharedmem_write(segment, "both", 4) == SHAREDMEM_OK);
  holder.write_line("read");
  BOOST_TEST(expect_line(holder) == "value:both");
  BOOST_TEST(open_error(name, 100, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_SIZE_MISMATCH);
  sharedmem_close(segment);
  release(holder);
}

// Tests that OPEN_ONLY finds nothing where no segment exists or its only
// user was killed, and creates nothing: no object is left by an absent
// name, and a dead one is not revived (the next plain open starts from zero,
// and once it closes no object remains).
BOOST_AUTO_TEST_CASE(open_only_finds_neither_absent_nor_dead_segments) {
  const std::string absent = unique_name("oabsent");
  BOOST_TEST(open_error(absent, 0, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(open_error(absent, 64, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(!os_object_exists(absent));

  const std::string dead = unique_name("odead");
  ChildProcess holder = hold_in_child(dead, "stale");
  holder.kill();
  BOOST_TEST(open_error(dead, 0, SHAREDMEM_OPEN_ONLY) == SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(read_in_child(dead) == "value:");
  BOOST_TEST(!os_object_exists(dead));
}

// Tests that of processes racing to open one name, exactly one reports that
// it created the segment, and with CREATE_ONLY exactly one succeeds.
BOOST_AUTO_TEST_CASE(exactly_one_racing_opener_creates) {
  constexpr int kRacers = 4;
  for (const std::uint32_t flags : {0u, static_cast<std::uint32_t>(SHAREDMEM_CREATE_ONLY)}) {
    for (int trial = 0; trial < 3; ++trial) {
      BOOST_TEST_CONTEXT("flags " << flags << ", trial " << trial) {
        const std::string name = unique_name("ocreated");
        std::vector<ChildProcess> racers;
        for (int i = 0; i < kRacers; ++i)
          racers.push_back(start_role("segment_open_mode", {name, std::to_string(flags)}));
        for (ChildProcess& racer : racers) BOOST_TEST_REQUIRE(expect_line(racer) == "ready");
        for (ChildProcess& racer : racers) racer.write_line("go");
        int created = 0;
        int opened = 0;
        for (ChildProcess& racer : racers) {
          const std::string line = expect_line(racer);
          created += field(line, "created") == 1;
          opened += field(line, "code") == SHAREDMEM_OK;
          if (flags == SHAREDMEM_CREATE_ONLY && field(line, "code") != SHAREDMEM_OK)
            BOOST_TEST(field(line, "code") == SHAREDMEM_E_EXISTS);
        }
        BOOST_TEST(created == 1);
        BOOST_TEST(opened == (flags == 0 ? kRacers : 1));
        for (ChildProcess& racer : racers) release(racer);
      }
    }
  }
}

// Tests the seed's scenario and lifetime on the default segment: the value
// lives while a process has the library loaded, and a process that starts
// after the last one exited reads an empty string.
BOOST_AUTO_TEST_CASE(default_segment_lives_while_library_is_loaded) {
  const Environment env = default_segment(unique_name("dflt"));
  ChildProcess parent = seed_set_in_child(env, "This is a test string");
  BOOST_TEST(seed_get_in_child(env) == "value:This is a test string");
  release(parent);
  BOOST_TEST(seed_get_in_child(env) == "value:");
}

// Tests that SIGKILL of the only process with the library loaded frees it.
BOOST_AUTO_TEST_CASE(default_segment_after_kill_of_only_user) {
  const Environment env = default_segment(unique_name("dkill1"));
  ChildProcess setter = seed_set_in_child(env, "stale");
  setter.kill();
  BOOST_TEST(seed_get_in_child(env) == "value:");
}

// Tests that SIGKILL of one of two users keeps the default segment's value.
BOOST_AUTO_TEST_CASE(default_segment_after_kill_of_one_user) {
  const Environment env = default_segment(unique_name("dkill2"));
  ChildProcess survivor = seed_set_in_child(env, "");
  ChildProcess setter = seed_set_in_child(env, "kept");
  setter.kill();
  BOOST_TEST(seed_get_in_child(env) == "value:kept");
  release(survivor);
  BOOST_TEST(seed_get_in_child(env) == "value:");
}

// Tests that unloading the core library (dlclose, FreeLibrary) after a named
// segment was used through it really unloads it: nothing pins it in memory
// (on Linux no exported weak libstdc++ template, as a debug build has, and no
// STB_GNU_UNIQUE symbol).
BOOST_AUTO_TEST_CASE(unloading_the_core_library_unloads_it) {
  run_library_probe(LibraryProbe::core, unique_name("dlcore"), {}, "core-text",
                    {"wrote:core-text", "unloaded"});
}

// Tests that unloading the Set/Get library really unloads it and the core it
// loaded, and that unloading it detaches: in its only user, the default
// segment is freed and the next load starts from zero.
BOOST_AUTO_TEST_CASE(unloading_the_setget_library_frees_the_default_segment) {
  const std::string name = unique_name("dl");
  run_library_probe(LibraryProbe::setget, {}, default_segment(name), "probe-text",
                    {"initial:", "unloaded", "reloaded:"});
  BOOST_TEST(!os_object_exists(name));
}

// Tests that after the Set/Get library is unloaded, the value it set survives
// while another process has the library loaded.
BOOST_AUTO_TEST_CASE(unloading_the_setget_library_keeps_a_value_another_process_holds) {
  const Environment env = default_segment(unique_name("dlheld"));
  ChildProcess holder = seed_set_in_child(env, "held");
  run_library_probe(LibraryProbe::setget, {}, env, "probe-text",
                    {"initial:held", "unloaded", "reloaded:probe-text"});
  release(holder);
}

// Tests that exit is final: a process that exits normally while other
// threads keep opening and closing segments leaves no object behind (each
// open either fails or is detached too), 100 times over (10 under the
// Windows backend, whose sections go with the process anyway, and whose
// processes start slowly under Wine).
// The sanitizer presets' ASAN_OPTIONS, leak check off (a no-op elsewhere).
constexpr const char* kAsanOptionsWithoutLeakCheck =
    "abort_on_error=0:halt_on_error=1:detect_leaks=0";

BOOST_AUTO_TEST_CASE(exit_while_other_threads_open_leaves_nothing) {
  const int runs = std::strcmp(sharedmem_backend(), "windows") == 0 ? 10 : 100;
  int runs_with_leftovers = 0;
  std::string first_leftover;
  for (int run = 0; run < runs; ++run) {
    const std::string prefix = unique_name("exitopen");
    // The threads still hold handles when the process exits: that is the
    // point. LeakSanitizer would report them as leaks at exit.
    ChildProcess child = start_role("exit_while_opening", {prefix},
                                    {{"ASAN_OPTIONS", kAsanOptionsWithoutLeakCheck}});
    BOOST_TEST_REQUIRE(expect_exit(child) == 0, "run " << run);
    bool leftover = false;
    for (int t = 0; t < kExitThreads; ++t)
      for (int slot = 0; slot < kExitSlots; ++slot) {
        const std::string name = exit_slot_name(prefix, t, slot);
        if (!os_object_exists(name)) continue;
        if (first_leftover.empty()) first_leftover = name;
        leftover = true;
      }
    runs_with_leftovers += leftover ? 1 : 0;
  }
  BOOST_TEST(runs_with_leftovers == 0,
             runs_with_leftovers << " of " << runs << " exits left objects, first " << first_leftover);
  BOOST_TEST(sharedmem_prune(0, nullptr) == SHAREDMEM_OK);  // whatever a failure left
}

BOOST_AUTO_TEST_SUITE_END()
