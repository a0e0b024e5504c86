// SPDX-License-Identifier: MIT
// Tests of what the library does when the shared state was not made by it
// or was damaged from outside: foreign objects under a segment's name, and
// live segments whose header someone overwrote. The same on every OS: the
// tests reach a segment's OS object through support/os_object.hpp and write
// at the offsets of the header in src/layout.hpp.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "platform/lock_word.hpp"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "src/layout.hpp"
#include "support/child_io.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;
namespace layout = sharedmem::detail;

namespace {

sharedmem_error try_open(const std::string& name, std::uint64_t capacity) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, 0, &segment);
  sharedmem_close(segment);
  return e;
}

// Opens segment args[0] with capacity args[1], reads it and reports
// "code:<error of the read>" (or of the open).
SHAREDMEM_CHILD_ROLE(read_code) {
  sharedmem_segment* segment = nullptr;
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), std::stoull(args.at(1)), 0, &segment);
  if (e == SHAREDMEM_OK) {
    std::vector<char> buffer(static_cast<std::size_t>(sharedmem_capacity(segment)));
    std::uint64_t size = 0;
    e = sharedmem_read(segment, buffer.data(), buffer.size(), &size);
  }
  report(code_line(e));
  sharedmem_close(segment);
  return 0;
}

// Opens segment args[0] (capacity kChildCapacity), writes args[1], and reads
// it over and over on a thread, counting reads that fail or differ. Reports
// "open"; answers "check" with "value:<v> reads:<n> bad:<m>" (after a read
// of its own, once the thread read 10 more times or 10 s passed); exits on
// anything else.
SHAREDMEM_CHILD_ROLE(hold_reading) {
  std::error_code ec;
  sharedmem::segment segment =
      sharedmem::segment::open(args.at(0), std::stoull(kChildCapacity), ec);
  if (!ec) segment.write(args.at(1).data(), args.at(1).size(), ec);
  if (ec) {
    report("error:" + ec.message());
    return 1;
  }
  const std::string expected = args.at(1);
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<long> bad{0};
  const auto read_once = [&] {
    try {
      if (segment.read() != expected) ++bad;
    } catch (const sharedmem::error&) {
      ++bad;
    }
    ++reads;
  };
  std::thread reader([&] {
    while (!stop.load()) read_once();
  });
  report("open");
  for (std::string command = await_parent(); command == "check"; command = await_parent()) {
    // Lets the thread read a few more times first (bounded: it may be stuck).
    const long before = reads.load();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reads.load() < before + 10 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    std::string value;
    try {
      value = segment.read();
    } catch (const sharedmem::error& error) {
      value = std::string("<") + error.what() + ">";
    }
    report("value:" + value + " reads:" + std::to_string(reads.load()) +
           " bad:" + std::to_string(bad.load()));
  }
  stop = true;
  reader.join();
  return 0;
}

// The size of segment `name`'s object as a mapping of it sees it; 0 if none.
std::size_t object_size(const std::string& name) { return OsObjectView(name).size(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile)

// Tests that a foreign object under a segment's name, owner-only like the
// library's own, is refused with INCOMPATIBLE and left untouched, whatever
// the capacity asked: a short one, a header-sized one and a larger one, all
// garbage.
BOOST_AUTO_TEST_CASE(foreign_object_is_refused_and_untouched) {
  for (std::size_t size : {std::size_t{10}, std::size_t{4096}, std::size_t{12288}}) {
    BOOST_TEST_CONTEXT("object of " << size << " bytes") {
      const std::string name = unique_name("foreign");
      ForeignObject planted(name, size, 0xab);
      BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE);
      BOOST_TEST(try_open(name, 1 << 20) == SHAREDMEM_E_INCOMPATIBLE);
      BOOST_TEST(planted.contents() == std::string(size, '\xab'), "the object is untouched");
    }
  }
}

// Tests that a live segment whose layout version was changed under it is
// refused with INCOMPATIBLE, and opens again once the version is put back.
BOOST_AUTO_TEST_CASE(live_segment_of_another_layout_version_is_refused) {
  const std::string name = unique_name("version");
  sharedmem::segment live = sharedmem::segment::open(name, 64);
  OsObjectView view(name);
  BOOST_TEST_REQUIRE(view.has_header(), "the object has the header of src/layout.hpp");
  view.header()->layout_version = 99;
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE);
  view.header()->layout_version = layout::kLayoutVersion;
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_OK);
}

