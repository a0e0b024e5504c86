// SPDX-License-Identifier: MIT
// Opening and closing segments: the name's validation, the attach sequence
// with the backend (platform.hpp), and the header's initialisation by a
// first user or its check by a later one (layout.hpp).
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <thread>

#include "fault_injection.hpp"
#include "handle.hpp"
#include "layout.hpp"
#include "os_error.hpp"
#include "platform.hpp"
#include "segment.hpp"

namespace sharedmem::detail {
namespace {

// An open's request for either kind (SHAREDMEM_ANY_KIND); never in a header.
constexpr std::uint32_t kKindAny = UINT32_MAX;

// How many times an open goes back to the start because the object it found
// vanished under it (each time, another user left or arrived meanwhile).
constexpr int kAttachAttempts = 100;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

bool header_is_blank(const unsigned char* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

// True when the mapping starts with a finished header of ours (any capacity).
bool looks_like_ours(const void* base, std::size_t size) {
  if (size < sizeof(Header)) return false;
  const auto* header = static_cast<const Header*>(base);
  return header->magic.load(std::memory_order_acquire) == kMagic &&
         header->layout_version == kLayoutVersion;
}

// True when an object nobody lives in may be reset: nothing (a new object),
// a blank or unfinished header (a first user died before finishing: it writes
// the magic last), or a dead segment of ours. Anything else under the name is
// someone else's object and is left alone.
bool is_ours_to_reset(const void* base, std::size_t size) {
  if (size == 0 || looks_like_ours(base, size)) return true;
  if (size >= sizeof(Header) &&
      static_cast<const Header*>(base)->magic.load(std::memory_order_relaxed) ==
          kMagicInitialising)
    return true;
  return header_is_blank(static_cast<const unsigned char*>(base),
                         size < sizeof(Header) ? size : sizeof(Header));
}

// The shape of a `kind` segment of `capacity` bytes here, if it fits `max_total`.
bool shape_for(std::uint32_t kind, std::uint64_t capacity, std::uint64_t max_total,
               Shape& shape) {
  return shape_for(kind, capacity, platform::page_size(), max_total, shape);
}

// Writes a fresh header into an object this process alone uses.
sharedmem_error initialise(platform::Attachment& attachment, const Shape& shape) {
  if (sharedmem_error e =
          platform::initialise_object(attachment, static_cast<std::size_t>(shape.total_bytes)))
    return e;
  auto* header = static_cast<Header*>(platform::core_base(attachment));
  header->magic.store(kMagicInitialising, std::memory_order_relaxed);
  // A death can strike at any instruction, like a signal: keep the compiler
  // from moving the field stores before the marker.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  header->layout_version = kLayoutVersion;
  platform::fault_point("attach_mid_init");
  header->header_bytes = static_cast<std::uint32_t>(shape.header_bytes);
  header->capacity = shape.capacity;
  header->slot_stride = shape.slot_stride;
  header->total_bytes = shape.total_bytes;
  header->kind = shape.kind;
  header->magic.store(kMagic, std::memory_order_release);
  return SHAREDMEM_OK;
}

// Checks a segment that live peers already use and learns its shape. A
// header that does not describe a segment of a kind we know, within the
// object, is incompatible; a sound one of the other kind than `kind` is the
// wrong kind (kKindAny accepts both). `capacity` 0 accepts any capacity
// (SHAREDMEM_OPEN_ONLY).
sharedmem_error check_existing(const platform::Attachment& attachment, std::uint32_t kind,
                               std::uint64_t capacity, Shape& found) {
  const std::size_t size = platform::core_size(attachment);
  const void* base = platform::core_base(attachment);
  const auto* header = static_cast<const Header*>(base);
  if (!looks_like_ours(base, size)) {
    if (size >= sizeof(Header) && header->magic.load(std::memory_order_acquire) == kMagic)
      return platform::record_error_detail(
          SHAREDMEM_E_INCOMPATIBLE, layout_version_problem(header->layout_version).c_str());
    return SHAREDMEM_E_INCOMPATIBLE;
  }
  if (!header_shape_fits(*header, platform::page_size(), size, found))
    return platform::record_error_detail(
        SHAREDMEM_E_INCOMPATIBLE, header_shape_problem(*header, platform::page_size(), size).c_str());
  if (kind != kKindAny && found.kind != kind) return SHAREDMEM_E_WRONG_KIND;
  if (capacity != 0 && found.capacity != capacity) return SHAREDMEM_E_SIZE_MISMATCH;
  return SHAREDMEM_OK;
}

// The error for an object the backend would not join, judged on its facts
// in the order inspection classifies them: whose it is, what it is, who else
// may open it. The user's own object of another type (or one whose owner
// the OS would not tell: Windows, for a name taken by another type of
// kernel object) in a private namespace is INCOMPATIBLE: the user put
// something else there. Anything else is NOT_OWNER: another user's object,
// one open to others, and in a shared namespace, whatever is not exactly
// what the access list says.
sharedmem_error refusal_for(const platform::ObjectFacts& facts, bool shared) {
  const bool users_own = facts.owned_by_user || facts.owner.empty();
  const sharedmem_error refusal = users_own && !facts.shared_memory && !shared
                                      ? SHAREDMEM_E_INCOMPATIBLE
                                      : SHAREDMEM_E_NOT_OWNER;
  if (facts.mismatch.empty()) return refusal;
  return platform::record_error_detail(refusal, facts.mismatch.c_str());
}

// Attaches for `request`, going back to the start (a bounded number of
// times) when the object found vanished under it: each time, another user
// left or arrived meanwhile.
platform::AttachResult attach(const platform::AttachRequest& request) {
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    platform::AttachResult result = platform::begin_attach(request);
    if (result.status != platform::AttachStatus::kVanished) return result;
  }
  platform::AttachResult gave_up;
  gave_up.error = SHAREDMEM_E_SYSTEM;
  return gave_up;
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

sharedmem_error namespace_of(std::uint32_t flags, bool shared, platform::Namespace& space) {
  const bool global = (flags & SHAREDMEM_SCOPE_GLOBAL) != 0;
  if (global && !platform::kCapabilities.global_scope) return SHAREDMEM_E_UNSUPPORTED;
  using platform::Namespace;
  space = global ? (shared ? Namespace::kGlobalShared : Namespace::kGlobalPrivate)
                 : (shared ? Namespace::kShared : Namespace::kPrivate);
  return SHAREDMEM_OK;
}

sharedmem_error open_segment(const char* name, std::uint64_t capacity, std::uint32_t flags,
                             const platform::AccessList* access, sharedmem_segment** out) {
  if (out == nullptr) return SHAREDMEM_E_INVALID_ARGUMENT;
  *out = nullptr;
  if (sharedmem_error e = validate_name(name)) return e;
  constexpr std::uint32_t kModes = SHAREDMEM_CREATE_ONLY | SHAREDMEM_OPEN_ONLY;
  constexpr std::uint32_t kKinds = SHAREDMEM_RAW | SHAREDMEM_ANY_KIND;
  const bool read_only = (flags & SHAREDMEM_READ_ONLY) != 0;
  // A read-only opener never creates: it opens what live users hold.
  if (read_only && (flags & SHAREDMEM_CREATE_ONLY) != 0) return SHAREDMEM_E_INVALID_ARGUMENT;
  if (read_only) flags |= SHAREDMEM_OPEN_ONLY;
  const bool create_only = (flags & SHAREDMEM_CREATE_ONLY) != 0;
  const bool open_only = (flags & SHAREDMEM_OPEN_ONLY) != 0;
  const bool any_kind = (flags & SHAREDMEM_ANY_KIND) != 0;
  if ((flags & ~(SHAREDMEM_SCOPE_GLOBAL | SHAREDMEM_READ_ONLY | kKinds | kModes)) != 0 ||
      (flags & kModes) == kModes || (flags & kKinds) == kKinds || (any_kind && !open_only))
    return SHAREDMEM_E_INVALID_ARGUMENT;
  const std::uint32_t kind =
      any_kind ? kKindAny : (flags & SHAREDMEM_RAW) != 0 ? kKindRaw : kKindValue;
  // Capacity 0 with OPEN_ONLY: the shape comes from the segment found. A
  // capacity given with ANY_KIND must fit the smaller kind (raw), and the
  // segment found is checked against it.
  const bool any_capacity = open_only && capacity == 0;
  Shape shape;
  if (!any_capacity &&
      !shape_for(any_kind ? kKindRaw : kind, capacity, platform::max_object_size(), shape))
    return SHAREDMEM_E_INVALID_SIZE;

  // Counted in flight before the look at the flag, as the exit detach sets
  // the flag before it looks at the count: one of them sees the other.
  const InFlight in_flight;
  if (g_exit_detach_begun.load()) return SHAREDMEM_E_NOT_ATTACHED;
  auto segment = std::unique_ptr<sharedmem_segment>(new (std::nothrow) sharedmem_segment);
  if (!segment) return SHAREDMEM_E_NO_MEMORY;
  platform::AttachRequest request;
  request.name = name;
  if (sharedmem_error e = namespace_of(flags, access != nullptr, request.space)) return e;
  request.access = access;
  request.read_only = read_only;
  request.may_create = !open_only;
  // An open that only looks for a live segment reclaims dead objects first:
  // one of them may stand under its very name.
  if (open_only) (void)reclaim_dead_objects(request.space, Reclaim::kRateLimited, nullptr);
  platform::AttachResult attached;
  bool reclaimed = false;  // every dead object was reclaimed for want of memory
  for (int attempt = 0;; ++attempt) {
    attached = attach(request);
    if (attached.status == platform::AttachStatus::kAbsent) return SHAREDMEM_E_NOT_FOUND;
    if (attached.status == platform::AttachStatus::kNotJoinable)
      return refusal_for(attached.facts, platform::is_shared(request.space));
    if (attached.status != platform::AttachStatus::kAttached) return attached.error;
    platform::Attachment& found = *attached.attachment;
    if (!attached.must_initialise) {
      if (create_only) return SHAREDMEM_E_EXISTS;
      if (sharedmem_error e = check_existing(found, kind, capacity, shape)) return e;
      break;
    }
    // must_initialise says no live user completed an attach: the segment is
    // new or dead, which both open modes count as absent. A refused
    // attachment is detached uninitialised, and the backend leaves it as it
    // was (or, empty, removes it). Something nobody lives in that is not a
    // segment of ours is foreign, whatever the open mode: refused as such,
    // and left as it was.
    const std::size_t found_bytes = platform::core_size(found);
    if (!is_ours_to_reset(platform::core_base(found), found_bytes))
      return SHAREDMEM_E_INCOMPATIBLE;
    if (open_only) return SHAREDMEM_E_NOT_FOUND;
    // What the segment adds to the object found (whose own pages are freed
    // first) must be backed before anything is committed. Short of it, the
    // object is let go (and its gate, so that no sweep runs under it), every
    // dead object reclaimed, and the name looked at once more.
    if (found_bytes < shape.total_bytes && !platform::can_back(shape.total_bytes - found_bytes)) {
      if (reclaimed) return SHAREDMEM_E_NO_MEMORY;
      attached.attachment.reset();
      (void)reclaim_dead_objects(request.space, Reclaim::kNow, nullptr);
      reclaimed = true;
      continue;
    }
    platform::fault_point("attach_before_init");
    const sharedmem_error e = initialise(found, shape);
    // A process outside the protocol made an object under the name meanwhile
    // (platform.hpp): look again, and judge that one.
    if (e == SHAREDMEM_E_EXISTS && attempt < kAttachAttempts) {
      attached.attachment.reset();
      continue;
    }
    if (e != SHAREDMEM_OK) return e;
    break;
  }
  platform::Attachment& attachment = *attached.attachment;
  if (sharedmem_error e = platform::end_attach(
          attachment, static_cast<const Header*>(platform::core_base(attachment))->change_word))
    return e;
  // This open made the segment or found a dead object under its name: dead
  // objects may lie beside it. (After end_attach: no sweep runs under a gate
  // of ours.)
  if (attached.must_initialise)
    (void)reclaim_dead_objects(request.space, Reclaim::kRateLimited, nullptr);

  auto* const base = static_cast<unsigned char*>(platform::core_base(attachment));
  segment->header = reinterpret_cast<Header*>(base);
  segment->capacity = shape.capacity;
  segment->raw = shape.kind == kKindRaw;
  if (segment->raw) {
    segment->data = base + shape.header_bytes;
  } else {
    segment->slot_bytes = base + kHeaderBytes;
    segment->stride = shape.slot_stride;
  }
  segment->created = attached.must_initialise;
  segment->read_only = read_only;
  const sharedmem_error read_only_refusal = read_only ? SHAREDMEM_E_READ_ONLY : SHAREDMEM_OK;
  segment->value_write_refusal = segment->raw ? SHAREDMEM_E_WRONG_KIND : read_only_refusal;
  segment->raw_write_refusal = segment->raw ? read_only_refusal : SHAREDMEM_E_WRONG_KIND;
  segment->attachment = std::move(attached.attachment);
  remember(segment.get());
  *out = segment.release();
  return SHAREDMEM_OK;
}

sharedmem_error close_segment(sharedmem_segment* segment) {
  if (segment == nullptr) return SHAREDMEM_OK;
  sharedmem_error result = SHAREDMEM_OK;
  const InFlight in_flight;  // before forget: the exit detach waits for this detach
  if (forget(segment)) {
    // This thread's in-place write is given up, and a raw segment's lock
    // taken through this handle released if this thread holds it. Another
    // thread's (a misuse: the handle is in use) cannot be released from
    // here: the pages stay mapped, so that the lock's robust bookkeeping in
    // that thread still points at memory, and that thread's end still frees
    // the lock.
    abandon_in_place_write(*segment);
    platform::Mapping mapping = segment->in_place_thread.load() != 0 ? platform::Mapping::kKeep
                                                                     : platform::Mapping::kUnmap;
    const std::thread::id holder = segment->lock_holder.exchange(std::thread::id());
    if (holder == std::this_thread::get_id())
      (void)platform::unlock_writer(*segment->attachment);
    else if (holder != std::thread::id())
      mapping = platform::Mapping::kKeep;
    result = platform::detach(*segment->attachment, mapping);
    delete segment;
  }
  // Otherwise the exit detach took it and threads may still use its pages.
  return result;
}

}  // namespace sharedmem::detail
