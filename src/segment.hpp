// SPDX-License-Identifier: MIT
// The core's segment operations behind the public C API (api.cpp, which
// checks every argument before it calls them: they check nothing again).
// Where each lives: open_close.cpp, reclaim.cpp, value.hpp/.cpp, raw_lock.hpp/.cpp, wait.cpp,
// inspect.cpp, errors.cpp; the handle itself in handle.hpp.
#ifndef SHAREDMEM_SRC_SEGMENT_HPP
#define SHAREDMEM_SRC_SEGMENT_HPP

#include <cstdint>

#include "platform.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem::detail {

sharedmem_error validate_name(const char* name);
// The namespace `flags` (SHAREDMEM_SCOPE_GLOBAL) and `shared` name, or
// SHAREDMEM_E_UNSUPPORTED where the platform has no global scope.
sharedmem_error namespace_of(std::uint32_t flags, bool shared, platform::Namespace& space);

// Reclaiming what killed users left (reclaim.cpp), where objects outlive
// them (platform::kCapabilities.leftovers_persist; elsewhere it does
// nothing). kRateLimited: at most once a second per process, looking at a
// bounded number of the user's objects, on the way of an open; kNow: every
// object, now (sharedmem_prune, or an open short of memory). Never call it
// while holding an attach gate.
enum class Reclaim { kRateLimited, kNow };
sharedmem_error reclaim_dead_objects(platform::Namespace space, Reclaim when,
                                     std::uint32_t* removed);
// `access`: null for a private segment (sharedmem_open), the access list of a
// shared one (sharedmem_open_shared).
sharedmem_error open_segment(const char* name, std::uint64_t capacity, std::uint32_t flags,
                             const platform::AccessList* access, sharedmem_segment** out);
// Detaches and frees the handle; the error says the object may outlive us.
sharedmem_error close_segment(sharedmem_segment* segment);

// write_value, read_value and wake_waiters: value.hpp (inline: the hot path).

// In-place writes: begin_write takes the writer lock and hands out the
// claimed slot's `size` bytes (size <= capacity); commit_write publishes it
// like write_value (SHAREDMEM_E_NOT_HELD unless the calling thread began
// it); abort_write gives it up, if the calling thread began it.
sharedmem_error begin_write(sharedmem_segment* segment, std::uint64_t size, void** data);
sharedmem_error commit_write(sharedmem_segment* segment, std::uint64_t* version);
void abort_write(sharedmem_segment* segment);

// Waits until the version differs from `seen` or `timeout_ms` pass
// (SHAREDMEM_WAIT_FOREVER: never); *version gets the version found. After
// sleeping, SHAREDMEM_E_REMOVED when the segment's name was removed.
sharedmem_error wait_segment(const sharedmem_segment* segment, std::uint64_t seen,
                             std::uint32_t timeout_ms, std::uint64_t* version);

// Whether the segment's name still leads to its object: SHAREDMEM_OK, or
// SHAREDMEM_E_REMOVED when it was removed under the handle (sharedmem_check).
sharedmem_error check_segment(const sharedmem_segment* segment);

// sharedmem_inspect and sharedmem_list (inspect.cpp).
sharedmem_error inspect_segment(const char* name, std::uint32_t flags, sharedmem_info* out);
sharedmem_error list_segments(std::uint32_t flags, sharedmem_list_callback callback,
                              void* context);

// lock_segment and unlock_segment: raw_lock.hpp (inline: the hot path).

// sharedmem_notify on a raw segment: advances the version, wakes waiters,
// and returns the new version.
std::uint64_t notify_segment(sharedmem_segment* segment);


// Ends a public call that returns `result`: records the OS error behind a
// failure for sharedmem_last_system_error (and drops one noted during a
// success). Returns `result`. The hot paths (reads, writes, the raw lock)
// call it only for a failure: their backends note an OS error only for a
// failure they report, so a success has nothing to drop.
sharedmem_error finish_call(sharedmem_error result) noexcept;
int last_system_error() noexcept;

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_SEGMENT_HPP
