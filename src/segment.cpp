// SPDX-License-Identifier: MIT
// Named segments: validation, layout initialisation and checks, and the
// lock-free-for-readers consistency protocol described in layout.hpp.
#include "segment.hpp"

#include <cstring>
#include <new>

#include "copy.hpp"
#include "fault_injection.hpp"
#include "layout.hpp"

using sharedmem::detail::Header;

struct sharedmem_segment {
  sharedmem::platform::AttachmentPtr attachment;
  Header* header = nullptr;
  unsigned char* slot_bytes = nullptr;  // slot i at slot_bytes + i * stride
  std::uint64_t capacity = 0;
  std::uint64_t stride = 0;
};

namespace sharedmem::detail {
namespace {

// How long a writer waits for a live peer that holds the writer lock.
constexpr std::chrono::milliseconds kWriterLockTimeout{10'000};

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

bool header_is_blank(const unsigned char* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

// True when the mapping starts with a header of ours (any capacity).
bool looks_like_ours(const void* base, std::size_t size) {
  if (size < sizeof(Header)) return false;
  const auto* header = static_cast<const Header*>(base);
  return header->magic.load(std::memory_order_acquire) == kMagic &&
         header->layout_version == kLayoutVersion;
}

// True when the header is still marked as being initialised. Seen under the
// attach gate, which an initialiser holds until it is done, that means the
// initialiser died. (On Windows a waiter can see this: the dead process's
// gate mutex is abandoned before its handle to the section is closed.)
bool is_unfinished(const void* base, std::size_t size) {
  return size >= sizeof(Header) &&
         static_cast<const Header*>(base)->magic.load(std::memory_order_relaxed) ==
             kMagicInitialising;
}

// True when a first user may reset what it found: nothing (a new object), a
// blank header or one still marked initialising (an earlier first user died
// before finishing), or a dead segment of ours.
bool is_ours_to_reset(const void* base, std::size_t size) {
  if (size == 0 || looks_like_ours(base, size) || is_unfinished(base, size)) return true;
  return header_is_blank(static_cast<const unsigned char*>(base),
                         size < sizeof(Header) ? size : sizeof(Header));
}

// Resets what a first user found to zeros and writes a fresh header.
// Anything not ours to reset is someone else's object and is not touched.
sharedmem_error initialise(platform::Attachment& attachment, std::uint64_t capacity,
                           const Geometry& geometry) {
  if (!is_ours_to_reset(platform::mapped_base(attachment), platform::mapped_size(attachment))) {
    platform::keep_object_on_detach(attachment);
    return SHAREDMEM_E_INCOMPATIBLE;
  }

  if (sharedmem_error e = platform::reset_object(attachment, geometry.total_bytes)) return e;
  auto* header = static_cast<Header*>(platform::mapped_base(attachment));
  header->magic.store(kMagicInitialising, std::memory_order_relaxed);
  // A death can strike at any instruction, like a signal: keep the compiler
  // from moving the field stores before the marker.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  header->layout_version = kLayoutVersion;
  platform::fault_point("attach_mid_init");
  header->header_bytes = kHeaderBytes;
  header->capacity = capacity;
  header->slot_stride = geometry.slot_stride;
  header->total_bytes = geometry.total_bytes;
  if (sharedmem_error e = platform::init_writer_lock(attachment, header->writer_lock)) return e;
  header->magic.store(kMagic, std::memory_order_release);
  return SHAREDMEM_OK;
}

// Checks a segment that live peers already use.
sharedmem_error check_existing(const platform::Attachment& attachment, std::uint64_t capacity) {
  const std::size_t size = platform::mapped_size(attachment);
  const void* base = platform::mapped_base(attachment);
  if (!looks_like_ours(base, size)) return SHAREDMEM_E_INCOMPATIBLE;
  const auto* header = static_cast<const Header*>(base);
  if (header->header_bytes != kHeaderBytes) return SHAREDMEM_E_INCOMPATIBLE;
  const Geometry found = geometry_for(header->capacity, UINT64_MAX);
  if (!found.ok || found.slot_stride != header->slot_stride ||
      found.total_bytes != header->total_bytes || found.total_bytes > size)
    return SHAREDMEM_E_INCOMPATIBLE;
  if (header->capacity != capacity) return SHAREDMEM_E_SIZE_MISMATCH;
  return SHAREDMEM_OK;
}

}  // namespace

sharedmem_error validate_name(const char* name) {
  if (name == nullptr) return SHAREDMEM_E_INVALID_ARGUMENT;
  const std::size_t length = std::strlen(name);
  if (length == 0 || length > SHAREDMEM_MAX_NAME_LENGTH || name[0] == '.')
    return SHAREDMEM_E_INVALID_NAME;
  for (std::size_t i = 0; i < length; ++i)
    if (!is_name_char(name[i])) return SHAREDMEM_E_INVALID_NAME;
  return SHAREDMEM_OK;
}

sharedmem_error open_segment(const char* name, std::uint64_t capacity, std::uint32_t flags,
                             sharedmem_segment** out) {
  if (out == nullptr) return SHAREDMEM_E_INVALID_ARGUMENT;
  *out = nullptr;
  if (sharedmem_error e = validate_name(name)) return e;
  if ((flags & ~SHAREDMEM_SCOPE_GLOBAL) != 0) return SHAREDMEM_E_INVALID_ARGUMENT;
  const Geometry geometry = geometry_for(capacity, platform::max_object_size());
  if (!geometry.ok) return SHAREDMEM_E_INVALID_SIZE;

  auto segment = std::unique_ptr<sharedmem_segment>(new (std::nothrow) sharedmem_segment);
  if (!segment) return SHAREDMEM_E_NO_MEMORY;
  platform::OpenResult opened =
      platform::begin_attach(name, static_cast<std::size_t>(geometry.total_bytes), flags);
  if (opened.error) return opened.error;
  platform::Attachment& attachment = *opened.attachment;
  if (opened.first) platform::fault_point("attach_before_init");
  const bool take_over =
      opened.first ||
      is_unfinished(platform::mapped_base(attachment), platform::mapped_size(attachment));
  const sharedmem_error checked = take_over ? initialise(attachment, capacity, geometry)
                                            : check_existing(attachment, capacity);
  if (checked) return checked;  // the attachment's destructor detaches
  platform::end_attach(attachment);

  segment->header = static_cast<Header*>(platform::mapped_base(attachment));
  segment->slot_bytes = static_cast<unsigned char*>(platform::mapped_base(attachment)) + kHeaderBytes;
  segment->capacity = capacity;
  segment->stride = geometry.slot_stride;
  segment->attachment = std::move(opened.attachment);
  *out = segment.release();
  return SHAREDMEM_OK;
}

void close_segment(sharedmem_segment* segment) { delete segment; }

sharedmem_error write_segment(sharedmem_segment* segment, const void* data, std::uint64_t size,
                              CopyIn copy_in) {
  Header& header = *segment->header;
  switch (platform::lock_writer(*segment->attachment, header.writer_lock, kWriterLockTimeout)) {
    case platform::LockResult::kAcquired:
    case platform::LockResult::kOwnerDied:  // its half-written slot is not current
      break;
    case platform::LockResult::kTimeout:
      return SHAREDMEM_E_TIMEOUT;
    case platform::LockResult::kError:
      return SHAREDMEM_E_SYSTEM;
  }
  platform::fault_point("write_locked");
  const std::uint64_t generation = header.generation.load(std::memory_order_relaxed);
  const std::size_t target = (generation + 1) % kSlotCount;
  SlotState& slot = header.slots[target];
  const std::uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  const std::uint64_t begin = seq + 1 + (seq & 1);  // odd, and new even after a dead writer
  slot.seq.store(begin, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);

  unsigned char* destination = segment->slot_bytes + target * segment->stride;
  const std::uint64_t length = copy_in(destination, data, size, segment->capacity);
  // A death here leaves what a death mid-copy leaves: a changed, unpublished slot.
  platform::fault_point("write_mid_copy");
  slot.length.store(length, std::memory_order_relaxed);
  slot.seq.store(begin + 1, std::memory_order_release);
  header.generation.store(generation + 1, std::memory_order_release);
  platform::unlock_writer(*segment->attachment, header.writer_lock);
  return SHAREDMEM_OK;
}

std::uint64_t read_segment(const sharedmem_segment* segment, void* buffer,
                           std::uint64_t buffer_size) {
  const Header& header = *segment->header;
  for (;;) {
    const std::uint64_t generation = header.generation.load(std::memory_order_acquire);
    const std::size_t current = generation % kSlotCount;
    const SlotState& slot = header.slots[current];
    const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
    if (seq & 1) continue;  // lapped by two writers: the other slot is newer
    std::uint64_t length = slot.length.load(std::memory_order_relaxed);
    if (length > segment->capacity) length = segment->capacity;  // torn; seq check retries
    const std::uint64_t copied = length < buffer_size ? length : buffer_size;
    copy_out(buffer, segment->slot_bytes + current * segment->stride, copied);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) == seq) return length;
  }
}

}  // namespace sharedmem::detail

