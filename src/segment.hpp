// SPDX-License-Identifier: MIT
// The core's segment operations behind the public C API (api.cpp, which
// checks every argument before it calls them: they check nothing again).
// Where each lives: open_close.cpp, value.cpp, raw_lock.cpp, wait.cpp,
// inspect.cpp, errors.cpp; the handle itself in handle.hpp.
#ifndef SHAREDMEM_SRC_SEGMENT_HPP
#define SHAREDMEM_SRC_SEGMENT_HPP

#include <cstdint>

#include "platform.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem::detail {

sharedmem_error validate_name(const char* name);
// `access`: null for a private segment (sharedmem_open), the access list of a
// shared one (sharedmem_open_shared).
sharedmem_error open_segment(const char* name, std::uint64_t capacity, std::uint32_t flags,
                             const platform::AccessList* access, sharedmem_segment** out);
// Detaches and frees the handle; the error says the object may outlive us.
sharedmem_error close_segment(sharedmem_segment* segment);

// Replaces the value with the `size` bytes at `data` (size <= capacity)
// under the writer lock, if `expected` is null or the version is still
// *expected (otherwise SHAREDMEM_E_CONFLICT, nothing written).
// *new_version, if not null, receives the version after the call, even on
// a failure. Records its own failure (finish_call): the entry point
// returns its result as it is.
sharedmem_error write_value(sharedmem_segment& segment, const void* data, std::uint64_t size,
                            const std::uint64_t* expected, std::uint64_t* new_version);

// In-place writes: begin_write takes the writer lock and hands out the
// claimed slot's `size` bytes (size <= capacity); commit_write publishes it
// like write_value (SHAREDMEM_E_NOT_HELD unless the calling thread began
// it); abort_write gives it up, if the calling thread began it.
sharedmem_error begin_write(sharedmem_segment* segment, std::uint64_t size, void** data);
sharedmem_error commit_write(sharedmem_segment* segment, std::uint64_t* version);
void abort_write(sharedmem_segment* segment);

// Copies min(value length, buffer_size) bytes of a consistent snapshot into
// `buffer` and stores the value's length (if `value_size` is not null) and
// the version of that very snapshot (if `version` is not null: the
// generation whose slot was copied, not overwritten since); both 0 on a
// failure. Never waits for writers; gives up with SHAREDMEM_E_CORRUPTED or
// SHAREDMEM_E_TIMEOUT when no consistent snapshot can be had for seconds (a
// damaged header, a writer that never pauses). Records its own failure,
// as write_value does. Async-signal-safe: no lock, no allocation, and
// thread-local state only on a failure (initial-exec TLS).
sharedmem_error read_value(const sharedmem_segment& segment, void* buffer,
                           std::uint64_t buffer_size, std::uint64_t* value_size,
                           std::uint64_t* version);

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

// A raw segment's lock (sharedmem_lock, sharedmem_unlock): taken by the
// calling thread and kept across calls until it releases it. Locking again
// from the holder thread is SHAREDMEM_E_WOULD_DEADLOCK; unlocking from a
// thread that did not lock through this handle is SHAREDMEM_E_NOT_HELD,
// changing nothing.
sharedmem_error lock_segment(sharedmem_segment* segment, std::uint32_t timeout_ms);
sharedmem_error unlock_segment(sharedmem_segment* segment);

// sharedmem_notify on a raw segment: advances the version, wakes waiters,
// and returns the new version.
std::uint64_t notify_segment(sharedmem_segment* segment);

// After a new generation was published by a sequentially consistent store
// or read-modify-write: if waiters are counted in, changes the change word
// and has the backend wake every waiter on it (layout.hpp).
void wake_waiters(sharedmem_segment& segment) noexcept;

// Ends a public call that returns `result`: records the OS error behind a
// failure for sharedmem_last_system_error (and drops one noted during a
// success). Returns `result`. The hot paths (reads, writes, the raw lock)
// call it only for a failure: their backends note an OS error only for a
// failure they report, so a success has nothing to drop.
sharedmem_error finish_call(sharedmem_error result) noexcept;
int last_system_error() noexcept;

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_SEGMENT_HPP
