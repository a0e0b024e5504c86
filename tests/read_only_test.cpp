// SPDX-License-Identifier: MIT
// Tests of read-only openers (SHAREDMEM_READ_ONLY): what a read-only handle
// may do and what it is refused, that it never creates, resets or serves a
// dead segment, that it takes part in the lifetime like any other user, and
// that the OS enforces it (a write through a read-only raw mapping faults).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

constexpr std::uint64_t kCapacity = 512;  // kChildCapacity, as the children open it

sharedmem_segment* open_c(const std::string& name, std::uint64_t capacity, std::uint32_t flags,
                          sharedmem_error expected = SHAREDMEM_OK) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
  BOOST_TEST(e == expected, "sharedmem_open(" << name << ", " << flags
                                              << "): " << sharedmem_strerror(e));
  return segment;
}

std::string read_c(const sharedmem_segment* segment) {
  char buffer[kCapacity];
  std::uint64_t size = 0;
  const sharedmem_error e = sharedmem_read(segment, buffer, sizeof buffer, &size);
  BOOST_TEST(e == SHAREDMEM_OK, sharedmem_strerror(e));
  return e == SHAREDMEM_OK ? std::string(buffer, static_cast<std::size_t>(size)) : std::string();
}

// Has a child create segment `name` holding `value`, opens it read-only
// here, and lets the child exit: the handle returned (null on a failure) is
// then the segment's only user.
sharedmem_segment* read_only_alone(const std::string& name, const std::string& value) {
  ChildProcess holder = hold_in_child(name, value);
  sharedmem_segment* reader = open_c(name, 0, SHAREDMEM_READ_ONLY);
  release(holder);
  return reader;
}

// A child's environment in which a fault ends it as the OS ends it: the
// sanitizer runtimes (ASan, TSan) would otherwise catch SIGSEGV and exit
// with a code of their own.
Environment plain_faults() {
  Environment environment;
  for (const char* variable : {"ASAN_OPTIONS", "TSAN_OPTIONS"}) {
    const char* options = std::getenv(variable);
    environment.emplace_back(variable, std::string(options ? options : "") + ":handle_segv=0");
  }
  return environment;
}

// Whether an exit code is a process killed by an access fault: SIGSEGV
// (POSIX: 128 + 11) or STATUS_ACCESS_VIOLATION (Windows).
bool killed_by_access_fault(int code) {
  return code == 128 + 11 || code == static_cast<int>(0xC0000005u);
}

// Opens segment args[0] read-only (capacity 0: any), reports "code:<error>
// version:<v>", then waits for a change of that version (for up to
// args[1] ms) and reports "code:<error> value:<value>"; exits 0.
SHAREDMEM_CHILD_ROLE(read_only_wait) {
  sharedmem_segment* segment = nullptr;
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), 0, SHAREDMEM_READ_ONLY, &segment);
  const std::uint64_t seen = sharedmem_version(segment);
  report(code_line(e) + " version:" + std::to_string(seen));
  if (e != SHAREDMEM_OK) return 1;
  std::uint64_t version = 0;
  e = sharedmem_wait(segment, seen, static_cast<std::uint32_t>(std::stoul(args.at(1))), &version);
  char buffer[kCapacity];
  std::uint64_t size = 0;
  if (e == SHAREDMEM_OK) e = sharedmem_read(segment, buffer, sizeof buffer, &size);
  report(code_line(e) + " value:" + std::string(buffer, e == SHAREDMEM_OK ? size : 0));
  sharedmem_close(segment);
  return 0;
}

