// SPDX-License-Identifier: MIT
// Memory headroom: what the file system under kShmDirectory and this
// process's memory cgroups (its own and its ancestors', v1 or v2) can still
// back, so that a container's limit gives NO_MEMORY rather than the OOM
// killer. The files' text is parsed by the pure functions of cgroup_linux.hpp.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cgroup_linux.hpp"
#include "object_linux.hpp"
#include "platform.hpp"

namespace sharedmem::platform {
namespace {

using cgroup::kUnlimited;

// Reads a whole small file into `buffer`; the text, or empty if it cannot.
std::string_view read_small_file(const std::string& path, char* buffer, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, buffer, size);
  ::close(fd);
  return n > 0 ? std::string_view(buffer, static_cast<std::size_t>(n)) : std::string_view();
}

// One memory cgroup of this process (its own or an ancestor) with a limit.
struct LimitedCgroup {
  std::string directory;
  bool v2 = false;
  std::uint64_t limit = kUnlimited;
};

// This process's memory cgroups with a limit, innermost first.
std::vector<LimitedCgroup> limited_cgroups() {
  std::vector<LimitedCgroup> levels;
  char text[4096];
  for (const cgroup::MemoryCgroup& own :
       cgroup::memory_cgroups(read_small_file("/proc/self/cgroup", text, sizeof text))) {
    for (const std::string& path : cgroup::self_and_ancestors(own.path)) {
      LimitedCgroup level{cgroup::directory_of({path, own.v2}), own.v2, kUnlimited};
      char figure[64];
      level.limit = cgroup::parse_limit(read_small_file(
          level.directory + (own.v2 ? "/memory.max" : "/memory.limit_in_bytes"), figure,
          sizeof figure));
      if (level.limit != kUnlimited) levels.push_back(std::move(level));
    }
  }
  return levels;
}

// Headroom of one limited cgroup. Its usage counts reclaimable file cache
// too; the cache (in memory.stat, far dearer to read) is subtracted only
// when the plain figure falls short of `needed`. kUnlimited when its usage
// cannot be read.
std::uint64_t cgroup_headroom(const LimitedCgroup& level, std::uint64_t needed) {
  char text[64];
  std::uint64_t used = 0;
  if (!cgroup::parse_figure(
          read_small_file(level.directory +
                              (level.v2 ? "/memory.current" : "/memory.usage_in_bytes"),
                          text, sizeof text),
          used))
    return kUnlimited;
  const std::uint64_t plain = cgroup::headroom(level.limit, used, 0);
  if (plain >= needed) return plain;
  char stat[8192];
  return cgroup::headroom(
      level.limit, used,
      cgroup::stat_value(read_small_file(level.directory + "/memory.stat", stat, sizeof stat),
                         cgroup::reclaimable_key(level.v2)));
}

// The headroom as read now, for `levels`.
std::uint64_t read_headroom(const std::vector<LimitedCgroup>& levels, std::uint64_t needed) {
  std::uint64_t headroom = kUnlimited;
  struct statvfs space {};
  if (::statvfs(posix::kShmDirectory, &space) == 0)
    headroom = cgroup::filesystem_headroom(space.f_bavail, space.f_frsize, space.f_blocks);
  for (const LimitedCgroup& level : levels) {
    const std::uint64_t here = cgroup_headroom(level, needed);
    if (here < headroom) headroom = here;
  }
  return headroom;
}

// The answer as last read. Reading /proc/self/cgroup, the limits and the
// usage costs tens of microseconds per file on some kernels, so a process
// reads them at most once a second while what it asks for is small: within
// a second of a read, a request is answered from it (no system call) while
// everything this process asked for since, this request included, stays
// within half of the headroom then; any other request reads the usage
// afresh. A limit set, a cgroup changed or another process's use since is
// seen within a second. A fork child keeps its parent's answer: it starts
// in the parent's cgroups.
struct HeadroomCache {
  std::mutex mutex;
  bool valid = false;
  std::chrono::steady_clock::time_point read_at{};
  std::vector<LimitedCgroup> levels;
  std::uint64_t headroom = 0;  // as read at read_at
  std::uint64_t claimed = 0;   // asked for since, by answers from the cache
};
constexpr std::chrono::seconds kCacheLifetime{1};
// At namespace scope: the library keeps no function-local static initialised
// on first use (tests/check_no_guarded_statics.cmake).
HeadroomCache g_headroom_cache;

std::uint64_t cached_headroom(std::uint64_t needed) {
  HeadroomCache& cache = g_headroom_cache;
  // Never waits: a fork child may inherit the mutex held by a thread it
  // does not have; it then reads afresh.
  std::unique_lock<std::mutex> lock(cache.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return read_headroom(limited_cgroups(), needed);
  const auto now = std::chrono::steady_clock::now();
  const bool fresh = cache.valid && now - cache.read_at < kCacheLifetime;
  if (fresh && needed <= cache.headroom / 2 && cache.claimed <= cache.headroom / 2 - needed) {
    const std::uint64_t left = cache.headroom - cache.claimed;
    cache.claimed += needed;
    return left;
  }
  if (!fresh) {
    cache.valid = false;
    cache.levels = limited_cgroups();
    cache.read_at = now;
  }
  cache.headroom = read_headroom(cache.levels, needed);
  cache.claimed = cache.headroom >= needed ? needed : 0;
  cache.valid = true;
  return cache.headroom;
}

}  // namespace

bool can_back(std::uint64_t bytes) noexcept {
  try {
    return bytes <= cached_headroom(bytes);
  } catch (...) {  // std::bad_alloc: go by the file system alone
    struct statvfs space {};
    if (::statvfs(posix::kShmDirectory, &space) != 0) return true;
    return bytes <= cgroup::filesystem_headroom(space.f_bavail, space.f_frsize, space.f_blocks);
  }
}

}  // namespace sharedmem::platform
