// SPDX-License-Identifier: MIT
// When dead objects are swept (segment.hpp, reclaim_dead_objects): the
// policy is the core's, the sweep itself the backend's
// (platform::sweep_dead_objects, where objects outlive their users).
#include <atomic>
#include <chrono>
#include <cstdint>

#include "platform.hpp"
#include "segment.hpp"

namespace sharedmem::detail {
namespace {

// A rate-limited sweep looks at no more than this many of the user's own
// objects, and a process runs at most one per interval: opens stay cheap
// however many objects a user has, and a user's many opens do not each pay
// for a directory scan.
constexpr std::uint32_t kSweepLimit = 256;
constexpr std::chrono::seconds kSweepInterval{1};

// The time of this process's last rate-limited sweep (seconds of
// steady_clock; 0: none yet).
std::atomic<std::int64_t> g_last_sweep{0};

// Whether a rate-limited sweep may run now; if so, it is counted as run.
bool sweep_due() noexcept {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t previous = g_last_sweep.load();
  if (previous != 0 && now - previous < kSweepInterval.count()) return false;
  return g_last_sweep.compare_exchange_strong(previous, now);
}

}  // namespace

sharedmem_error reclaim_dead_objects(platform::Namespace space, Reclaim when,
                                     std::uint32_t* removed) {
  if (removed != nullptr) *removed = 0;
  if constexpr (platform::kCapabilities.leftovers_persist) {
    if (when == Reclaim::kRateLimited && !sweep_due()) return SHAREDMEM_OK;
    return platform::sweep_dead_objects(space, when == Reclaim::kNow ? UINT32_MAX : kSweepLimit,
                                        removed);
  } else {
    (void)space;
    (void)when;
    return SHAREDMEM_OK;
  }
}

}  // namespace sharedmem::detail
