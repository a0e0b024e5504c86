// SPDX-License-Identifier: MIT
// The extern "C" entry points of sharedmem.h: each checks its arguments
// once, here, then calls the core (segment.hpp), which checks nothing again.
// A failure ends with finish_call (the OS error behind it, for
// sharedmem_last_system_error); the hot paths (reads, writes, the raw lock)
// touch no thread-local state on a success and record their own failures
// out of line, so that their entry points are a few checks and a jump.
#include <cstddef>
#include <new>
#include <string>
#include <vector>

#include "handle.hpp"
#include "layout.hpp"
#include "os_error.hpp"
#include "platform.hpp"
#include "raw_lock.hpp"
#include "segment.hpp"
#include "value.hpp"

namespace {

// Runs `call` (the body of an entry point that may allocate) and hands its
// error to finish_call; no exception leaves the library: an allocation
// that failed is NO_MEMORY, anything else SYSTEM.
template <typename Call>
sharedmem_error without_exceptions(Call call) noexcept {
  try {
    return sharedmem::detail::finish_call(call());
  } catch (const std::bad_alloc&) {
    return sharedmem::detail::finish_call(SHAREDMEM_E_NO_MEMORY);
  } catch (...) {
    return sharedmem::detail::finish_call(SHAREDMEM_E_SYSTEM);
  }
}

}  // namespace

