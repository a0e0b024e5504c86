// SPDX-License-Identifier: MIT
// The in-memory layout of a segment, shared by every process that maps it.
//
//   [0, kHeaderBytes)                      Header (bookkeeping, never payload)
//   [kHeaderBytes, +slot_stride)           slot 0: value bytes
//   [kHeaderBytes + slot_stride, +stride)  slot 1: value bytes
//
// Consistency protocol (a double-buffered seqlock):
// - Writers are serialised by the robust writer lock. A writer fills the slot
//   that is NOT current: it makes the slot's seq odd, copies the bytes and the
//   length, makes seq even again (release), then advances `generation`
//   (release), which makes that slot current.
// - A reader loads generation (acquire), picks slot generation % kSlotCount,
//   reads seq, copies, and accepts the copy only if seq was even and
//   unchanged. It never blocks: seq can only be odd or change if writers
//   completed at least one flip meanwhile, so a retry always finds a newer
//   complete value (lock-free; not wait-free under a writer that never stops).
// - `generation` is the segment's public version (sharedmem_version): 0 at
//   creation, one more per completed write. A versioned read also checks,
//   after the copy, that generation has not passed g + 1, so that the slot
//   it copied still holds write g's value, not write g + 2's.
// - A writer killed mid-copy leaves only the non-current slot odd. Readers do
//   not look at it; the next writer (who gets the lock as "owner died")
//   overwrites it.
// - An in-place write (sharedmem_write_begin/_commit) is the same write split
//   in two: begin takes the lock and makes the slot's seq odd, the caller
//   fills the slot's bytes, commit stores the length, makes seq even and
//   advances generation. An abort (or a close) only releases the lock and
//   leaves the slot odd, exactly what a writer killed mid-copy leaves.
//
// A raw segment (SHAREDMEM_RAW, kind kKindRaw) has the same header and no
// slots: its data starts at header_bytes, the header page(s) rounded up to
// the page size so that the data is page-aligned, and holds exactly
// `capacity` bytes (total_bytes rounds it up to kSlotAlignment, which keeps
// whatever a backend puts after the core aligned). slot_stride is 0.
// `generation` is advanced by sharedmem_notify; the backend's writer lock is
// the user's lock (sharedmem_lock), held across calls.
#ifndef SHAREDMEM_SRC_LAYOUT_HPP
#define SHAREDMEM_SRC_LAYOUT_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>


namespace sharedmem::detail {

// Written last, with release order, by the first user: a header without it
// was never finished (its initialiser died) or is not ours.
inline constexpr std::uint64_t kMagic = 0x5345'474d'4d48'5353ull;  // "SSHMMGES"
// Written first by the first user, so that a leftover of an initialiser that
// died is recognisably ours to reset. It gives no right to take a segment
// over: only a user the backend proves alone resets anything.
inline constexpr std::uint64_t kMagicInitialising = 0x5449'4e49'4d48'5353ull;  // "SSHMINIT"
// 2: the writer lock moved out of the header, into the backend's keeping.
// 3: the change word and waiter count of sharedmem_wait. (The kind field came
// later in bytes that version 3 always left zero, which read as kKindValue:
// value segments are unchanged, and a library that knows no kind refuses a
// raw segment by its geometry, slot_stride 0.)
inline constexpr std::uint32_t kLayoutVersion = 3;
inline constexpr std::size_t kHeaderBytes = 4096;
inline constexpr std::size_t kSlotAlignment = 64;
inline constexpr std::size_t kSlotCount = 2;

// Header::kind.
inline constexpr std::uint32_t kKindValue = 0;
inline constexpr std::uint32_t kKindRaw = 1;

static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "the protocol needs lock-free 64-bit atomics in shared memory");

struct alignas(64) SlotState {
  std::atomic<std::uint64_t> seq;     // odd while a writer fills the slot
  std::atomic<std::uint64_t> length;  // value size in bytes
};

struct Header {
  std::atomic<std::uint64_t> magic;  // kMagicInitialising first, kMagic last
  std::uint32_t layout_version;
  std::uint32_t header_bytes;
  std::uint64_t capacity;
  std::uint64_t slot_stride;
  std::uint64_t total_bytes;
  std::uint32_t kind;  // kKindValue or kKindRaw, never changed after initialisation
  alignas(64) std::atomic<std::uint64_t> generation;
  SlotState slots[kSlotCount];
  // sharedmem_wait: a writer that finds waiters != 0 after publishing a
  // generation changes change_word and wakes everyone waiting on it
  // (platform::wake_all). A waiter counts itself in, reads change_word, then
  // re-checks the generation, and sleeps only while change_word still holds
  // what it read: a write after its re-check changes the word after it, so
  // no wake-up is lost. A waiter killed while counted leaves waiters too
  // high, which only costs later writers a needless wake call.
  alignas(64) std::atomic<std::uint32_t> change_word;
  std::atomic<std::uint32_t> waiters;
};
static_assert(sizeof(Header) <= kHeaderBytes);
static_assert(offsetof(Header, kind) < offsetof(Header, generation),
              "kind lives in the bytes before generation that version 3 left zero");

// Geometry for a capacity; valid only when ok is true (no overflow and
// within the platform's bound).
struct Geometry {
  bool ok = false;
  std::uint64_t slot_stride = 0;
  std::uint64_t total_bytes = 0;
};

