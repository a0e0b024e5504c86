// SPDX-License-Identifier: MIT
// Small helpers shared by the multi-process tests.
#ifndef SHAREDMEM_TESTS_SUPPORT_CHILD_IO_HPP
#define SHAREDMEM_TESTS_SUPPORT_CHILD_IO_HPP

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "process.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem_test {

inline std::chrono::milliseconds line_timeout() { return scaled(std::chrono::seconds(20)); }

// The child's next line; fails the test (not hangs) if none comes in time.
inline std::string expect_line(ChildProcess& child) {
  const std::optional<std::string> line = child.read_line(line_timeout());
  BOOST_TEST_REQUIRE(line.has_value(), "child printed no line in time");
  return *line;
}

// Waits for the child's exit code; fails the test if it does not exit in time.
inline int expect_exit(ChildProcess& child) {
  const std::optional<int> code = child.wait(line_timeout());
  BOOST_TEST_REQUIRE(code.has_value(), "child did not exit in time");
  return *code;
}

// A child's report of a sharedmem_error: "code:<number>".
inline std::string code_line(sharedmem_error e) {
  return "code:" + std::to_string(static_cast<int>(e));
}

// Parses "key:<number>" out of a space-separated report line; -1 if absent.
inline long field(const std::string& line, const std::string& key) {
  const std::string marker = key + ":";
  std::size_t at = line.find(marker);
  while (at != std::string::npos && at != 0 && line[at - 1] != ' ') at = line.find(marker, at + 1);
  if (at == std::string::npos) return -1;
  return std::strtol(line.c_str() + at + marker.size(), nullptr, 10);
}

// ASCII-only conversions for passing test strings through argv and pipes.
inline std::wstring widen(const std::string& text) { return {text.begin(), text.end()}; }
inline std::string narrow(const std::wstring& text) {
  std::string out;
  for (wchar_t c : text) out.push_back(c < 128 ? static_cast<char>(c) : '?');
  return out;
}

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_CHILD_IO_HPP
