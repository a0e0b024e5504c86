// SPDX-License-Identifier: MIT
#include "segment_children.hpp"

#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/roles.hpp"

namespace sharedmem_test {
namespace {

// Opens segment args[0] with capacity args[1], or reports "error:<message>"
// and returns an empty segment.
sharedmem::segment open_or_report(const std::vector<std::string>& args) {
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), std::stoull(args.at(1)), ec);
  if (ec) report("error:" + ec.message());
  return segment;
}

// Opens the segment (writing a value if given), reports "open", and keeps it
// open, answering "read" with "value:<value>" and "write:<v>" with
// "wrote" (or "error:<message>"), until the parent sends anything else or
// closes stdin (or kills it).
SHAREDMEM_CHILD_ROLE(segment_hold) {
  sharedmem::segment segment = open_or_report(args);
  if (!segment) return 1;
  std::error_code ec;
  if (args.size() > 2) segment.write(args[2]);
  report("open");
  for (std::string command = await_parent();; command = await_parent()) {
    if (command == "read") {
      report("value:" + segment.read());
    } else if (command.rfind("write:", 0) == 0) {
      segment.write(command.substr(6).data(), command.size() - 6, ec);
      report(ec ? "error:" + ec.message() : "wrote");
    } else {
      return 0;
    }
  }
}

// Opens the segment, prints "value:<value>" and exits.
SHAREDMEM_CHILD_ROLE(segment_read) {
  sharedmem::segment segment = open_or_report(args);
  if (!segment) return 1;
  report("value:" + segment.read());
  return 0;
}

}  // namespace

// What a fresh reader of segment `name` sees.
std::string read_in_child(const std::string& name) {
  ChildProcess reader = start_role("segment_read", {name, kChildCapacity});
  const std::string line = expect_line(reader);
  BOOST_TEST(expect_exit(reader) == 0);
  return line;
}

ChildProcess hold_in_child(const std::string& name, const std::string& value) {
  std::vector<std::string> args{name, kChildCapacity};
  if (!value.empty()) args.push_back(value);
  ChildProcess holder = start_role("segment_hold", args);
  BOOST_TEST_REQUIRE(expect_line(holder) == "open");
  return holder;
}

void release(ChildProcess& child) {
  child.write_line("exit");
  BOOST_TEST(expect_exit(child) == 0);
}

}  // namespace sharedmem_test
