// SPDX-License-Identifier: MIT
// Inspection (sharedmem_inspect, sharedmem_list): the backend gathers facts
// about the OS object under a name and hands over its bytes read-only; this
// file judges them with the layout (layout.hpp), the way an open would,
// without ever becoming a user of the segment.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "layout.hpp"
#include "os_error.hpp"
#include "platform.hpp"
#include "segment.hpp"

namespace sharedmem::detail {
namespace {

// The first version of sharedmem_info (1.0's) ends with `permissions`:
// callers must offer at least that much.
constexpr std::size_t kInfoMinimumSize =
    offsetof(sharedmem_info, permissions) + sizeof(sharedmem_info::permissions);

// How many times a snapshot of (version, value size) is read again when a
// writer moved the header between two reads.
constexpr int kSnapshotAttempts = 64;

// Copies as much of `text` as fits, terminated; true if it was cut.
bool copy_text(char* destination, std::size_t room, const std::string& text) {
  const std::size_t length = std::min(text.size(), room - 1);
  std::memcpy(destination, text.data(), length);
  destination[length] = '\0';
  return length < text.size();
}

// A copy of the header as the object holds it now, aligned for Header.
struct HeaderCopy {
  alignas(Header) unsigned char bytes[sizeof(Header)] = {};
  std::size_t read = 0;  // how many bytes the object gave (fewer: it is shorter)

