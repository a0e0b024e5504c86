// SPDX-License-Identifier: MIT
// A raw segment's notification (sharedmem_notify); its lock is in
// raw_lock.hpp.
#include "handle.hpp"
#include "layout.hpp"
#include "platform.hpp"
#include "raw_lock.hpp"
#include "segment.hpp"
#include "value.hpp"

namespace sharedmem::detail {

std::uint64_t notify_segment(sharedmem_segment* segment) {
  Header& header = *segment->header;
  // Sequentially consistent, as a write's publication (value.hpp): release
  // for what the caller wrote into the data before (visible to whoever sees
  // the new version), and ordered before wake_waiters' look at the count.
  const std::uint64_t version = header.generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  wake_waiters(*segment);
  return version;
}

}  // namespace sharedmem::detail
