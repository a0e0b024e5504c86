// SPDX-License-Identifier: MIT
// Opening a segment or failing the test, and versioned snapshots of its
// value: shared by the suites that check values against their versions.
#ifndef SHAREDMEM_TESTS_SUPPORT_SNAPSHOTS_HPP
#define SHAREDMEM_TESTS_SUPPORT_SNAPSHOTS_HPP

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>

#include "segment_children.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem_test {

// Opens `name` (by default with the capacity the child roles use), or fails
// the test.
inline sharedmem_segment* open_ok(const std::string& name,
                                  std::uint64_t capacity = std::stoull(kChildCapacity),
                                  std::uint32_t flags = 0) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
  BOOST_TEST_REQUIRE(e == SHAREDMEM_OK, "open '" << name << "': " << sharedmem_strerror(e));
  return segment;
}

// sharedmem_open's error for `name` with `capacity` and `flags`, closing
// what it opened (a handle exactly when it succeeds).
inline sharedmem_error open_error(const std::string& name, std::uint64_t capacity,
                                  std::uint32_t flags) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
  BOOST_TEST((e == SHAREDMEM_OK) == (segment != nullptr));
  sharedmem_close(segment);
  return e;
}

// The value and version of one snapshot.
struct Snapshot {
  std::string value;
  std::uint64_t version = 0;
  sharedmem_error error = SHAREDMEM_OK;
};

// sharedmem_read_versioned of the whole value.
inline Snapshot read_snapshot(const sharedmem_segment* segment) {
  Snapshot s;
  s.value.resize(static_cast<std::size_t>(sharedmem_capacity(segment)));
  std::uint64_t size = 0;
  s.error = sharedmem_read_versioned(segment, s.value.data(), s.value.size(), &size, &s.version);
  s.value.resize(static_cast<std::size_t>(size));
  return s;
}

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_SNAPSHOTS_HPP