constexpr Geometry geometry_for(std::uint64_t capacity, std::uint64_t max_total) {
  Geometry g;
  if (capacity == 0 || capacity > (UINT64_MAX - kHeaderBytes) / kSlotCount - kSlotAlignment)
    return g;
  g.slot_stride = (capacity + kSlotAlignment - 1) / kSlotAlignment * kSlotAlignment;
  g.total_bytes = kHeaderBytes + kSlotCount * g.slot_stride;
  g.ok = g.total_bytes <= max_total && g.total_bytes <= SIZE_MAX;
  return g;
}

// Geometry of a raw segment: the data at `data_offset` (the header rounded up
// to whole pages of `page_size`, a power of two), `capacity` bytes of it.
struct RawGeometry {
  bool ok = false;
  std::uint64_t data_offset = 0;
  std::uint64_t total_bytes = 0;
};

constexpr RawGeometry raw_geometry_for(std::uint64_t capacity, std::uint64_t page_size,
                                       std::uint64_t max_total) {
  RawGeometry g;
  if (page_size == 0 || (page_size & (page_size - 1)) != 0 || page_size > (1ull << 30)) return g;
  g.data_offset = (kHeaderBytes + page_size - 1) / page_size * page_size;
  if (capacity == 0 || capacity > UINT64_MAX - g.data_offset - kSlotAlignment) return g;
  g.total_bytes =
      g.data_offset + (capacity + kSlotAlignment - 1) / kSlotAlignment * kSlotAlignment;
  g.ok = g.total_bytes <= max_total && g.total_bytes <= SIZE_MAX;
  return g;
}

// What a segment's header says about its shape: its kind and geometry.
struct Shape {
  std::uint32_t kind = kKindValue;
  std::uint64_t capacity = 0;
  std::uint64_t header_bytes = kHeaderBytes;  // where the payload starts
  std::uint64_t slot_stride = 0;              // 0 for a raw segment
  std::uint64_t total_bytes = 0;
};

// The shape of a `kind` segment of `capacity` bytes on a system of
// `page_size`, if it fits `max_total`.
constexpr bool shape_for(std::uint32_t kind, std::uint64_t capacity, std::uint64_t page_size,
                         std::uint64_t max_total, Shape& shape) {
  shape.kind = kind;
  shape.capacity = capacity;
  if (kind == kKindRaw) {
    const RawGeometry raw = raw_geometry_for(capacity, page_size, max_total);
    shape.header_bytes = raw.data_offset;
    shape.slot_stride = 0;
    shape.total_bytes = raw.total_bytes;
    return raw.ok;
  }
  if (kind != kKindValue) return false;
  const Geometry geometry = geometry_for(capacity, max_total);
  shape.header_bytes = kHeaderBytes;
  shape.slot_stride = geometry.slot_stride;
  shape.total_bytes = geometry.total_bytes;
  return geometry.ok;
}

// True when finished `header` describes the shape of its kind and capacity,
// within an object of `object_size` bytes: what an open checks before it
// joins, and what inspection checks before it reports a segment.
inline bool header_shape_fits(const Header& header, std::uint64_t page_size,
                              std::uint64_t object_size, Shape& found) {
  return shape_for(header.kind, header.capacity, page_size, UINT64_MAX, found) &&
         header.header_bytes == found.header_bytes && header.slot_stride == found.slot_stride &&
         header.total_bytes == found.total_bytes && found.total_bytes <= object_size;
}

// Why finished `header` of this layout version does not describe a segment
// within an object of `object_size` bytes, naming the field that is wrong
// (for sharedmem_last_error_detail); empty when it does describe one.
inline std::string header_shape_problem(const Header& header, std::uint64_t page_size,
                                        std::uint64_t object_size) {
  const auto number = [](std::uint64_t n) { return std::to_string(n); };
  if (header.kind != kKindValue && header.kind != kKindRaw)
    return "its header's kind field holds " + number(header.kind) +
           ", which is neither a value (" + number(kKindValue) + ") nor a raw (" +
           number(kKindRaw) + ") segment";
  Shape expected;
  if (!shape_for(header.kind, header.capacity, page_size, UINT64_MAX, expected))
    return "its header's capacity field holds " + number(header.capacity) +
           ", which no segment of its kind can have";
  const struct {
    const char* field;
    std::uint64_t found, expected;
  } fields[] = {{"header_bytes", header.header_bytes, expected.header_bytes},
                {"slot_stride", header.slot_stride, expected.slot_stride},
                {"total_bytes", header.total_bytes, expected.total_bytes}};
  for (const auto& f : fields)
    if (f.found != f.expected)
      return std::string("its header's ") + f.field + " field holds " + number(f.found) +
             " where its kind and capacity make " + number(f.expected);
  if (expected.total_bytes > object_size)
    return "its header says it takes " + number(expected.total_bytes) +
           " bytes, but the object has " + number(object_size);
  return {};
}

// The same for a header of another layout version.
inline std::string layout_version_problem(std::uint32_t layout_version) {
  return "its header's layout version is " + std::to_string(layout_version) +
         ", and this release reads layout version " + std::to_string(kLayoutVersion) +
         " (another release made it)";
}

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_LAYOUT_HPP