// Opens raw segment args[0] read-only, reports "bytes:<its first 4 bytes>
// lock:<error> notify:<error>", then, when the parent says "poke", writes
// through sharedmem_data (which must kill it) and reports "wrote" if it
// lives; exits 0.
SHAREDMEM_CHILD_ROLE(read_only_raw_poke) {
  sharedmem_segment* segment = nullptr;
  sharedmem_error e =
      sharedmem_open(args.at(0).c_str(), 0, SHAREDMEM_RAW | SHAREDMEM_READ_ONLY, &segment);
  if (e != SHAREDMEM_OK) {
    report(code_line(e));
    return 1;
  }
  auto* data = static_cast<volatile char*>(sharedmem_data(segment));
  const std::string bytes{data[0], data[1], data[2], data[3]};
  std::uint64_t version = 0;
  report("bytes:" + bytes + " lock:" + std::to_string(sharedmem_lock(segment, 0)) +
         " notify:" + std::to_string(sharedmem_notify(segment, &version)));
  if (await_parent() != "poke") return 2;
  data[0] = 'X';
  report("wrote");
  sharedmem_close(segment);
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(read_only)

// Tests that a read-only handle reads, versions, checks and reports its
// shape, and that every write is refused with SHAREDMEM_E_READ_ONLY,
// changing nothing.
BOOST_AUTO_TEST_CASE(reads_work_and_writes_are_refused) {
  const std::string name = unique_name("ro_calls");
  sharedmem::segment writer = sharedmem::segment::open(name, kCapacity);
  writer.write("hello");
  sharedmem_segment* reader = open_c(name, 0, SHAREDMEM_READ_ONLY);
  BOOST_TEST_REQUIRE(reader != nullptr);
  BOOST_TEST(sharedmem_created(reader) == 0);
  BOOST_TEST(sharedmem_capacity(reader) == kCapacity);
  BOOST_TEST(sharedmem_segment_kind(reader) == SHAREDMEM_KIND_VALUE);
  BOOST_TEST(sharedmem_version(reader) == 1u);
  BOOST_TEST(read_c(reader) == "hello");
  char buffer[16];
  std::uint64_t size = 0;
  std::uint64_t version = 0;
  BOOST_TEST(sharedmem_read_versioned(reader, buffer, sizeof buffer, &size, &version) ==
             SHAREDMEM_OK);
  BOOST_TEST(std::string(buffer, size) == "hello");
  BOOST_TEST(version == 1u);
  BOOST_TEST(sharedmem_check(reader) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_wait(reader, 1, 0, &version) == SHAREDMEM_E_TIMEOUT);
  BOOST_TEST(sharedmem_wait(reader, 0, 0, &version) == SHAREDMEM_OK);
  BOOST_TEST(version == 1u);

  BOOST_TEST(sharedmem_write(reader, "bad", 3) == SHAREDMEM_E_READ_ONLY);
  std::uint64_t new_version = 99;
  BOOST_TEST(sharedmem_write_if(reader, "bad", 3, 1, &new_version) == SHAREDMEM_E_READ_ONLY);
  BOOST_TEST(new_version == 1u);
  void* data = &buffer;
  BOOST_TEST(sharedmem_write_begin(reader, 3, &data) == SHAREDMEM_E_READ_ONLY);
  BOOST_TEST(data == nullptr);
  BOOST_TEST(sharedmem_lock(reader, 0) == SHAREDMEM_E_WRONG_KIND, "a value segment has no lock");
  BOOST_TEST(read_c(reader) == "hello");
  BOOST_TEST(sharedmem_version(reader) == 1u);
  BOOST_TEST(writer.read() == "hello");
  BOOST_TEST(writer.version() == 1u);

  writer.write("world");  // the reader sees the writer's writes
  BOOST_TEST(read_c(reader) == "world");
  BOOST_TEST(sharedmem_version(reader) == 2u);
  sharedmem_close(reader);
  BOOST_TEST(writer.read() == "world");
}

// Tests that a read-only handle's wait sees a write made by another process
// (it cannot count itself among the waiters, so it polls in slices).
BOOST_AUTO_TEST_CASE(wait_sees_a_write_of_another_process) {
  const std::string name = unique_name("ro_wait");
  ChildProcess holder = hold_in_child(name, "before");
  const auto wait_limit = scaled(std::chrono::seconds(20));
  ChildProcess waiter =
      start_role("read_only_wait", {name, std::to_string(wait_limit.count())});
  BOOST_TEST_REQUIRE(expect_line(waiter) == code_line(SHAREDMEM_OK) + " version:1");
  holder.write_line("write:after");
  BOOST_TEST(expect_line(holder) == "wrote");
  BOOST_TEST(expect_line(waiter) == code_line(SHAREDMEM_OK) + " value:after");
  BOOST_TEST(expect_exit(waiter) == 0);
  release(holder);
}

// Tests that READ_ONLY with CREATE_ONLY is an invalid argument, and that
// READ_ONLY on a name nobody holds is NOT_FOUND and creates nothing.
BOOST_AUTO_TEST_CASE(never_creates) {
  const std::string name = unique_name("ro_none");
  open_c(name, kCapacity, SHAREDMEM_READ_ONLY | SHAREDMEM_CREATE_ONLY,
         SHAREDMEM_E_INVALID_ARGUMENT);
  open_c(name, kCapacity, SHAREDMEM_READ_ONLY, SHAREDMEM_E_NOT_FOUND);
  open_c(name, 0, SHAREDMEM_READ_ONLY | SHAREDMEM_RAW, SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(!os_object_exists(name), "a read-only open created the object");
}

// Tests that READ_ONLY on a dead segment (every user killed) is NOT_FOUND
// and leaves the object as it was, and that the next read-write opener
// creates it afresh: nothing stale is served.
BOOST_AUTO_TEST_CASE(dead_segment_is_not_found_and_left_alone) {
  const std::string name = unique_name("ro_dead");
  ChildProcess holder = hold_in_child(name, "stale");
  holder.kill();
  std::vector<unsigned char> before;
  if (os_object_exists(name)) {  // POSIX: the dead object stays until swept
    const OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.mapped());
    before.assign(view.bytes(), view.bytes() + view.size());
  }
  open_c(name, 0, SHAREDMEM_READ_ONLY, SHAREDMEM_E_NOT_FOUND);
  // The open may have swept the dead object away; if not, it is untouched.
  if (!before.empty() && os_object_exists(name)) {
    const OsObjectView view(name);
    BOOST_TEST_REQUIRE(view.mapped());
    BOOST_TEST(std::vector<unsigned char>(view.bytes(), view.bytes() + view.size()) == before,
               "a read-only open changed a dead object");
  }
  sharedmem::segment fresh = sharedmem::segment::open(name, kCapacity);
  BOOST_TEST(fresh.created());
  BOOST_TEST(fresh.read() == "");
  BOOST_TEST(fresh.version() == 0u);
}

// Tests that a read-only user keeps the segment alive after its writer
// exits: a newcomer finds the value.
BOOST_AUTO_TEST_CASE(read_only_user_keeps_the_segment_alive) {
  const std::string name = unique_name("ro_keeps");
  sharedmem_segment* reader = read_only_alone(name, "kept");
  BOOST_TEST_REQUIRE(reader != nullptr);
  BOOST_TEST(read_c(reader) == "kept");
  BOOST_TEST(read_in_child(name) == "value:kept");
  sharedmem::segment newcomer = sharedmem::segment::open(name, kCapacity);
  BOOST_TEST(!newcomer.created());
  BOOST_TEST(newcomer.read() == "kept");
  newcomer.write("again");
  BOOST_TEST(read_c(reader) == "again");
  sharedmem_close(reader);
}

// Tests that pruning dead segments takes a segment held by a read-only user
// alone for the live segment it is: nothing is removed, and a newcomer
// still finds the value.
BOOST_AUTO_TEST_CASE(prune_leaves_a_segment_held_read_only) {
  const std::string name = unique_name("ro_prune");
  sharedmem_segment* reader = read_only_alone(name, "held");
  BOOST_TEST_REQUIRE(reader != nullptr);
  std::uint32_t removed = 0;
  BOOST_TEST(sharedmem_prune(0, &removed) == SHAREDMEM_OK);
  BOOST_TEST(read_in_child(name) == "value:held");
  BOOST_TEST(read_c(reader) == "held");
  sharedmem_close(reader);
}

// Tests that a read-only user that is last out leaves nothing a newcomer
// sees: a read-only opener finds nothing, a read-write one creates afresh.
BOOST_AUTO_TEST_CASE(read_only_last_out_leaves_nothing_stale) {
  const std::string name = unique_name("ro_last");
  sharedmem_segment* reader = read_only_alone(name, "old");
  BOOST_TEST_REQUIRE(reader != nullptr);
  sharedmem_close(reader);  // the last user out, read-only
  open_c(name, 0, SHAREDMEM_READ_ONLY, SHAREDMEM_E_NOT_FOUND);
  open_c(name, 0, SHAREDMEM_OPEN_ONLY, SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(read_in_child(name) == "value:");
  sharedmem::segment fresh = sharedmem::segment::open(name, kCapacity);
  BOOST_TEST(fresh.created());
  BOOST_TEST(fresh.read() == "");
}

// Tests that a raw segment opened read-only has readable data, refuses the
// lock and notify, and that a write through its data kills the writer (the
// mapping is read-only in the OS), leaving the segment as it was.
BOOST_AUTO_TEST_CASE(raw_data_is_readable_and_a_write_faults) {
  const std::string name = unique_name("ro_raw");
  sharedmem::raw_segment owner = sharedmem::raw_segment::open(name, 4096);
  std::memcpy(owner.data(), "raw!", 4);
  owner.notify();
  ChildProcess poker = start_role("read_only_raw_poke", {name}, plain_faults());
  BOOST_TEST_REQUIRE(expect_line(poker) ==
                     "bytes:raw! lock:" + std::to_string(SHAREDMEM_E_READ_ONLY) +
                         " notify:" + std::to_string(SHAREDMEM_E_READ_ONLY));
  poker.write_line("poke");
  // It never says "wrote", whatever else it prints before it dies (Wine
  // writes its report of the unhandled fault to the child's stdout).
  for (std::optional<std::string> line; (line = poker.read_line(line_timeout()));)
    BOOST_TEST(*line != "wrote", "the write through a read-only mapping succeeded");
  const int code = expect_exit(poker);
  BOOST_TEST(killed_by_access_fault(code), "exit code " << code << ", not an access fault");
  BOOST_TEST(std::memcmp(owner.data(), "raw!", 4) == 0);
  BOOST_TEST(owner.version() == 1u);
  BOOST_TEST(owner.try_lock(), "the read-only child left the lock free");
  owner.unlock();
}

// Tests that a read-only opener counts as a holder in inspection, and keeps
// the segment live there when it is the only one.
BOOST_AUTO_TEST_CASE(read_only_opener_is_a_holder) {
  const std::string name = unique_name("ro_holder");
  std::optional<sharedmem::segment> writer = sharedmem::segment::open(name, kCapacity);
  sharedmem_segment* reader = open_c(name, 0, SHAREDMEM_READ_ONLY);
  BOOST_TEST_REQUIRE(reader != nullptr);
  sharedmem_info info = SHAREDMEM_INFO_INIT;
  BOOST_TEST_REQUIRE(sharedmem_inspect(name.c_str(), 0, &info) == SHAREDMEM_OK);
  const bool counted = info.holders != SHAREDMEM_HOLDERS_UNKNOWN;  // Windows cannot tell
  if (counted) BOOST_TEST(info.holders == 2u);
  writer.reset();
  info = SHAREDMEM_INFO_INIT;
  BOOST_TEST_REQUIRE(sharedmem_inspect(name.c_str(), 0, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_SEGMENT, "alive with its read-only holder");
  if (counted) BOOST_TEST(info.holders == 1u);
  sharedmem_close(reader);
}

// Tests the C++ layer's read-only opens: reads work, writes throw
// errc::read_only, a read-only raw segment refuses its lock.
BOOST_AUTO_TEST_CASE(cpp_read_only_opens) {
  const std::string name = unique_name("ro_cpp");
  sharedmem::segment writer = sharedmem::segment::open(name, kCapacity);
  writer.write("text");
  sharedmem::segment reader = sharedmem::segment::open(name, 0, sharedmem::read_only);
  BOOST_TEST(reader.read() == "text");
  BOOST_TEST(reader.capacity() == kCapacity);
  std::error_code ec;
  reader.write("no", 2, ec);
  BOOST_TEST(ec == sharedmem::errc::read_only);
  try {
    reader.write("no");
    BOOST_TEST(false, "write through a read-only handle did not throw");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::read_only);
  }
  BOOST_TEST(writer.read() == "text");
  // Options in any order; the non-throwing form.
  sharedmem::segment again = sharedmem::segment::open(
      name, kCapacity, ec, sharedmem::scope::local, sharedmem::read_only, sharedmem::mode::open_only);
  BOOST_TEST(!ec);
  BOOST_TEST(again.read() == "text");
  // Read-only never creates.
  const std::string absent = unique_name("ro_cpp_absent");
  sharedmem::segment none = sharedmem::segment::open(absent, kCapacity, ec, sharedmem::read_only);
  BOOST_TEST(ec == sharedmem::errc::not_found);
  BOOST_TEST(!none);
  BOOST_CHECK_THROW(sharedmem::segment::open(absent, kCapacity, sharedmem::read_only,
                                             sharedmem::mode::create_only),
                    sharedmem::error);
  BOOST_TEST(!os_object_exists(absent));

  const std::string raw_name = unique_name("ro_cpp_raw");
  sharedmem::raw_segment raw = sharedmem::raw_segment::open(raw_name, 64);
  raw.data()[0] = std::byte{42};
  sharedmem::raw_segment raw_reader = sharedmem::raw_segment::open(raw_name, 0, sharedmem::read_only);
  BOOST_TEST(static_cast<int>(raw_reader.data()[0]) == 42);
  BOOST_TEST(raw_reader.size() == 64u);
  try {
    raw_reader.lock();
    BOOST_TEST(false, "lock through a read-only handle did not throw");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::read_only);
  }
}

// Tests that sharedmem::access converts to the C struct: NULL-terminated
// lists of the principals, the flags, the struct's size.
BOOST_AUTO_TEST_CASE(cpp_access_converts_to_the_c_struct) {
  sharedmem::access who;
  who.read_write = {"group:video", "uid:1000"};
  who.read_only = {"user:viewer"};
  who.low_integrity = true;
  const sharedmem::access::native native = who.to_native();
  const sharedmem_access c = native.get();
  BOOST_TEST(c.struct_size == sizeof(sharedmem_access));
  BOOST_TEST(c.flags == SHAREDMEM_ACCESS_LOW_INTEGRITY);
  BOOST_TEST_REQUIRE(c.read_write != nullptr);
  BOOST_TEST(std::string(c.read_write[0]) == "group:video");
  BOOST_TEST(std::string(c.read_write[1]) == "uid:1000");
  BOOST_TEST(c.read_write[2] == nullptr);
  BOOST_TEST_REQUIRE(c.read_only != nullptr);
  BOOST_TEST(std::string(c.read_only[0]) == "user:viewer");
  BOOST_TEST(c.read_only[1] == nullptr);
  BOOST_TEST_REQUIRE(c.creators != nullptr);
  BOOST_TEST(c.creators[0] == nullptr);
  who.low_integrity = false;
  BOOST_TEST(who.to_native().get().flags == 0u);
}

// Tests that segment::open_shared reaches sharedmem_open_shared with the
// options: read-only with create-only is refused before anything is looked
// up, and an unknown principal is refused with the principal named in the
// exception's message (where the backend implements shared segments).
BOOST_AUTO_TEST_CASE(cpp_open_shared_reports_errors_with_their_detail) {
  const std::string name = unique_name("ro_shared");
  sharedmem::access who;
  who.read_write = {"user:sharedmem-no-such-user-21"};
  std::error_code ec;
  sharedmem::segment none = sharedmem::segment::open_shared(
      name, kCapacity, who, ec, sharedmem::mode::create_only, sharedmem::read_only);
  BOOST_TEST(ec == sharedmem::errc::invalid_argument);
  BOOST_TEST(!none);
  sharedmem::raw_segment raw_none = sharedmem::raw_segment::open_shared(
      name, kCapacity, who, ec, sharedmem::read_only, sharedmem::mode::create_only);
  BOOST_TEST(ec == sharedmem::errc::invalid_argument);
  try {
    sharedmem::segment::open_shared(name, kCapacity, who);
    BOOST_TEST(false, "an unknown principal was accepted");
  } catch (const sharedmem::error& e) {
    if (e.code() == sharedmem::errc::unsupported) {
      BOOST_TEST_MESSAGE("shared segments are not implemented by this backend yet");
    } else {
      BOOST_TEST(e.code() == sharedmem::errc::unknown_principal);
      BOOST_TEST(std::string(e.what()).find("sharedmem-no-such-user-21") != std::string::npos,
                 e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
