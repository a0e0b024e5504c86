// SPDX-License-Identifier: MIT
// Pure functions over the cgroup files' text (cgroup_linux.hpp).
#include "cgroup_linux.hpp"

namespace sharedmem::platform::cgroup {
namespace {

// A limit at or above this is "no limit" (cgroup v1 writes LONG_MAX rounded
// down to a page).
constexpr std::uint64_t kNoLimitFrom = std::uint64_t{1} << 62;

// The decimal number at the start of `text` (after blanks), if any; a
// number too large for 64 bits saturates to kUnlimited.
bool leading_number(std::string_view text, std::uint64_t& value) {
  std::size_t at = 0;
  while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
  if (at == text.size() || text[at] < '0' || text[at] > '9') return false;
  std::uint64_t number = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
    const auto digit = static_cast<std::uint64_t>(text[at] - '0');
    if (number > (kUnlimited - digit) / 10) {
      number = kUnlimited;
      while (at + 1 < text.size() && text[at + 1] >= '0' && text[at + 1] <= '9') ++at;
      continue;
    }
    number = number * 10 + digit;
  }
  value = number;
  return true;
}

bool lists_memory(std::string_view controllers) {
  while (!controllers.empty()) {
    const std::size_t comma = controllers.find(',');
    if (controllers.substr(0, comma) == "memory") return true;
    if (comma == std::string_view::npos) break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::vector<MemoryCgroup> memory_cgroups(std::string_view text) {
  std::vector<MemoryCgroup> found;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (path.empty() || path.front() != '/') continue;
    if (id == "0" && controllers.empty())
      found.push_back({std::string(path), true});
    else if (!id.empty() && lists_memory(controllers))
      found.push_back({std::string(path), false});
  }
  return found;
}

std::string directory_of(const MemoryCgroup& cgroup) {
  const std::string root = cgroup.v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  return cgroup.path == "/" ? root : root + cgroup.path;
}

std::vector<std::string> self_and_ancestors(std::string_view path) {
  std::vector<std::string> levels;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (;;) {
    levels.emplace_back(path.empty() ? "/" : path);
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string_view::npos || path.size() <= 1) break;
    path = path.substr(0, slash == 0 ? 1 : slash);
  }
  return levels;
}

std::uint64_t parse_limit(std::string_view text) {
  std::uint64_t limit = 0;
  if (!leading_number(text, limit) || limit >= kNoLimitFrom) return kUnlimited;
  return limit;
}

bool parse_figure(std::string_view text, std::uint64_t& value) {
  return leading_number(text, value);
}

std::uint64_t stat_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        line[key.size()] == ' ') {
      std::uint64_t value = 0;
      return leading_number(line.substr(key.size() + 1), value) ? value : 0;
    }
  }
  return 0;
}

std::uint64_t headroom(std::uint64_t limit, std::uint64_t used, std::uint64_t reclaimable) {
  const std::uint64_t unreclaimable = used > reclaimable ? used - reclaimable : 0;
  return limit > unreclaimable ? limit - unreclaimable : 0;
}

std::uint64_t filesystem_headroom(std::uint64_t available_blocks, std::uint64_t fragment_size,
                                  std::uint64_t blocks) {
  if (blocks == 0) return kUnlimited;
  if (fragment_size != 0 && available_blocks > kUnlimited / fragment_size) return kUnlimited;
  return available_blocks * fragment_size;
}

}  // namespace sharedmem::platform::cgroup