// Tests that a live segment whose magic was overwritten with the
// "initialising" marker is not taken for a dead first user's leftover: opens
// fail with INCOMPATIBLE and reset nothing, and its holder keeps reading its
// value (the object's size unchanged: on POSIX a shrunk object would SIGBUS).
BOOST_AUTO_TEST_CASE(initialising_magic_on_a_live_segment_is_not_taken_over) {
  const std::string name = unique_name("initmagic");
  ChildProcess holder = start_role("hold_reading", {name, "kept"});
  BOOST_TEST_REQUIRE(expect_line(holder) == "open");
  const std::size_t size = object_size(name);
  {
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.has_header());
    view.header()->magic.store(layout::kMagicInitialising);
  }
  BOOST_TEST(try_open(name, std::stoull(kChildCapacity)) == SHAREDMEM_E_INCOMPATIBLE);
  BOOST_TEST(try_open(name, 1 << 20) == SHAREDMEM_E_INCOMPATIBLE, "nor with another capacity");
  BOOST_TEST(object_size(name) == size);
  holder.write_line("check");
  const std::string first = expect_line(holder);
  holder.write_line("check");
  const std::string second = expect_line(holder);
  BOOST_TEST(first.rfind("value:kept ", 0) == 0u, first);
  BOOST_TEST(field(second, "bad") == 0, second);
  BOOST_TEST(field(second, "reads") > field(first, "reads"), "the holder kept reading: " << second);

  {
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.mapped());
    view.header()->magic.store(layout::kMagic);
  }
  BOOST_TEST(read_in_child(name) == "value:kept", "nothing was reset");
  release(holder);
  BOOST_TEST(!os_object_exists(name));
}

// Tests that a segment whose slots both have odd sequence numbers (written
// over by someone) makes a read give up with CORRUPTED instead of spinning
// forever. The read runs in a child: a regression fails, not hangs, the suite.
BOOST_AUTO_TEST_CASE(odd_sequence_numbers_give_an_error_not_a_spin) {
  const std::string name = unique_name("oddseq");
  sharedmem::segment segment = sharedmem::segment::open(name, 512);
  segment.write("value");
  {
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.has_header(), "the object has the header of src/layout.hpp");
    view.header()->slots[0].seq.store(1001);
    view.header()->slots[1].seq.store(2001);
  }
  ChildProcess reader = start_role("read_code", {name, "512"});
  BOOST_TEST(expect_line(reader) == code_line(SHAREDMEM_E_CORRUPTED));
  BOOST_TEST(expect_exit(reader) == 0);
}

// ---------------------------------------------------------------------------
// The library's own writer lock (platform/lock_word.hpp) under scribbling.

namespace {

namespace lw = sharedmem::platform::lock_word;

// The writer lock's words in a mapping of a segment's object.
lw::Shared& lock_words(const OsObjectView& view) {
  return *reinterpret_cast<lw::Shared*>(writer_lock(view));
}

// What a scribbler writes into the lock's words: random values, and values
// chosen to look like states the library writes (held by some slot, with
// and without the waiters bit, free after a death) or to sit just outside
// them.
std::uint32_t scribble_value(std::mt19937& random) {
  switch (random() % 10) {
    case 0: return 0;
    case 1: return lw::kWaiters;
    case 2: return lw::kFreeOwnerDied;
    case 3: return lw::kFreeOwnerDied | lw::kWaiters;
    case 4: return lw::held_by(random() % lw::kOwnerSlots);
    case 5: return lw::held_by(random() % lw::kOwnerSlots) | lw::kWaiters;
    case 6: return lw::held_by(lw::kOwnerSlots);  // one past the last slot
    case 7: return 0x7fffffffu;
    case 8: return 0xffffffffu;
    default: return static_cast<std::uint32_t>(random());
  }
}

}  // namespace