extern "C" {

using sharedmem::detail::finish_call;

sharedmem_error SHAREDMEM_CALL sharedmem_open(const char* name, uint64_t capacity, uint32_t flags,
                                              sharedmem_segment** out) {
  sharedmem::platform::clear_error_detail();
  return without_exceptions(
      [&] { return sharedmem::detail::open_segment(name, capacity, flags, nullptr, out); });
}

namespace {

// Copies a NULL-terminated list of principals (a null list is empty).
std::vector<std::string> principals(const char* const* list) {
  std::vector<std::string> out;
  for (; list != nullptr && *list != nullptr; ++list) out.emplace_back(*list);
  return out;
}

}  // namespace

sharedmem_error SHAREDMEM_CALL sharedmem_open_shared(const char* name, uint64_t capacity,
                                                     uint32_t flags,
                                                     const sharedmem_access* access,
                                                     sharedmem_segment** out) {
  sharedmem::platform::clear_error_detail();
  if (out != nullptr) *out = nullptr;
  // The first version of the struct ends with `creators`.
  constexpr std::size_t kAccessV1 = offsetof(sharedmem_access, creators) + sizeof(const char*);
  if (access == nullptr || access->struct_size < kAccessV1 ||
      (access->flags & ~SHAREDMEM_ACCESS_LOW_INTEGRITY) != 0)
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  return without_exceptions([&] {
    sharedmem::platform::AccessList list;
    list.read_write = principals(access->read_write);
    list.read_only = principals(access->read_only);
    list.creators = principals(access->creators);
    // Where objects carry no integrity label (Linux) the flag means nothing:
    // ignored, as the header says.
    list.low_integrity = sharedmem::platform::kCapabilities.integrity_labels &&
                         (access->flags & SHAREDMEM_ACCESS_LOW_INTEGRITY) != 0;
    return sharedmem::detail::open_segment(name, capacity, flags, &list, out);
  });
}

const char* SHAREDMEM_CALL sharedmem_last_error_detail(void) {
  return sharedmem::platform::error_detail();
}

void SHAREDMEM_CALL sharedmem_close(sharedmem_segment* segment) {
  // Errors of a close are not reported: what the backend noted is dropped.
  (void)finish_call(SHAREDMEM_OK);
  (void)sharedmem::detail::close_segment(segment);
  (void)finish_call(SHAREDMEM_OK);
}

int SHAREDMEM_CALL sharedmem_last_system_error(void) {
  return sharedmem::detail::last_system_error();
}

int SHAREDMEM_CALL sharedmem_created(const sharedmem_segment* segment) {
  return segment != nullptr && segment->created ? 1 : 0;
}

sharedmem_kind SHAREDMEM_CALL sharedmem_segment_kind(const sharedmem_segment* segment) {
  if (segment == nullptr) return SHAREDMEM_KIND_UNKNOWN;
  return segment->raw ? SHAREDMEM_KIND_RAW : SHAREDMEM_KIND_VALUE;
}

uint64_t SHAREDMEM_CALL sharedmem_capacity(const sharedmem_segment* segment) {
  return segment ? segment->capacity : 0;
}

sharedmem_error SHAREDMEM_CALL sharedmem_write(sharedmem_segment* segment, const void* data,
                                               uint64_t size) {
  if (segment == nullptr || (data == nullptr && size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->value_write_refusal) return finish_call(segment->value_write_refusal);
  if (size > segment->capacity) return finish_call(SHAREDMEM_E_VALUE_TOO_LARGE);
  return sharedmem::detail::write_value(*segment, data, size, nullptr, nullptr);
}

sharedmem_error SHAREDMEM_CALL sharedmem_write_if(sharedmem_segment* segment, const void* data,
                                                  uint64_t size, uint64_t expected_version,
                                                  uint64_t* new_version) {
  if (segment == nullptr || (data == nullptr && size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  const sharedmem_error refusal =
      segment->value_write_refusal ? segment->value_write_refusal
      : size > segment->capacity   ? SHAREDMEM_E_VALUE_TOO_LARGE
                                   : SHAREDMEM_OK;
  if (refusal) {
    if (new_version) *new_version = sharedmem_version(segment);
    return finish_call(refusal);
  }
  return sharedmem::detail::write_value(*segment, data, size, &expected_version, new_version);
}

sharedmem_error SHAREDMEM_CALL sharedmem_write_begin(sharedmem_segment* segment, uint64_t size,
                                                     void** data) {
  if (data != nullptr) *data = nullptr;
  if (segment == nullptr || data == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->value_write_refusal) return finish_call(segment->value_write_refusal);
  if (size > segment->capacity) return finish_call(SHAREDMEM_E_VALUE_TOO_LARGE);
  return finish_call(sharedmem::detail::begin_write(segment, size, data));
}

sharedmem_error SHAREDMEM_CALL sharedmem_write_commit(sharedmem_segment* segment,
                                                      uint64_t* new_version) {
  if (segment == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  std::uint64_t version = 0;
  const sharedmem_error e = sharedmem::detail::commit_write(segment, &version);
  if (new_version) *new_version = e == SHAREDMEM_OK ? version : sharedmem_version(segment);
  return e == SHAREDMEM_OK ? e : finish_call(e);
}

void SHAREDMEM_CALL sharedmem_write_abort(sharedmem_segment* segment) {
  if (segment != nullptr && !segment->raw) sharedmem::detail::abort_write(segment);
  (void)finish_call(SHAREDMEM_OK);
}

sharedmem_error SHAREDMEM_CALL sharedmem_read(const sharedmem_segment* segment, void* buffer,
                                              uint64_t buffer_size, uint64_t* value_size) {
  if (segment == nullptr || (buffer == nullptr && buffer_size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  return sharedmem::detail::read_value(*segment, buffer, buffer_size, value_size, nullptr);
}

sharedmem_error SHAREDMEM_CALL sharedmem_read_versioned(const sharedmem_segment* segment,
                                                        void* buffer, uint64_t buffer_size,
                                                        uint64_t* value_size, uint64_t* version) {
  if (segment == nullptr || (buffer == nullptr && buffer_size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  return sharedmem::detail::read_value(*segment, buffer, buffer_size, value_size, version);
}

sharedmem_error SHAREDMEM_CALL sharedmem_wait(const sharedmem_segment* segment,
                                              uint64_t seen_version, uint32_t timeout_ms,
                                              uint64_t* version) {
  if (segment == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  std::uint64_t found = 0;
  const sharedmem_error e =
      sharedmem::detail::wait_segment(segment, seen_version, timeout_ms, &found);
  if (version) *version = found;
  return finish_call(e);
}

sharedmem_error SHAREDMEM_CALL sharedmem_check(const sharedmem_segment* segment) {
  if (segment == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  return finish_call(sharedmem::detail::check_segment(segment));
}

sharedmem_error SHAREDMEM_CALL sharedmem_prune(uint32_t flags, uint32_t* removed) {
  if (removed != nullptr) *removed = 0;
  if ((flags & ~(SHAREDMEM_SCOPE_GLOBAL | SHAREDMEM_SHARED)) != 0)
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  sharedmem::platform::Namespace space;
  if (sharedmem_error e =
          sharedmem::detail::namespace_of(flags, (flags & SHAREDMEM_SHARED) != 0, space))
    return finish_call(e);
  return finish_call(
      sharedmem::detail::reclaim_dead_objects(space, sharedmem::detail::Reclaim::kNow, removed));
}

uint64_t SHAREDMEM_CALL sharedmem_version(const sharedmem_segment* segment) {
  return segment ? segment->header->generation.load(std::memory_order_acquire) : 0;
}

void* SHAREDMEM_CALL sharedmem_data(sharedmem_segment* segment) {
  return segment != nullptr && segment->raw ? segment->data : nullptr;
}

sharedmem_error SHAREDMEM_CALL sharedmem_lock(sharedmem_segment* segment, uint32_t timeout_ms) {
  if (segment == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw_write_refusal) return finish_call(segment->raw_write_refusal);
  // A success skips finish_call's thread-local access (segment.hpp).
  const sharedmem_error e = sharedmem::detail::lock_segment(segment, timeout_ms);
  return e == SHAREDMEM_OK ? e : finish_call(e);
}

sharedmem_error SHAREDMEM_CALL sharedmem_unlock(sharedmem_segment* segment) {
  if (segment == nullptr) return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (!segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  const sharedmem_error e = sharedmem::detail::unlock_segment(segment);
  return e == SHAREDMEM_OK ? e : finish_call(e);  // as in sharedmem_lock
}

sharedmem_error SHAREDMEM_CALL sharedmem_notify(sharedmem_segment* segment,
                                                uint64_t* new_version) {
  if (segment == nullptr || segment->raw_write_refusal) {
    if (new_version) *new_version = sharedmem_version(segment);
    return finish_call(segment == nullptr ? SHAREDMEM_E_INVALID_ARGUMENT
                                          : segment->raw_write_refusal);
  }
  const std::uint64_t version = sharedmem::detail::notify_segment(segment);
  if (new_version) *new_version = version;
  return finish_call(SHAREDMEM_OK);
}

sharedmem_error SHAREDMEM_CALL sharedmem_inspect(const char* name, uint32_t flags,
                                                 sharedmem_info* info) {
  return without_exceptions(
      [&] { return sharedmem::detail::inspect_segment(name, flags, info); });
}

sharedmem_error SHAREDMEM_CALL sharedmem_list(uint32_t flags, sharedmem_list_callback callback,
                                              void* context) {
  return without_exceptions(
      [&] { return sharedmem::detail::list_segments(flags, callback, context); });
}

}  // extern "C"
