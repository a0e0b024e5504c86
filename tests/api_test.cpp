// SPDX-License-Identifier: MIT
// Single-process tests of the named-segment C API and the C++ layer:
// semantics, every bad input, and error messages.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"

using sharedmem_test::unique_name;

namespace {

// Opens `name` or fails the test with the library's message.
sharedmem_segment* open_ok(const std::string& name, std::uint64_t capacity) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, 0, &segment);
  BOOST_TEST_REQUIRE(e == SHAREDMEM_OK, "open '" << name << "': " << sharedmem_strerror(e));
  return segment;
}

sharedmem_error open_error(const char* name, std::uint64_t capacity, std::uint32_t flags = 0) {
  sharedmem_segment* segment = reinterpret_cast<sharedmem_segment*>(0x1);  // must be reset
  const sharedmem_error e = sharedmem_open(name, capacity, flags, &segment);
  BOOST_TEST((e == SHAREDMEM_OK || segment == nullptr), "out is cleared on failure");
  sharedmem_close(e == SHAREDMEM_OK ? segment : nullptr);
  return e;
}

std::string read_all(const sharedmem_segment* segment) {
  std::string value(static_cast<std::size_t>(sharedmem_capacity(segment)), '\0');
  std::uint64_t size = 0;
  BOOST_TEST_REQUIRE(sharedmem_read(segment, value.data(), value.size(), &size) == SHAREDMEM_OK);
  value.resize(static_cast<std::size_t>(size));
  return value;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(api)

// Tests that a write is read back whole, and that a new segment reads empty.
BOOST_AUTO_TEST_CASE(write_then_read_round_trips) {
  sharedmem_segment* segment = open_ok(unique_name("rt"), 1000);
  BOOST_TEST(sharedmem_capacity(segment) == 1000u);
  BOOST_TEST(read_all(segment).empty());
  const std::string value = "hello, shared world";
  BOOST_TEST(sharedmem_write(segment, value.data(), value.size()) == SHAREDMEM_OK);
  BOOST_TEST(read_all(segment) == value);
  const std::string full(1000, 'x');
  BOOST_TEST(sharedmem_write(segment, full.data(), full.size()) == SHAREDMEM_OK);
  BOOST_TEST(read_all(segment) == full);
  BOOST_TEST(sharedmem_write(segment, nullptr, 0) == SHAREDMEM_OK);
  BOOST_TEST(read_all(segment).empty());
  sharedmem_close(segment);
}

// Tests that two handles to one name share the value.
BOOST_AUTO_TEST_CASE(handles_to_one_name_share_the_value) {
  const std::string name = unique_name("share");
  sharedmem_segment* a = open_ok(name, 64);
  sharedmem_segment* b = open_ok(name, 64);
  BOOST_TEST(sharedmem_write(a, "abc", 3) == SHAREDMEM_OK);
  BOOST_TEST(read_all(b) == "abc");
  sharedmem_close(a);
  BOOST_TEST(read_all(b) == "abc", "the value outlives one of two handles");
  sharedmem_close(b);
  sharedmem_segment* c = open_ok(name, 64);
  BOOST_TEST(read_all(c).empty(), "after the last close the next open starts from zero");
  sharedmem_close(c);
}

// Tests that a short buffer gets a prefix and the full size is reported.
BOOST_AUTO_TEST_CASE(short_buffer_gets_prefix_and_full_size) {
  sharedmem_segment* segment = open_ok(unique_name("short"), 32);
  BOOST_TEST(sharedmem_write(segment, "0123456789", 10) == SHAREDMEM_OK);
  char buffer[5] = {'!', '!', '!', '!', '!'};
  std::uint64_t size = 0;
  BOOST_TEST(sharedmem_read(segment, buffer, 4, &size) == SHAREDMEM_OK);
  BOOST_TEST(size == 10u);
  BOOST_TEST(std::string(buffer, 5) == "0123!");
  BOOST_TEST(sharedmem_read(segment, nullptr, 0, &size) == SHAREDMEM_OK);
  BOOST_TEST(size == 10u);
  BOOST_TEST(sharedmem_read(segment, buffer, 4, nullptr) == SHAREDMEM_OK);
  sharedmem_close(segment);
}

// Tests that an oversized write fails and leaves the value as it was.
BOOST_AUTO_TEST_CASE(oversized_write_is_refused_and_changes_nothing) {
  sharedmem_segment* segment = open_ok(unique_name("big"), 16);
  BOOST_TEST(sharedmem_write(segment, "keep", 4) == SHAREDMEM_OK);
  const std::string too_big(17, 'z');
  BOOST_TEST(sharedmem_write(segment, too_big.data(), too_big.size()) ==
             SHAREDMEM_E_VALUE_TOO_LARGE);
  BOOST_TEST(read_all(segment) == "keep");
  sharedmem_close(segment);
}

// Tests that every malformed name is refused with INVALID_NAME.
BOOST_AUTO_TEST_CASE(bad_names_are_refused) {
  const std::string too_long(SHAREDMEM_MAX_NAME_LENGTH + 1, 'n');
  for (const char* name : {"", ".hidden", "a/b", "/abs", "a\\b", "Global\\x", "a b", "tab\t",
                           "caf\xc3\xa9", "\xff\xfe", "semi;colon", "star*", "new\nline"})
    BOOST_TEST(open_error(name, 64) == SHAREDMEM_E_INVALID_NAME, "name '" << name << "'");
  BOOST_TEST(open_error(too_long.c_str(), 64) == SHAREDMEM_E_INVALID_NAME);
  BOOST_TEST(open_error(nullptr, 64) == SHAREDMEM_E_INVALID_ARGUMENT);
  // The longest valid name and every valid character class work.
  const std::string longest = unique_name("L") + std::string(SHAREDMEM_MAX_NAME_LENGTH, 'x');
  sharedmem_segment* segment = open_ok(longest.substr(0, SHAREDMEM_MAX_NAME_LENGTH), 8);
  sharedmem_close(segment);
  sharedmem_close(open_ok(unique_name("Az09._-"), 8));
}

// Tests that zero and impossible capacities are refused with clear errors.
BOOST_AUTO_TEST_CASE(bad_sizes_are_refused) {
  const std::string name = unique_name("size");
  BOOST_TEST(open_error(name.c_str(), 0) == SHAREDMEM_E_INVALID_SIZE);
  BOOST_TEST(open_error(name.c_str(), UINT64_MAX) == SHAREDMEM_E_INVALID_SIZE);
  BOOST_TEST(open_error(name.c_str(), UINT64_MAX / 2) == SHAREDMEM_E_INVALID_SIZE);
  BOOST_TEST(open_error(name.c_str(), std::uint64_t{1} << 41) == SHAREDMEM_E_INVALID_SIZE);
  BOOST_TEST(!sharedmem_test::os_object_exists(name), "a refused open leaves nothing behind");
}

// Tests that a capacity the platform accepts but the machine cannot back
// fails cleanly instead of crashing on first touch.
BOOST_AUTO_TEST_CASE(capacity_beyond_memory_is_refused) {
  const std::string name = unique_name("huge");
  BOOST_TEST(open_error(name.c_str(), std::uint64_t{1} << 38) == SHAREDMEM_E_NO_MEMORY);
  BOOST_TEST(!sharedmem_test::os_object_exists(name), "a refused create leaves nothing behind");
  sharedmem_close(open_ok(name, 64));  // the name is usable afterwards
}

// Tests that null pointers and unknown flags are refused, not dereferenced.
BOOST_AUTO_TEST_CASE(null_pointers_and_unknown_flags_are_refused) {
  BOOST_TEST(sharedmem_open("x", 8, 0, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(open_error("x", 8, 0x80) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_write(nullptr, "a", 1) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_read(nullptr, nullptr, 0, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  sharedmem_segment* segment = open_ok(unique_name("null"), 8);
  BOOST_TEST(sharedmem_write(segment, nullptr, 1) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_read(segment, nullptr, 1, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_capacity(nullptr) == 0u);
  sharedmem_close(nullptr);
  sharedmem_close(segment);
}

// Tests that opening a live segment with another capacity is refused and
// does not disturb it; once it is gone the name takes any capacity.
BOOST_AUTO_TEST_CASE(capacity_mismatch_is_refused) {
  const std::string name = unique_name("mismatch");
  sharedmem_segment* segment = open_ok(name, 100);
  BOOST_TEST(sharedmem_write(segment, "data", 4) == SHAREDMEM_OK);
  BOOST_TEST(open_error(name.c_str(), 200) == SHAREDMEM_E_SIZE_MISMATCH);
  BOOST_TEST(open_error(name.c_str(), 99) == SHAREDMEM_E_SIZE_MISMATCH);
  BOOST_TEST(read_all(segment) == "data");
  sharedmem_close(segment);
  sharedmem_close(open_ok(name, 200));
}

// Tests that every code of the error table has its own name (the enumerator
// without its prefix) and its own message, that the codes run from 0 to the
// last without a gap, and that values beyond are named UNKNOWN.
BOOST_AUTO_TEST_CASE(every_error_has_a_distinct_name_and_message) {
  struct row {
    int value;
    std::string name;
  };
  std::vector<row> table{{SHAREDMEM_OK, "OK"}};
#define SHAREDMEM_TEST_ROW_(name, value, message) table.push_back({SHAREDMEM_E_##name, #name});
  SHAREDMEM_ERRORS(SHAREDMEM_TEST_ROW_)
#undef SHAREDMEM_TEST_ROW_
  std::set<std::string> names;
  std::set<std::string> messages;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto code = static_cast<sharedmem_error>(table[i].value);
    BOOST_TEST(table[i].value == static_cast<int>(i), "codes are contiguous from 0");
    BOOST_TEST(std::string(sharedmem_error_name(code)) == table[i].name);
    const char* message = sharedmem_strerror(code);
    BOOST_TEST_REQUIRE(message != nullptr);
    BOOST_TEST(std::strlen(message) > 5u);
    names.insert(sharedmem_error_name(code));
    messages.insert(message);
  }
  BOOST_TEST(names.size() == table.size());
  BOOST_TEST(messages.size() == table.size());
  for (volatile int unknown : {static_cast<int>(table.size()), 1000, -1, 0x7fffffff}) {
    const auto code = static_cast<sharedmem_error>(unknown);  // as a newer peer's code would arrive
    BOOST_TEST(std::string(sharedmem_error_name(code)) == "UNKNOWN");
    BOOST_TEST(std::string(sharedmem_strerror(code)).find("unknown") != std::string::npos);
  }
}

// Tests every code of the error table through the C++ layer: it has its
// errc (the same value, in the sharedmem category), std::error_code and
// sharedmem::error say the library's message, and an errc compares equal to
// the code the C call returns.
BOOST_AUTO_TEST_CASE(every_error_has_its_errc_and_message_in_cpp) {
  std::vector<sharedmem_error> codes;
#define SHAREDMEM_TEST_CODE_(name, value, message) codes.push_back(SHAREDMEM_E_##name);
  SHAREDMEM_ERRORS(SHAREDMEM_TEST_CODE_)
#undef SHAREDMEM_TEST_CODE_
  BOOST_TEST(codes.size() == static_cast<std::size_t>(sharedmem::detail::kErrorCodes));
  BOOST_TEST(static_cast<int>(sharedmem::errc::unknown_principal) == static_cast<int>(codes.back()),
             "the last errc is the table's last code");
  for (const sharedmem_error code : codes) {
    const auto as_errc = static_cast<sharedmem::errc>(code);
    const std::error_code ec = as_errc;  // make_error_code, found by ADL
    BOOST_TEST(ec.value() == static_cast<int>(code));
    BOOST_TEST(std::string(ec.category().name()) == "sharedmem");
    BOOST_TEST(ec.message() == sharedmem_strerror(code), sharedmem_error_name(code));
    BOOST_TEST((ec == sharedmem::to_error_code(code)));
    const sharedmem::error thrown(code, "sharedmem: test", 0);
    BOOST_TEST((thrown.code() == as_errc));
    BOOST_TEST(std::string(thrown.what()).find(sharedmem_strerror(code)) != std::string::npos,
               thrown.what());
  }
  BOOST_TEST((sharedmem::errc::timeout == sharedmem::to_error_code(SHAREDMEM_E_TIMEOUT)));
  BOOST_TEST((sharedmem::errc::owner_died == sharedmem::to_error_code(SHAREDMEM_E_OWNER_DIED)));
}

// Tests that a failure the OS did not cause reports no system error, in the
// C API and in the C++ exception's text.
BOOST_AUTO_TEST_CASE(failures_without_an_os_cause_have_no_system_error) {
  BOOST_TEST(open_error("bad/name", 8) == SHAREDMEM_E_INVALID_NAME);
  BOOST_TEST(sharedmem_last_system_error() == 0);
  BOOST_TEST(sharedmem_write(nullptr, "a", 1) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_last_system_error() == 0);
  try {
    (void)sharedmem::segment::open("bad/name", 8);
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.system_error() == 0);
    BOOST_TEST(std::string(e.what()).find("system error") == std::string::npos);
  }
}

// Tests that the backend in use is named, so a run's log proves which ran.
BOOST_AUTO_TEST_CASE(backend_is_reported) {
  const std::string backend = sharedmem_backend();
  BOOST_TEST_MESSAGE("sharedmem backend: " << backend);
  BOOST_TEST((backend == "posix" || backend == "windows"));
#if defined(_WIN32)
  BOOST_TEST(backend == "windows");
#else
  BOOST_TEST(backend == "posix");
#endif
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cpp_api)

// Tests the RAII class: open, write, read, move, close.
BOOST_AUTO_TEST_CASE(segment_round_trips_and_moves) {
  const std::string name = unique_name("cpp");
  sharedmem::segment a = sharedmem::segment::open(name, 256);
  BOOST_TEST(static_cast<bool>(a));
  BOOST_TEST(a.capacity() == 256u);
  a.write("value");
  sharedmem::segment b = std::move(a);
  BOOST_TEST(!static_cast<bool>(a));
  BOOST_TEST(b.read() == "value");
  char prefix[3];
  BOOST_TEST(b.read(prefix, sizeof prefix) == 5u);
  BOOST_TEST(std::string(prefix, 3) == "val");
  b = sharedmem::segment();
  sharedmem::segment c = sharedmem::segment::open(name, 256);
  BOOST_TEST(c.read().empty(), "closing through move-assignment freed it");
}

// Tests that failures throw sharedmem::error carrying the code and message,
// and that the error_code overloads report the same without throwing.
BOOST_AUTO_TEST_CASE(errors_are_exceptions_or_codes) {
  try {
    (void)sharedmem::segment::open("bad/name", 8);
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::invalid_name);
    BOOST_TEST(std::string(e.what()).find("bad/name") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("invalid segment name") != std::string::npos);
  }
  std::error_code ec;
  sharedmem::segment none = sharedmem::segment::open("ok", 0, ec);
  BOOST_TEST(ec == sharedmem::errc::invalid_size);
  BOOST_TEST(!static_cast<bool>(none));
  BOOST_TEST(ec.category().name() == std::string("sharedmem"));
  sharedmem::segment embedded = sharedmem::segment::open(std::string("a\0b", 3), 8, ec);
  BOOST_TEST(ec == sharedmem::errc::invalid_name);

  sharedmem::segment small = sharedmem::segment::open(unique_name("cpperr"), 4);
  BOOST_CHECK_THROW(small.write("too long"), sharedmem::error);
  BOOST_TEST(small.write("too long", 8, ec) == sharedmem::errc::value_too_large);
  BOOST_CHECK_THROW(none.write("x"), sharedmem::error);
}

// Tests the open modes through the C++ layer: create_only refuses a live
// segment, open_only finds no absent one and takes the capacity of a live
// one when given 0, and created() tells which handle created it.
BOOST_AUTO_TEST_CASE(open_modes_and_created) {
  const std::string name = unique_name("cppmode");
  std::error_code ec;
  sharedmem::segment none = sharedmem::segment::open(name, 0, sharedmem::mode::open_only, ec);
  BOOST_TEST(ec == sharedmem::errc::not_found);
  BOOST_TEST(!static_cast<bool>(none));
  sharedmem::segment first = sharedmem::segment::open(name, 300, sharedmem::mode::create_only);
  BOOST_TEST(first.created());
  try {
    (void)sharedmem::segment::open(name, 300, sharedmem::mode::create_only);
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::exists);
  }
  sharedmem::segment joined = sharedmem::segment::open(name, 0, sharedmem::mode::open_only);
  BOOST_TEST(!joined.created());
  BOOST_TEST(joined.capacity() == 300u);
  sharedmem::segment plain = sharedmem::segment::open(name, 300);
  BOOST_TEST(!plain.created());
}

// Tests version(), read with its version, and write_if: a stale expected
// version is a conflict (false, or errc::conflict) that writes nothing.
BOOST_AUTO_TEST_CASE(versions_and_write_if) {
  sharedmem::segment s = sharedmem::segment::open(unique_name("cppver"), 64);
  BOOST_TEST(s.version() == 0u);
  s.write("one");
  std::uint64_t version = 0;
  BOOST_TEST(s.read(version) == "one");
  BOOST_TEST(version == 1u);
  std::uint64_t after = 0;
  BOOST_TEST(s.write_if("two", version, &after));
  BOOST_TEST(after == 2u);
  BOOST_TEST(!s.write_if("stale", version, &after));
  BOOST_TEST(after == 2u);
  std::error_code ec;
  BOOST_TEST(s.write_if("stale", 5, 1, nullptr, ec) == sharedmem::errc::conflict);
  char buffer[8];
  BOOST_TEST(s.read_versioned(buffer, sizeof buffer, version) == 3u);
  BOOST_TEST((std::string(buffer, 3) == "two" && version == 2u));
}

// Tests the waits of the C++ layer: wait(seen) returns at once on another
// version, wait(seen, timeout) gives nullopt (errc::timeout without
// exceptions) when nothing changes, and a write in another thread ends
// wait(seen) and wait().
BOOST_AUTO_TEST_CASE(waits) {
  using namespace std::chrono_literals;
  sharedmem::segment s = sharedmem::segment::open(unique_name("cppwait"), 64);
  s.write("one");
  BOOST_TEST(s.wait(0) == 1u);
  BOOST_TEST(s.wait(0, 0ms).value_or(0) == 1u);
  BOOST_TEST(!s.wait(1, 20ms).has_value());
  BOOST_TEST(!s.wait(1, -5ms).has_value(), "a negative timeout only looks");
  std::uint64_t version = 0;
  std::error_code ec;
  BOOST_TEST(s.wait(1, 1ms, version, ec) == sharedmem::errc::timeout);
  BOOST_TEST(version == 1u);

  // A write from another thread ends a wait from the version read.
  std::future<std::uint64_t> waited =
      std::async(std::launch::async, [&s] { return s.wait(1); });
  s.write("two");
  BOOST_TEST_REQUIRE((waited.wait_for(sharedmem_test::scaled(5s)) == std::future_status::ready));
  BOOST_TEST(waited.get() == 2u);

  // wait() waits for a write after it began: keep writing until it returns.
  std::future<std::uint64_t> next = std::async(std::launch::async, [&s] { return s.wait(); });
  const auto give_up = std::chrono::steady_clock::now() + sharedmem_test::scaled(5s);
  while (next.wait_for(1ms) != std::future_status::ready &&
         std::chrono::steady_clock::now() < give_up)
    s.write("more");
  BOOST_TEST_REQUIRE((next.wait_for(0s) == std::future_status::ready));
  BOOST_TEST(next.get() > 2u);

  sharedmem::segment closed;
  BOOST_CHECK_THROW(closed.wait(0), sharedmem::error);
  BOOST_TEST(static_cast<bool>(closed.wait(0, 1ms, version, ec)));
  BOOST_TEST(ec == sharedmem::errc::invalid_argument);
}

// Tests that read() returns a string sized by the value, not the capacity,
// for values shorter and longer than its first read.
BOOST_AUTO_TEST_CASE(read_is_sized_by_the_value) {
  sharedmem::segment s = sharedmem::segment::open(unique_name("cppsize"), 1 << 20);
  s.write("abc");
  const std::string small = s.read();
  BOOST_TEST(small == "abc");
  BOOST_TEST(small.capacity() < 4096u, "not a capacity-sized allocation");
  const std::string big(100000, 'b');
  s.write(big);
  BOOST_TEST(s.read() == big);
  s.write("");
  BOOST_TEST(s.read().empty());
}

// Tests typed values: a round trip, a type larger than the capacity
// (value_too_large), and a stored value of another size (size_mismatch,
// not garbage).
BOOST_AUTO_TEST_CASE(typed_values) {
  struct Point {
    std::int32_t x;
    std::int32_t y;
  };
  sharedmem::segment s = sharedmem::segment::open(unique_name("cpptyped"), 16);
  try {
    (void)s.read_value<Point>();
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::size_mismatch, "nothing written yet");
  }
  s.write_value(Point{3, -4});
  std::uint64_t version = 0;
  const Point p = s.read_value<Point>(&version);
  BOOST_TEST((p.x == 3 && p.y == -4));
  BOOST_TEST(version == 1u);
  s.write_value(std::uint8_t{7});
  try {
    (void)s.read_value<Point>();
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::size_mismatch);
  }
  BOOST_TEST(s.read_value<std::uint8_t>() == 7);
  struct Big {
    char bytes[17];
  };
  try {
    s.write_value(Big{});
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::value_too_large);
  }
  try {
    (void)s.read_value<Big>();
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::value_too_large);
  }
}

BOOST_AUTO_TEST_SUITE_END()
