// SPDX-License-Identifier: MIT
// The registry of open handles and the detach at exit, and the thread
// tokens that name the owner of an in-place write (handle.hpp).
#include "handle.hpp"

#include <chrono>
#include <mutex>
#include <thread>

namespace sharedmem::detail {

std::atomic<bool> g_exit_detach_begun{false};

namespace {

// Every segment this process has open. A process that exits (or unloads the
// library) without closing them must still count as gone: the destructor of
// `g_exit_detach` detaches them all, leaving their pages mapped for threads
// that may still be inside a call. The list head is a plain pointer that is
// never reset, so nothing is destroyed under those threads.
// g_open_segments is under platform::handle_registry_mutex() (held across
// fork by the backend).
sharedmem_segment* g_open_segments = nullptr;
// Exit is final: once the exit detach has begun (g_exit_detach_begun, set
// under the registry mutex), an open fails, and one already past that check is
// detached as soon as it is done (remember). Opens and closes that hold an
// attachment outside g_open_segments count themselves in flight, and the
// exit detach waits (at most kExitWait) for them: a process that ended in
// the middle of one could leave its object behind.
std::atomic<int> g_attachments_in_flight{0};
constexpr std::chrono::seconds kExitWait{2};

// 0 until the thread first begins an in-place write.
SHAREDMEM_SIGNAL_SAFE_TLS thread_local std::uint64_t t_thread_token = 0;
std::atomic<std::uint64_t> g_next_thread_token{1};

struct ExitDetach {
  ~ExitDetach() {
    {
      const std::lock_guard<std::mutex> lock(platform::handle_registry_mutex());
      g_exit_detach_begun.store(true);
      for (sharedmem_segment* s = g_open_segments; s != nullptr; s = s->next) {
        if (s->detached_at_exit) continue;
        s->detached_at_exit = true;
        // The exiting (or unloading) thread's in-place write publishes
        // nothing and frees the lock; another thread's is freed when the
        // process ends (the lock is robust).
        abandon_in_place_write(*s);
        (void)platform::detach(*s->attachment, platform::Mapping::kKeep);
      }
    }
    // Other threads' opens and closes under way finish (remember detaches
    // what they open); a thread stopped inside one is not waited for longer.
    const auto deadline = std::chrono::steady_clock::now() + kExitWait;
    while (g_attachments_in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  }
};
ExitDetach g_exit_detach;

}  // namespace

InFlight::InFlight() noexcept { g_attachments_in_flight.fetch_add(1); }
InFlight::~InFlight() { g_attachments_in_flight.fetch_sub(1); }

void remember(sharedmem_segment* segment) {
  const std::lock_guard<std::mutex> lock(platform::handle_registry_mutex());
  if (g_exit_detach_begun.load()) {
    // Began before the exit detach and ended after it: not a user either,
    // like every other handle of this process; its pages stay mapped for
    // the thread, as theirs do.
    segment->detached_at_exit = true;
    (void)platform::detach(*segment->attachment, platform::Mapping::kKeep);
    return;
  }
  segment->next = g_open_segments;
  if (g_open_segments) g_open_segments->previous = segment;
  g_open_segments = segment;
}

bool forget(sharedmem_segment* segment) {
  const std::lock_guard<std::mutex> lock(platform::handle_registry_mutex());
  if (segment->detached_at_exit) return false;
  if (segment->previous) segment->previous->next = segment->next;
  if (segment->next) segment->next->previous = segment->previous;
  if (g_open_segments == segment) g_open_segments = segment->next;
  return true;
}

std::uint64_t thread_token() noexcept {
  if (t_thread_token == 0)
    t_thread_token = g_next_thread_token.fetch_add(1, std::memory_order_relaxed);
  return t_thread_token;
}

bool end_in_place_write(sharedmem_segment& segment) noexcept {
  std::uint64_t self = t_thread_token;
  return self != 0 &&
         segment.in_place_thread.compare_exchange_strong(self, 0, std::memory_order_acq_rel);
}

}  // namespace sharedmem::detail
