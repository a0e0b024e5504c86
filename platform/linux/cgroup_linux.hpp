// SPDX-License-Identifier: MIT
// The memory-headroom figures as pure functions over the text the kernel
// gives (/proc/self/cgroup, memory.max or memory.limit_in_bytes,
// memory.current or memory.usage_in_bytes, memory.stat) and the statvfs
// figures: no I/O here, so that the parsing is tested on fixture text
// (tests/cgroup_test.cpp) wherever the Linux build runs. memory_linux.cpp
// reads the files.
#ifndef SHAREDMEM_PLATFORM_LINUX_CGROUP_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_CGROUP_LINUX_HPP

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sharedmem::platform::cgroup {

// No limit, no figure: every headroom is at most this.
inline constexpr std::uint64_t kUnlimited = UINT64_MAX;

// A memory cgroup of this process as /proc/self/cgroup names it: its path
// below the hierarchy's root ("/a/b") and whether it is cgroup v2.
struct MemoryCgroup {
  std::string path;
  bool v2 = false;
};

// The memory cgroups in the text of /proc/self/cgroup: the v2 line
// ("0::<path>") and a v1 line whose controllers include "memory"
// ("<n>:cpu,memory:<path>"). A line of another shape, or whose path is not
// absolute, is skipped.
std::vector<MemoryCgroup> memory_cgroups(std::string_view proc_self_cgroup);

// The directory of `cgroup` under the mounted hierarchies
// (/sys/fs/cgroup for v2, /sys/fs/cgroup/memory for v1).
std::string directory_of(const MemoryCgroup& cgroup);

// `path` and its ancestors, innermost first: "/a/b" gives "/a/b", "/a", "/".
std::vector<std::string> self_and_ancestors(std::string_view path);

// The limit in the text of memory.max (v2) or memory.limit_in_bytes (v1):
// kUnlimited for "max", for a v1 "no limit" (LONG_MAX rounded down to a
// page: anything from 2^62 up), and for text that is not a number.
std::uint64_t parse_limit(std::string_view text);

// The number a one-figure file holds (memory.current, memory.usage_in_bytes),
// or false when the text does not start with one.
bool parse_figure(std::string_view text, std::uint64_t& value);

// The value of `key` in the text of a memory.stat file ("key value" lines),
// or 0 when it has none.
std::uint64_t stat_value(std::string_view memory_stat, std::string_view key);

// The key of memory.stat that counts reclaimable file cache.
inline const char* reclaimable_key(bool v2) { return v2 ? "inactive_file" : "total_inactive_file"; }

// The headroom of one cgroup: `limit` minus what it uses that cannot be
// reclaimed (`used` less `reclaimable`), 0 when full.
std::uint64_t headroom(std::uint64_t limit, std::uint64_t used, std::uint64_t reclaimable);

// The headroom of a file system from statvfs's figures: kUnlimited for one
// that reports no blocks (no figure to go by).
std::uint64_t filesystem_headroom(std::uint64_t available_blocks, std::uint64_t fragment_size,
                                  std::uint64_t blocks);

}  // namespace sharedmem::platform::cgroup

#endif  // SHAREDMEM_PLATFORM_LINUX_CGROUP_LINUX_HPP