  const Header& header() const { return *reinterpret_cast<const Header*>(bytes); }
  bool complete() const { return read == sizeof(Header); }
  bool blank() const {
    return std::all_of(bytes, bytes + read, [](unsigned char b) { return b == 0; });
  }
  std::uint64_t magic() const { return header().magic.load(std::memory_order_relaxed); }
};

bool read_header(platform::Inspection& inspection, HeaderCopy& copy) {
  copy.read = platform::read_object(inspection, 0, copy.bytes, sizeof copy.bytes);
  return copy.read > 0;
}


// The kind of a finished header of this layout version.
sharedmem_kind kind_of(const Header& header) {
  switch (header.kind) {
    case kKindValue:
      return SHAREDMEM_KIND_VALUE;
    case kKindRaw:
      return SHAREDMEM_KIND_RAW;
    default:
      return SHAREDMEM_KIND_UNKNOWN;
  }
}

// Reads the version and the current value's size as one snapshot: the
// generation, the current slot's length with an even sequence number, and
// the same generation and sequence number again in a second read.
void snapshot_value(platform::Inspection& inspection, HeaderCopy& first, sharedmem_info& info) {
  for (int attempt = 0;; ++attempt) {
    const Header& a = first.header();
    const std::uint64_t generation = a.generation.load(std::memory_order_relaxed);
    const SlotState& slot = a.slots[generation % kSlotCount];
    const std::uint64_t seq = slot.seq.load(std::memory_order_relaxed);
    const std::uint64_t length = slot.length.load(std::memory_order_relaxed);
    info.version = generation;
    info.value_size = std::min<std::uint64_t>(length, a.capacity);
    if (attempt == kSnapshotAttempts) return;  // a writer that never pauses: the last look
    HeaderCopy second;
    if (!read_header(inspection, second) || !second.complete()) return;
    const Header& b = second.header();
    if ((seq & 1) == 0 && b.generation.load(std::memory_order_relaxed) == generation &&
        b.slots[generation % kSlotCount].seq.load(std::memory_order_relaxed) == seq)
      return;
    first = second;
  }
}

// Judges the object the backend found and fills `info` (its name and OS
// name are set already).
void classify(const platform::InspectResult& found, sharedmem_info& info) {
  const platform::ObjectFacts& facts = found.facts;
  info.object_size = facts.size;
  info.mode = facts.mode;
  info.holders =
      platform::kCapabilities.countable_holders ? facts.holders : SHAREDMEM_HOLDERS_UNKNOWN;
  if (copy_text(info.owner, sizeof info.owner, facts.owner))
    info.truncated |= SHAREDMEM_INFO_OWNER_TRUNCATED;
  if (copy_text(info.permissions, sizeof info.permissions, facts.permissions))
    info.truncated |= SHAREDMEM_INFO_PERMISSIONS_TRUNCATED;
  // The order of an open's own checks: owner, type, then who else may open it.
  if (!facts.owned_by_user) {
    info.object_class = SHAREDMEM_OBJECT_NOT_OWNER;
    return;
  }
  if (!facts.shared_memory) {
    info.object_class = SHAREDMEM_OBJECT_FOREIGN;
    return;
  }
  if (!facts.private_to_user || !found.inspection) {  // unreadable: an open is refused too
    info.object_class = SHAREDMEM_OBJECT_NOT_OWNER;
    return;
  }
  platform::Inspection& inspection = *found.inspection;
  HeaderCopy copy;
  const bool empty = facts.size == 0 || !read_header(inspection, copy);
  bool finished = false;
  if (!empty && copy.complete() && copy.magic() == kMagic) {
    info.layout_version = copy.header().layout_version;
    const std::string problem =
        info.layout_version != kLayoutVersion
            ? layout_version_problem(info.layout_version)
            : header_shape_problem(copy.header(), platform::page_size(), facts.size);
    if (!problem.empty()) {
      info.object_class = SHAREDMEM_OBJECT_INCOMPATIBLE;
      (void)platform::record_error_detail(SHAREDMEM_E_INCOMPATIBLE, problem.c_str());
      return;
    }
    finished = true;
  } else if (!empty && !(copy.complete() && copy.magic() == kMagicInitialising) &&
             !copy.blank()) {
    info.object_class = SHAREDMEM_OBJECT_FOREIGN;
    return;
  }
  // Ours: finished, or empty, blank or marked as being initialised (what an
  // open would reset if nobody lived in it).
  if (finished) {
    info.kind = kind_of(copy.header());
    info.capacity = copy.header().capacity;
    snapshot_value(inspection, copy, info);
  } else if (!empty && copy.complete()) {
    info.layout_version = copy.header().layout_version;
  }
  if (facts.liveness == platform::Liveness::kNone)
    info.object_class = SHAREDMEM_OBJECT_DEAD;
  else
    info.object_class = finished ? SHAREDMEM_OBJECT_SEGMENT : SHAREDMEM_OBJECT_UNFINISHED;
}

// Inspects validated `name` into `info` (struct_size set, the rest zero).
sharedmem_error inspect_one(const std::string& name, platform::Namespace space,
                            sharedmem_info& info) {
  platform::InspectResult found = platform::inspect_object(name, space);
  (void)copy_text(info.name, sizeof info.name, name);  // validated: it fits
  if (copy_text(info.os_name, sizeof info.os_name, found.facts.os_name))
    info.truncated |= SHAREDMEM_INFO_OS_NAME_TRUNCATED;
  switch (found.status) {
    case platform::InspectStatus::kAbsent:
      return SHAREDMEM_E_NOT_FOUND;
    case platform::InspectStatus::kFailed:
      return found.error != SHAREDMEM_OK ? found.error : SHAREDMEM_E_SYSTEM;
    case platform::InspectStatus::kFound:
      break;
  }
  classify(found, info);
  return SHAREDMEM_OK;
}

// The namespace sharedmem_inspect's and sharedmem_list's `flags` name.
sharedmem_error check_flags(std::uint32_t flags, platform::Namespace& space) {
  if ((flags & ~(SHAREDMEM_SCOPE_GLOBAL | SHAREDMEM_SHARED)) != 0)
    return SHAREDMEM_E_INVALID_ARGUMENT;
  return namespace_of(flags, (flags & SHAREDMEM_SHARED) != 0, space);
}

}  // namespace

sharedmem_error inspect_segment(const char* name, std::uint32_t flags, sharedmem_info* out) {
  platform::clear_error_detail();
  if (out == nullptr || out->struct_size < kInfoMinimumSize) return SHAREDMEM_E_INVALID_ARGUMENT;
  platform::Namespace space;
  if (sharedmem_error e = check_flags(flags, space)) return e;
  if (sharedmem_error e = validate_name(name)) return e;
  sharedmem_info info{};
  info.struct_size = out->struct_size;
  const sharedmem_error e = inspect_one(name, space, info);
  // Only what the caller's struct has room for; its struct_size stays.
  std::memcpy(reinterpret_cast<unsigned char*>(out) + sizeof info.struct_size,
              reinterpret_cast<const unsigned char*>(&info) + sizeof info.struct_size,
              std::min<std::size_t>(out->struct_size, sizeof info) - sizeof info.struct_size);
  return e;
}

sharedmem_error list_segments(std::uint32_t flags, sharedmem_list_callback callback,
                              void* context) {
  if (callback == nullptr) return SHAREDMEM_E_INVALID_ARGUMENT;
  platform::Namespace space;
  if (sharedmem_error e = check_flags(flags, space)) return e;
  return platform::list_objects(space, [&](const std::string& name) {
    if (validate_name(name.c_str()) != SHAREDMEM_OK) return true;
    sharedmem_info info{};
    info.struct_size = sizeof info;
    // Gone meanwhile, or unreadable for a reason of its own: not listed.
    if (inspect_one(name, space, info) != SHAREDMEM_OK) return true;
    return callback(&info, context) == 0;
  });
}

}  // namespace sharedmem::detail
