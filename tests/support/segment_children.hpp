// SPDX-License-Identifier: MIT
// Child processes that hold or read a named segment, shared by the
// multi-process suites. Their roles ("segment_hold", "segment_read") are
// defined in segment_children.cpp.
#ifndef SHAREDMEM_TESTS_SUPPORT_SEGMENT_CHILDREN_HPP
#define SHAREDMEM_TESTS_SUPPORT_SEGMENT_CHILDREN_HPP

#include <string>

#include "process.hpp"

namespace sharedmem_test {

// The capacity these children open segments with.
inline constexpr const char* kChildCapacity = "512";

// Starts a child that reads segment `name` afresh; returns its line:
// "value:<value>" or "error:<message>".
std::string read_in_child(const std::string& name);

// Starts a child that opens `name` (writing `value` if not empty) and holds
// it; it answers "read" and "write:<v>" lines until released.
ChildProcess hold_in_child(const std::string& name, const std::string& value = {});

// Tells a holding child to exit and checks that it exits cleanly.
void release(ChildProcess& child);

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_SEGMENT_CHILDREN_HPP
