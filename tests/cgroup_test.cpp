// SPDX-License-Identifier: MIT
// Tests of the Linux backend's memory-headroom parsing on fixture text
// (platform/linux/cgroup_linux.hpp): cgroup v2 and v1 shapes of
// /proc/self/cgroup, "max" and the v1 "no limit", nested limits, malformed
// text. The parser is not public API: its one source file is compiled into
// the test program (tests/CMakeLists.txt), so these run wherever the Linux
// build runs, whatever cgroups the machine has.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/linux/cgroup_linux.hpp"

namespace cgroup = sharedmem::platform::cgroup;

namespace {

// The paths and versions of `found`, as "v2:/a" or "v1:/a", for comparison.
std::vector<std::string> described(const std::vector<cgroup::MemoryCgroup>& found) {
  std::vector<std::string> out;
  for (const auto& c : found) out.push_back((c.v2 ? "v2:" : "v1:") + c.path);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cgroup_parser)

// Tests that a cgroup v2 line ("0::<path>") names the process's memory cgroup.
BOOST_AUTO_TEST_CASE(v2_line) {
  const auto found = described(cgroup::memory_cgroups("0::/user.slice/session-2.scope\n"));
  BOOST_TEST(found == std::vector<std::string>{"v2:/user.slice/session-2.scope"},
             boost::test_tools::per_element());
  BOOST_TEST(cgroup::directory_of({"/user.slice", true}) == "/sys/fs/cgroup/user.slice");
  BOOST_TEST(cgroup::directory_of({"/", true}) == "/sys/fs/cgroup");
}

// Tests that of cgroup v1 lines only the one listing the memory controller
// counts, wherever "memory" stands among its controllers, and that its
// directory is under the memory hierarchy.
BOOST_AUTO_TEST_CASE(v1_lines) {
  const char* text =
      "12:pids:/docker/abc\n"
      "11:cpu,cpuacct:/docker/abc\n"
      "10:blkio,memory:/docker/abc\n"
      "9:memoryless:/x\n"
      "1:name=systemd:/docker/abc\n";
  const auto found = cgroup::memory_cgroups(text);
  BOOST_TEST(described(found) == std::vector<std::string>{"v1:/docker/abc"},
             boost::test_tools::per_element());
  BOOST_TEST(cgroup::directory_of(found.at(0)) == "/sys/fs/cgroup/memory/docker/abc");
}

// Tests that a hybrid system (v1 memory controller and the v2 line) gives
// both, and that text without a final newline still gives its last line.
BOOST_AUTO_TEST_CASE(hybrid_and_unterminated) {
  const auto found = described(cgroup::memory_cgroups("4:memory:/a\n0::/b"));
  BOOST_TEST(found == (std::vector<std::string>{"v1:/a", "v2:/b"}),
             boost::test_tools::per_element());
}

// Tests that malformed lines are skipped, not misread: no colons, one colon,
// a relative path, an empty path, an empty hierarchy id. (Hierarchy 0 with
// controllers is read by its controllers, as v1.)
BOOST_AUTO_TEST_CASE(malformed_lines) {
  const char* text =
      "garbage\n"
      "0:/only-one-colon\n"
      "0::relative/path\n"
      "0::\n"
      ":memory:/no-id\n"
      "0:memory,cpu:/v1-with-id-0\n"
      "\n";
  BOOST_TEST(described(cgroup::memory_cgroups(text)) == std::vector<std::string>{"v1:/v1-with-id-0"},
             boost::test_tools::per_element());
  BOOST_TEST(cgroup::memory_cgroups("").empty());
}

// Tests that a cgroup's ancestors are listed innermost first, up to the root,
// so that a limit set on any enclosing cgroup is found.
BOOST_AUTO_TEST_CASE(nested_levels) {
  BOOST_TEST(cgroup::self_and_ancestors("/a/b/c") ==
                 (std::vector<std::string>{"/a/b/c", "/a/b", "/a", "/"}),
             boost::test_tools::per_element());
  BOOST_TEST(cgroup::self_and_ancestors("/a/b/") ==
                 (std::vector<std::string>{"/a/b", "/a", "/"}),
             boost::test_tools::per_element());
  BOOST_TEST(cgroup::self_and_ancestors("/") == std::vector<std::string>{"/"},
             boost::test_tools::per_element());
}

// Tests the limit files: a number, "max" (v2), v1's page-rounded LONG_MAX
// and anything from 2^62 up as no limit, and text that is no number as no
// limit rather than a limit of 0.
BOOST_AUTO_TEST_CASE(limits) {
  BOOST_TEST(cgroup::parse_limit("536870912\n") == 536870912u);
  BOOST_TEST(cgroup::parse_limit("0\n") == 0u);
  BOOST_TEST(cgroup::parse_limit("max\n") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("9223372036854771712\n") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("4611686018427387904") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("4611686018427387903") == 4611686018427387903u);
  BOOST_TEST(cgroup::parse_limit("99999999999999999999999") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("-1\n") == cgroup::kUnlimited);
  BOOST_TEST(cgroup::parse_limit("lots\n") == cgroup::kUnlimited);
}

// Tests the usage files: a number is read, anything else is no figure.
BOOST_AUTO_TEST_CASE(usage_figures) {
  std::uint64_t used = 7;
  BOOST_TEST(cgroup::parse_figure("123456\n", used));
  BOOST_TEST(used == 123456u);
  BOOST_TEST(!cgroup::parse_figure("", used));
  BOOST_TEST(!cgroup::parse_figure("n/a\n", used));
}

// Tests memory.stat lookups: the whole key only (not a key it prefixes, not
// a key that ends with it), 0 when absent or malformed.
BOOST_AUTO_TEST_CASE(memory_stat) {
  const char* v2 =
      "anon 1000\n"
      "file 5000\n"
      "active_file 3000\n"
      "inactive_file 2000\n"
      "inactive_file_extra 9\n";
  BOOST_TEST(cgroup::stat_value(v2, cgroup::reclaimable_key(true)) == 2000u);
  const char* v1 = "cache 10\ninactive_file 5\ntotal_inactive_file 4096";
  BOOST_TEST(cgroup::stat_value(v1, cgroup::reclaimable_key(false)) == 4096u);
  BOOST_TEST(cgroup::stat_value(v1, "active_file") == 0u);
  BOOST_TEST(cgroup::stat_value("inactive_file x\n", "inactive_file") == 0u);
  BOOST_TEST(cgroup::stat_value("", "inactive_file") == 0u);
}

// Tests the headroom arithmetic: the limit less what cannot be reclaimed,
// 0 when the cgroup is at or over its limit, never a wrapped figure.
BOOST_AUTO_TEST_CASE(headroom_figures) {
  BOOST_TEST(cgroup::headroom(1000, 400, 0) == 600u);
  BOOST_TEST(cgroup::headroom(1000, 400, 100) == 700u);
  BOOST_TEST(cgroup::headroom(1000, 1200, 0) == 0u);
  BOOST_TEST(cgroup::headroom(1000, 1000, 0) == 0u);
  BOOST_TEST(cgroup::headroom(1000, 100, 500) == 1000u);
  BOOST_TEST(cgroup::filesystem_headroom(10, 4096, 100) == 40960u);
  BOOST_TEST(cgroup::filesystem_headroom(0, 4096, 100) == 0u);
  BOOST_TEST(cgroup::filesystem_headroom(10, 4096, 0) == cgroup::kUnlimited);
  BOOST_TEST(cgroup::filesystem_headroom(UINT64_MAX / 2, 4096, 1) == cgroup::kUnlimited);
}

BOOST_AUTO_TEST_SUITE_END()
