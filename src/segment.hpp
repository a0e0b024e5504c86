// SPDX-License-Identifier: MIT
// The core's segment operations behind the public C API.
#ifndef SHAREDMEM_SRC_SEGMENT_HPP
#define SHAREDMEM_SRC_SEGMENT_HPP

#include <cstdint>

#include "sharedmem/sharedmem.h"

namespace sharedmem::detail {

sharedmem_error validate_name(const char* name);
sharedmem_error open_segment(const char* name, std::uint64_t capacity, std::uint32_t flags,
                             sharedmem_segment** out);
// Detaches and frees the handle; the error says the object may outlive us.
sharedmem_error close_segment(sharedmem_segment* segment);

// Replaces the value with the `size` bytes at `data` under the writer lock.
sharedmem_error write_segment(sharedmem_segment* segment, const void* data, std::uint64_t size);

// Copies min(value length, buffer_size) bytes of a consistent snapshot into
// `buffer` and stores the value's length. Never waits for writers; gives up
// with SHAREDMEM_E_CORRUPTED or SHAREDMEM_E_TIMEOUT when no consistent
// snapshot can be had for seconds (a damaged header, a writer that never
// pauses).
sharedmem_error read_segment(const sharedmem_segment* segment, void* buffer,
                             std::uint64_t buffer_size, std::uint64_t* value_size);

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_SEGMENT_HPP