extern "C" {

sharedmem_error SHAREDMEM_CALL sharedmem_open(const char* name, uint64_t capacity, uint32_t flags,
                                              sharedmem_segment** out) {
  try {
    return sharedmem::detail::open_segment(name, capacity, flags, out);
  } catch (const std::bad_alloc&) {
    return SHAREDMEM_E_NO_MEMORY;
  } catch (...) {
    return SHAREDMEM_E_SYSTEM;
  }
}

void SHAREDMEM_CALL sharedmem_close(sharedmem_segment* segment) {
  sharedmem::detail::close_segment(segment);
}

uint64_t SHAREDMEM_CALL sharedmem_capacity(const sharedmem_segment* segment) {
  return segment ? segment->capacity : 0;
}

sharedmem_error SHAREDMEM_CALL sharedmem_write(sharedmem_segment* segment, const void* data,
                                               uint64_t size) {
  if (segment == nullptr || (data == nullptr && size != 0)) return SHAREDMEM_E_INVALID_ARGUMENT;
  if (size > segment->capacity) return SHAREDMEM_E_VALUE_TOO_LARGE;
  return sharedmem::detail::write_segment(segment, data, size, sharedmem::detail::copy_bytes_in);
}

sharedmem_error SHAREDMEM_CALL sharedmem_read(const sharedmem_segment* segment, void* buffer,
                                              uint64_t buffer_size, uint64_t* value_size) {
  if (segment == nullptr || (buffer == nullptr && buffer_size != 0))
    return SHAREDMEM_E_INVALID_ARGUMENT;
  const std::uint64_t size = sharedmem::detail::read_segment(segment, buffer, buffer_size);
  if (value_size) *value_size = size;
  return SHAREDMEM_OK;
}

}  // extern "C"