// Tests that scribbling on every byte of the writer lock's state, randomly
// and with targeted values, while a holder and two contenders (each its own
// attachment) lock and unlock a raw segment, never crashes anyone and never
// makes a lock call wait past its timeout; that a lock area without the
// library's mark is CORRUPTED to every caller and an impossible state word
// too (never a permanent TIMEOUT or WOULD_DEADLOCK); and that the lock works
// again once its words are reset.
BOOST_AUTO_TEST_CASE(scribbled_writer_lock_is_reported_never_a_crash_or_a_hang) {
  const std::string name = unique_name("scribble");
  std::vector<sharedmem_segment*> handles(3, nullptr);
  for (auto& handle : handles)
    BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, SHAREDMEM_RAW, &handle) == SHAREDMEM_OK);
  OsObjectView view(name);
  BOOST_TEST_REQUIRE(view.mapped());
  BOOST_TEST_REQUIRE(view.size() >= kLockBytes);
  lw::Shared& words = lock_words(view);
  BOOST_TEST_REQUIRE(words.magic.load() == lw::kMagic, "the lock area is where the test looks");

  constexpr std::uint32_t kLockTimeoutMs = 50;
  const auto bound = std::chrono::milliseconds(kLockTimeoutMs) + scaled(std::chrono::seconds(2));
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0};
  std::atomic<long> late{0};
  std::atomic<long> unexpected{0};
  std::atomic<int> last_unexpected{0};
  std::atomic<long> corrupted{0};
  auto locker = [&](sharedmem_segment* handle) {
    while (!stop.load()) {
      const auto start = std::chrono::steady_clock::now();
      const sharedmem_error e = sharedmem_lock(handle, kLockTimeoutMs);
      if (std::chrono::steady_clock::now() - start > bound) ++late;
      ++calls;
      if (e == SHAREDMEM_OK || e == SHAREDMEM_E_OWNER_DIED) {
        static_cast<volatile unsigned char*>(sharedmem_data(handle))[0] += 1;
        if (sharedmem_unlock(handle) != SHAREDMEM_OK) ++unexpected;
      } else if (e == SHAREDMEM_E_CORRUPTED) {
        ++corrupted;
      } else if (e != SHAREDMEM_E_TIMEOUT) {
        ++unexpected;
        last_unexpected = e;
      }
    }
  };
  std::vector<std::thread> lockers;
  for (sharedmem_segment* handle : handles) lockers.emplace_back(locker, handle);

  // Every byte of the state and the mark, random and targeted values.
  std::mt19937 random(19);
  const auto scribble_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  auto* bytes = reinterpret_cast<unsigned char*>(&words);
  while (std::chrono::steady_clock::now() < scribble_until) {
    switch (random() % 4) {
      case 0:
        words.state.store(scribble_value(random));
        break;
      case 1:
        bytes[random() % sizeof(lw::Shared)] = static_cast<unsigned char>(random());
        break;
      case 2:
        words.magic.store(random() % 2 ? lw::kMagic : static_cast<std::uint32_t>(random()));
        break;
      default:  // back to a sane state for a while, so that lockers get through
        words.magic.store(lw::kMagic);
        words.state.store(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  stop = true;
  for (std::thread& t : lockers) t.join();
  BOOST_TEST_MESSAGE(calls.load() << " lock calls, " << corrupted.load() << " CORRUPTED");
  BOOST_TEST(calls.load() > 0);
  BOOST_TEST(late.load() == 0, "no lock call waited past its timeout");
  BOOST_TEST(unexpected.load() == 0, "last unexpected result " << last_unexpected.load());

  // Targeted: no mark, then an impossible state: CORRUPTED at once, for
  // every handle, every time.
  for (const std::uint32_t magic : {0u, lw::kMagic ^ 1u}) {
    words.state.store(0);
    words.magic.store(magic);
    for (sharedmem_segment* handle : handles)
      BOOST_TEST(sharedmem_lock(handle, 0) == SHAREDMEM_E_CORRUPTED);
  }
  words.magic.store(lw::kMagic);
  for (const std::uint32_t state :
       {lw::kWaiters, lw::kFreeOwnerDied | lw::kWaiters, lw::held_by(lw::kOwnerSlots), 0xffffffffu}) {
    words.state.store(state);
    for (sharedmem_segment* handle : handles) {
      BOOST_TEST(sharedmem_lock(handle, 0) == SHAREDMEM_E_CORRUPTED);
    }
  }
  // A state naming a slot nobody holds: the next locker takes it over.
  words.state.store(lw::held_by(12345));
  BOOST_TEST(sharedmem_lock(handles[0], 2000) == SHAREDMEM_E_OWNER_DIED);
  BOOST_TEST(sharedmem_unlock(handles[0]) == SHAREDMEM_OK);
  // Reset: the lock works again.
  words.state.store(0);
  for (sharedmem_segment* handle : handles) {
    BOOST_TEST(sharedmem_lock(handle, 1000) == SHAREDMEM_OK);
    BOOST_TEST(sharedmem_unlock(handle) == SHAREDMEM_OK);
  }
  for (sharedmem_segment* handle : handles) sharedmem_close(handle);
}

// Tests that a scribble on the lock word while a thread holds the lock
// outlives the holder's unlock: a release changes the word only while it
// names the releaser's own slot, so the next locker still finds the
// scribble (CORRUPTED), never a lock freed under it.
BOOST_AUTO_TEST_CASE(a_scribble_while_held_outlives_the_holders_unlock) {
  const std::string name = unique_name("scribheld");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, SHAREDMEM_RAW, &segment) == SHAREDMEM_OK);
  OsObjectView view(name);
  BOOST_TEST_REQUIRE(view.mapped());
  BOOST_TEST_REQUIRE(view.size() >= kLockBytes);
  lw::Shared& words = lock_words(view);
  for (const std::uint32_t scribble : {0xffffffffu, lw::kWaiters, lw::kWaiters | 0x8000'0000u}) {
    BOOST_TEST_CONTEXT("scribble " << scribble) {
      BOOST_TEST_REQUIRE(sharedmem_lock(segment, 1000) == SHAREDMEM_OK);
      words.state.store(scribble);
      (void)sharedmem_unlock(segment);
      BOOST_TEST(words.state.load() == scribble, "the release left the scribble as it was");
      BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_E_CORRUPTED);
      words.state.store(0);
    }
  }
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
