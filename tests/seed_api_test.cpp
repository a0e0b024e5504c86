// SPDX-License-Identifier: MIT
// In-process tests of the seed's SetSharedMem/GetSharedMem: truncation, the
// caller's buffer bounds, and null arguments. ctest gives every test process
// its own default segment through SHAREDMEM_DEFAULT_SEGMENT.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "sharedmem/setget.hpp"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"

namespace {

constexpr std::size_t kCapacityChars = SHAREDMEM_DEFAULT_CAPACITY_CHARS;
constexpr wchar_t kCanary = L'#';

// Calls GetSharedMem(buffer, cch) on a canary-filled buffer of cch + 8
// characters and returns the whole buffer.
std::wstring get_into_canaried(std::uint32_t cch) {
  std::wstring buffer(cch + 8u, kCanary);
  GetSharedMem(buffer.data(), cch);
  return buffer;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(seed_api)

// Tests that the library attached its default segment at load.
BOOST_AUTO_TEST_CASE(default_segment_is_attached) {
  BOOST_TEST(sharedmem_default_status() == SHAREDMEM_OK,
             sharedmem_strerror(sharedmem_default_status()));
  BOOST_TEST(kCapacityChars == 4096 / sizeof(wchar_t) - 1);
}

// Tests that the default segment's handle is the segment Set/Get use: its
// version goes up by one with each SetSharedMem, and it holds the text.
BOOST_AUTO_TEST_CASE(default_segment_handle_sees_set) {
  sharedmem_segment* segment = sharedmem_default_segment();
  BOOST_TEST_REQUIRE(segment != nullptr);
  BOOST_TEST(sharedmem_capacity(segment) == SHAREDMEM_DEFAULT_CAPACITY_BYTES);
  const std::uint64_t before = sharedmem_version(segment);
  SetSharedMem(L"versioned");
  BOOST_TEST(sharedmem_version(segment) == before + 1);
  std::wstring text(16, L'\0');
  std::uint64_t bytes = 0;
  BOOST_TEST(sharedmem_read(segment, text.data(), text.size() * sizeof(wchar_t), &bytes) ==
             SHAREDMEM_OK);
  text.resize(static_cast<std::size_t>(bytes / sizeof(wchar_t)));
  BOOST_TEST((text == L"versioned"));
}

// Tests that a string set is read back.
BOOST_AUTO_TEST_CASE(set_then_get_round_trips) {
  SetSharedMem(L"This is a test string");
  BOOST_TEST((sharedmem::get_shared_mem() == L"This is a test string"));
  SetSharedMem(L"");
  BOOST_TEST(sharedmem::get_shared_mem().empty());
}

// Tests that text longer than the block is cut to its capacity instead of
// overflowing it (the seed writes past its 4096 bytes).
BOOST_AUTO_TEST_CASE(long_text_is_truncated_to_capacity) {
  const std::wstring exact(kCapacityChars, L'e');
  SetSharedMem(exact.c_str());
  BOOST_TEST((sharedmem::get_shared_mem() == exact));
  std::wstring longer(kCapacityChars + 500, L'x');
  longer[kCapacityChars - 1] = L'L';
  const char* name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  BOOST_TEST_REQUIRE(name != nullptr, "ctest sets SHAREDMEM_DEFAULT_SEGMENT");
  sharedmem::segment raw = sharedmem::segment::open(name, SHAREDMEM_DEFAULT_CAPACITY_BYTES);
  for (int round = 0; round < 2; ++round) {  // once into each buffer of the segment
    SetSharedMem(longer.c_str());
    const std::wstring got = sharedmem::get_shared_mem();
    BOOST_TEST(got.size() == kCapacityChars);
    BOOST_TEST((got == longer.substr(0, kCapacityChars)));
    BOOST_TEST(raw.read().size() == kCapacityChars * sizeof(wchar_t),
               "the stored value stops at the capacity, leaving room for the terminator");
  }
}

// Tests that Get writes at most cch - 1 characters and a terminator, and
// nothing past the cch it was given.
BOOST_AUTO_TEST_CASE(get_respects_the_callers_buffer) {
  SetSharedMem(L"0123456789");
  const std::wstring five = get_into_canaried(5);
  BOOST_TEST((five.substr(0, 4) == L"0123"));
  BOOST_TEST(five[4] == L'\0');
  BOOST_TEST((five.substr(5) == std::wstring(8, kCanary)));

  const std::wstring one = get_into_canaried(1);
  BOOST_TEST(one[0] == L'\0');
  BOOST_TEST((one.substr(1) == std::wstring(8, kCanary)));

  const std::wstring roomy = get_into_canaried(64);
  BOOST_TEST((std::wstring(roomy.c_str()) == L"0123456789"));
  BOOST_TEST((roomy.substr(64) == std::wstring(8, kCanary)));
}

// Tests that cch == 0 writes nothing at all (the seed's --cchSize wraps
// around and copies the whole string past the caller's buffer).
BOOST_AUTO_TEST_CASE(get_with_zero_cch_writes_nothing) {
  SetSharedMem(L"abc");
  const std::wstring untouched = get_into_canaried(0);
  BOOST_TEST((untouched == std::wstring(8, kCanary)));
}

// Tests that null arguments are harmless and change nothing.
BOOST_AUTO_TEST_CASE(null_arguments_are_harmless) {
  SetSharedMem(L"kept");
  SetSharedMem(nullptr);
  GetSharedMem(nullptr, 100);
  GetSharedMem(nullptr, 0);
  BOOST_TEST((sharedmem::get_shared_mem() == L"kept"));
}

// Tests that the default segment is an ordinary named segment of 4096 bytes:
// the named API sees what SetSharedMem wrote, byte for byte.
BOOST_AUTO_TEST_CASE(default_segment_is_a_named_segment) {
  const char* name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  BOOST_TEST_REQUIRE(name != nullptr, "ctest sets SHAREDMEM_DEFAULT_SEGMENT");
  sharedmem::segment segment = sharedmem::segment::open(name, SHAREDMEM_DEFAULT_CAPACITY_BYTES);
  SetSharedMem(L"wide");
  const std::string bytes = segment.read();
  BOOST_TEST(bytes.size() == 4 * sizeof(wchar_t));
  BOOST_TEST((std::wstring(reinterpret_cast<const wchar_t*>(bytes.data()), 4) == L"wide"));
}

BOOST_AUTO_TEST_SUITE_END()
