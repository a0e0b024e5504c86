// SPDX-License-Identifier: MIT
// Named segments: validation, layout initialisation and checks, and the
// lock-free-for-readers consistency protocol described in layout.hpp.
#include "segment.hpp"

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "copy.hpp"
#include "fault_injection.hpp"
#include "layout.hpp"
#include "os_error.hpp"
#include "platform.hpp"

using sharedmem::detail::Header;

// The entry points of the hot path (reads, writes) take in the core
// functions they call (GCC and Clang): one function plus the copy and the
// writer lock, no call frames in between. The slow paths are noinline.
#if defined(__GNUC__)
#define SHAREDMEM_HOT_PATH __attribute__((flatten))
#else
#define SHAREDMEM_HOT_PATH
#endif

namespace sharedmem::detail {

// A write between taking the writer lock and publishing: the slot it fills
// (not the current one, so readers do not take it) and that slot's odd
// sequence number. sharedmem_write goes through it in one call;
// sharedmem_write_begin and sharedmem_write_commit split it in two.
struct SlotClaim {
  std::uint64_t generation = 0;  // the last completed write's, read under the lock
  std::size_t target = 0;
  std::uint64_t seq = 0;
};

}  // namespace sharedmem::detail

struct sharedmem_segment {
  sharedmem::platform::AttachmentPtr attachment;
  Header* header = nullptr;
  unsigned char* slot_bytes = nullptr;  // slot i at slot_bytes + i * stride
  std::uint64_t capacity = 0;
  std::uint64_t stride = 0;
  // A raw segment (SHAREDMEM_RAW): its `capacity` bytes at `data`.
  bool raw = false;
  unsigned char* data = nullptr;
  // Opened with SHAREDMEM_READ_ONLY: the mapping has no write access.
  bool read_only = false;
  // What the value writes (write, write_if, write_begin) and the raw ones
  // (lock, notify) answer before touching anything: SHAREDMEM_OK, or the
  // kind or read-only refusal. One load on the hot path.
  sharedmem_error value_write_refusal = SHAREDMEM_OK;
  sharedmem_error raw_write_refusal = SHAREDMEM_OK;
  // The thread that took the raw segment's lock through this handle and has
  // not released it through it; a default id when none. Only that thread
  // stores its own id here (and close, when the handle is no longer used),
  // so relaxed accesses suffice: the lock itself orders the rest.
  std::atomic<std::thread::id> lock_holder{};
  // The open segments of this process, for the detach at exit (see below).
  sharedmem_segment* previous = nullptr;
  sharedmem_segment* next = nullptr;
  bool detached_at_exit = false;
  bool created = false;  // this open initialised the segment
  // sharedmem_write_begin's write, open until commit or abort: the token of
  // the thread that began it (0: none), which alone may end it, since the
  // writer lock it holds belongs to that thread. The claim and size are
  // written and read only by that thread, under the writer lock.
  std::atomic<std::uint64_t> in_place_thread{0};
  sharedmem::detail::SlotClaim in_place_claim;
  std::uint64_t in_place_size = 0;
};

namespace sharedmem::detail {
namespace {

// The error of a lock_writer result that did not acquire the lock.
sharedmem_error lock_failure(platform::LockResult result) {
  switch (result) {
    case platform::LockResult::kTimeout:
      return SHAREDMEM_E_TIMEOUT;
    case platform::LockResult::kReentered:
      return SHAREDMEM_E_WOULD_DEADLOCK;
    case platform::LockResult::kCorrupted:
      return SHAREDMEM_E_CORRUPTED;
    default:  // kError (kAcquired and kOwnerDied are no failure)
      return SHAREDMEM_E_SYSTEM;
  }
}

// An open's request for either kind (SHAREDMEM_ANY_KIND); never in a header.
constexpr std::uint32_t kKindAny = UINT32_MAX;

// How long a writer waits for a live peer that holds the writer lock.
constexpr std::chrono::milliseconds kWriterLockTimeout{10'000};
// How many times an open goes back to the start because the object it found
// vanished under it (each time, another user left or arrived meanwhile).
constexpr int kAttachAttempts = 100;
// A reader retries a torn copy at once this many times, then yields between
// tries; past kReadGiveUp without one consistent snapshot it gives up.
constexpr int kReadSpins = 64;
constexpr std::chrono::milliseconds kReadGiveUp{2'000};

// Every segment this process has open. A process that exits (or unloads the
// library) without closing them must still count as gone: the destructor of
// `g_exit_detach` detaches them all, leaving their pages mapped for threads
// that may still be inside a call. The list head is a plain pointer that is
// never reset, so nothing is destroyed under those threads.
std::mutex g_open_mutex;
sharedmem_segment* g_open_segments = nullptr;
// Exit is final: once the exit detach has begun (set under g_open_mutex,
// never reset: a library unloaded and loaded again starts afresh), an open
// fails with SHAREDMEM_E_NOT_ATTACHED, and one already past that check is
// detached as soon as it is done (remember). Opens and closes that hold an
// attachment outside g_open_segments count themselves in flight, and the
// exit detach waits (at most kExitWait) for them: a process that ended in
// the middle of one could leave its object behind.
std::atomic<bool> g_exit_detach_begun{false};
std::atomic<int> g_attachments_in_flight{0};
constexpr std::chrono::seconds kExitWait{2};

// Counts an open or a close in flight for its lifetime.
class InFlight {
 public:
  InFlight() noexcept { g_attachments_in_flight.fetch_add(1); }
  ~InFlight() { g_attachments_in_flight.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

void remember(sharedmem_segment* segment) {
  const std::lock_guard<std::mutex> lock(g_open_mutex);
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

// True if the exit detach has not taken the segment yet.
bool forget(sharedmem_segment* segment) {
  const std::lock_guard<std::mutex> lock(g_open_mutex);
  if (segment->detached_at_exit) return false;
  if (segment->previous) segment->previous->next = segment->next;
  if (segment->next) segment->next->previous = segment->previous;
  if (g_open_segments == segment) g_open_segments = segment->next;
  return true;
}

// A number for the calling thread that no other thread of this process ever
// gets, even after this one ends (thread ids are reused): it names the owner
// of an in-place write. 0 until the thread first begins one.
SHAREDMEM_SIGNAL_SAFE_TLS thread_local std::uint64_t t_thread_token = 0;
std::atomic<std::uint64_t> g_next_thread_token{1};

std::uint64_t thread_token() {
  if (t_thread_token == 0)
    t_thread_token = g_next_thread_token.fetch_add(1, std::memory_order_relaxed);
  return t_thread_token;
}

// Ends the in-place write open on `segment` if the calling thread began it:
// true, and the caller now publishes it or gives it up. False when there is
// none or another thread's (whose writer lock this thread cannot release).
bool end_in_place_write(sharedmem_segment& segment) {
  std::uint64_t self = t_thread_token;
  return self != 0 &&
         segment.in_place_thread.compare_exchange_strong(self, 0, std::memory_order_acq_rel);
}

// Releases the writer lock without publishing. A slot claimed meanwhile keeps
// its odd sequence number, as after a writer that died: no reader accepts a
// copy of it, and the next writer starts it afresh. (Making it even again
// would let a reader that picked it as current long ago accept bytes that
// were never published.)
void give_up(sharedmem_segment& segment) { platform::unlock_writer(*segment.attachment); }

// Gives up the calling thread's in-place write on `segment`, if any.
void abandon_in_place_write(sharedmem_segment& segment) {
  if (end_in_place_write(segment)) give_up(segment);
}

struct ExitDetach {
  ~ExitDetach() {
    {
      const std::lock_guard<std::mutex> lock(g_open_mutex);
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

// Attaches to `name`, creating it (if `may_create`) only when the system
// can back it. Where creating commits the object's memory
// (creation_commits_memory), the name is looked for first and the headroom
// checked before the creating attach; elsewhere one attach opens or creates
// under the gate, and open_segment checks the headroom of what it must
// initialise, as for a leftover.
platform::AttachResult attach(platform::AttachRequest& request, bool may_create,
                              std::uint64_t& headroom) {
  const bool check_before_creating = may_create && platform::creation_commits_memory();
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    request.may_create = may_create && !check_before_creating;
    platform::AttachResult result = platform::begin_attach(request);
    if (result.status == platform::AttachStatus::kAbsent && check_before_creating) {
      // About to create: first reclaim what dead users left, and if the
      // system still cannot back the segment, everything they left, now.
      (void)platform::sweep_dead_objects(request.global_scope, request.access != nullptr,
                                         platform::Sweep::kRateLimited,
                                         nullptr);
      headroom = platform::memory_headroom(request.core_bytes);
      if (request.core_bytes > headroom) {
        (void)platform::sweep_dead_objects(request.global_scope, request.access != nullptr,
                                           platform::Sweep::kNow, nullptr);
        headroom = platform::memory_headroom(request.core_bytes);
      }
      if (request.core_bytes > headroom) {
        result.status = platform::AttachStatus::kFailed;
        result.error = SHAREDMEM_E_NO_MEMORY;
        return result;
      }
      request.may_create = true;
      result = platform::begin_attach(request);
    }
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
  request.global_scope = (flags & SHAREDMEM_SCOPE_GLOBAL) != 0;
  request.access = access;
  request.read_only = read_only;
  request.core_bytes = static_cast<std::size_t>(shape.total_bytes);
  const bool shared = access != nullptr;
  std::uint64_t headroom = UINT64_MAX;
  // An open that only looks for a live segment reclaims dead objects first:
  // one of them may stand under its very name.
  if (open_only)
    (void)platform::sweep_dead_objects(request.global_scope, shared, platform::Sweep::kRateLimited,
                                       nullptr);
  platform::AttachResult attached;
  for (int round = 0;; ++round) {
    attached = attach(request, !open_only, headroom);
    if (attached.status == platform::AttachStatus::kAbsent) return SHAREDMEM_E_NOT_FOUND;
    if (attached.status != platform::AttachStatus::kAttached) return attached.error;
    if (!attached.must_initialise || open_only || round > 0) break;
    const std::size_t found = platform::core_size(*attached.attachment);
    if (found >= shape.total_bytes) break;
    // Growing a leftover needs memory too (its own pages are freed first).
    if (headroom == UINT64_MAX) headroom = platform::memory_headroom(shape.total_bytes - found);
    if (shape.total_bytes - found <= headroom) break;
    // Short of it: let go of the leftover (and its gate, so that no sweep
    // runs under it), reclaim every dead object now, and look again.
    attached.attachment.reset();
    (void)platform::sweep_dead_objects(request.global_scope, shared, platform::Sweep::kNow, nullptr);
    headroom = UINT64_MAX;
  }
  platform::Attachment& attachment = *attached.attachment;

  // must_initialise says no live user completed an attach: the segment is
  // new or dead, which both open modes count as absent. A refused
  // attachment is detached uninitialised, and the backend leaves it as it
  // was (or, empty, removes it).
  if (attached.must_initialise) {
    const std::size_t found = platform::core_size(attachment);
    // Something nobody lives in that is not a segment of ours is foreign,
    // whatever the open mode: refused as such, and left as it was.
    if (!is_ours_to_reset(platform::core_base(attachment), found))
      return SHAREDMEM_E_INCOMPATIBLE;
    if (open_only) return SHAREDMEM_E_NOT_FOUND;
    platform::fault_point("attach_before_init");
    if (found < shape.total_bytes) {
      if (headroom == UINT64_MAX)
        headroom = platform::memory_headroom(shape.total_bytes - found);
      if (shape.total_bytes - found > headroom) return SHAREDMEM_E_NO_MEMORY;
    }
    if (sharedmem_error e = initialise(attachment, shape)) return e;
  } else if (create_only) {
    return SHAREDMEM_E_EXISTS;
  } else if (sharedmem_error e = check_existing(attachment, kind, capacity, shape)) {
    return e;
  }
  if (sharedmem_error e = platform::end_attach(attachment)) return e;
  // This open made the segment or found a dead object under its name: dead
  // objects may lie beside it. (After end_attach: no sweep runs under a gate
  // of ours.)
  if (attached.must_initialise)
    (void)platform::sweep_dead_objects(request.global_scope, shared, platform::Sweep::kRateLimited,
                                       nullptr);

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

namespace {

// Takes the writer lock and claims the slot readers do not look at: makes its
// sequence number odd. With `expected`, only at that version (otherwise
// SHAREDMEM_E_CONFLICT, the lock released). *version gets the version found.
sharedmem_error claim_slot(sharedmem_segment& segment, const std::uint64_t* expected,
                           platform::LockHold hold, SlotClaim& claim, std::uint64_t* version) {
  Header& header = *segment.header;
  *version = header.generation.load(std::memory_order_acquire);
  const platform::LockResult locked =
      platform::lock_writer(*segment.attachment, kWriterLockTimeout, hold);
  // kOwnerDied: acquired; the dead writer's half-written slot is not current.
  if (locked != platform::LockResult::kAcquired && locked != platform::LockResult::kOwnerDied)
    return lock_failure(locked);
  platform::fault_point("write_locked");
  // The writer lock orders writers: the generation read under it is the
  // last completed write's.
  claim.generation = header.generation.load(std::memory_order_relaxed);
  *version = claim.generation;
  if (expected != nullptr && *expected != claim.generation) {
    give_up(segment);
    return SHAREDMEM_E_CONFLICT;
  }
  claim.target = (claim.generation + 1) % kSlotCount;
  SlotState& slot = header.slots[claim.target];
  const std::uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  claim.seq = seq + 1 + (seq & 1);  // odd, and new even after a dead writer
  slot.seq.store(claim.seq, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  return SHAREDMEM_OK;
}

unsigned char* slot_data(const sharedmem_segment& segment, const SlotClaim& claim) {
  return segment.slot_bytes + claim.target * segment.stride;
}

// Publishes the claimed slot, filled with a value of `length` bytes, as the
// next version; releases the writer lock and wakes the waiters. Returns the
// new version.
std::uint64_t publish(sharedmem_segment& segment, const SlotClaim& claim, std::uint64_t length) {
  Header& header = *segment.header;
  // A death here leaves what a death mid-copy leaves: a changed, unpublished slot.
  platform::fault_point("write_mid_copy");
  SlotState& slot = header.slots[claim.target];
  slot.length.store(length, std::memory_order_relaxed);
  slot.seq.store(claim.seq + 1, std::memory_order_release);
  // Sequentially consistent, with the look at the waiter count below: the
  // waiters' side counts itself in, then re-checks the generation
  // (layout.hpp), so either the writer sees the count or the waiter sees the
  // new generation. (On x86 an exchange: the one full fence of a write, the
  // same code in every build.)
  header.generation.store(claim.generation + 1, std::memory_order_seq_cst);
  platform::unlock_writer(*segment.attachment);
  // A death here leaves the write published and its waiters asleep until the
  // next write wakes them (README: Versions, waiting and open modes).
  platform::fault_point("write_published");
  if (header.waiters.load(std::memory_order_seq_cst) != 0)
    platform::wake_all(*segment.attachment, header.change_word);
  return claim.generation + 1;
}

}  // namespace

sharedmem_error write_segment(sharedmem_segment* segment, const void* data, std::uint64_t size,
                              const std::uint64_t* expected, std::uint64_t* version) {
  SlotClaim claim;
  if (sharedmem_error e =
          claim_slot(*segment, expected, platform::LockHold::kWithinCall, claim, version))
    return e;
  copy_in(slot_data(*segment, claim), data, size);
  *version = publish(*segment, claim, size);
  return SHAREDMEM_OK;
}

sharedmem_error begin_write(sharedmem_segment* segment, std::uint64_t size, void** data) {
  SlotClaim claim;
  std::uint64_t version = 0;
  // A second begin by this thread, on this handle or another of the same
  // segment, finds the lock its own: SHAREDMEM_E_WOULD_DEADLOCK.
  if (sharedmem_error e =
          claim_slot(*segment, nullptr, platform::LockHold::kAcrossCalls, claim, &version))
    return e;
  segment->in_place_claim = claim;
  segment->in_place_size = size;
  segment->in_place_thread.store(thread_token(), std::memory_order_release);
  *data = slot_data(*segment, claim);
  return SHAREDMEM_OK;
}

sharedmem_error commit_write(sharedmem_segment* segment, std::uint64_t* version) {
  if (!end_in_place_write(*segment)) return SHAREDMEM_E_NOT_HELD;
  *version = publish(*segment, segment->in_place_claim, segment->in_place_size);
  return SHAREDMEM_OK;
}

void abort_write(sharedmem_segment* segment) { abandon_in_place_write(*segment); }

namespace {

// One attempt at a consistent snapshot (layout.hpp): true, with the copy in
// `buffer`, when the slot it copied was complete and not overwritten
// meanwhile.
inline bool try_read(const sharedmem_segment& segment, void* buffer, std::uint64_t buffer_size,
                     std::uint64_t* value_size, std::uint64_t* version) {
  const Header& header = *segment.header;
  const std::uint64_t generation = header.generation.load(std::memory_order_acquire);
  const std::size_t current = generation % kSlotCount;
  const SlotState& slot = header.slots[current];
  const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
  if ((seq & 1) != 0) return false;  // lapped by two writers: the other slot is newer
  std::uint64_t length = slot.length.load(std::memory_order_relaxed);
  if (length > segment.capacity) length = segment.capacity;  // torn; the seq check retries
  const std::uint64_t copied = length < buffer_size ? length : buffer_size;
  copy_out(buffer, segment.slot_bytes + current * segment.stride, copied);
  std::atomic_thread_fence(std::memory_order_acquire);
  // A versioned read also needs the copy to be write number `generation`'s
  // and not a later one's into the same slot: write generation + 2 cannot
  // have completed before `seq` was read if the generation, read after the
  // check, has not reached it yet.
  if (slot.seq.load(std::memory_order_relaxed) != seq ||
      (version != nullptr && header.generation.load(std::memory_order_relaxed) > generation + 1))
    return false;
  *value_size = length;
  if (version) *version = generation;
  return true;
}

// The retries after a torn first attempt, out of the hot path.
__attribute__((noinline)) sharedmem_error read_retrying(const sharedmem_segment& segment,
                                                        void* buffer, std::uint64_t buffer_size,
                                                        std::uint64_t* value_size,
                                                        std::uint64_t* version) {
  const Header& header = *segment.header;
  const std::uint64_t first_generation = header.generation.load(std::memory_order_relaxed);
  std::chrono::steady_clock::time_point give_up{};
  for (int attempt = 0;; ++attempt) {
    if (try_read(segment, buffer, buffer_size, value_size, version)) return SHAREDMEM_OK;
    // Retries are bounded: a header whose sequence numbers were scribbled on
    // would otherwise keep a reader spinning forever.
    if (attempt < kReadSpins) continue;
    std::this_thread::yield();
    if (attempt == kReadSpins) {
      give_up = std::chrono::steady_clock::now() + kReadGiveUp;
    } else if (attempt % 64 == 0 && std::chrono::steady_clock::now() > give_up) {
      // No write completed meanwhile: nobody can fix this state but a reset.
      return header.generation.load(std::memory_order_relaxed) == first_generation
                 ? SHAREDMEM_E_CORRUPTED
                 : SHAREDMEM_E_TIMEOUT;
    }
  }
}

}  // namespace

sharedmem_error read_segment(const sharedmem_segment* segment, void* buffer,
                             std::uint64_t buffer_size, std::uint64_t* value_size,
                             std::uint64_t* version) {
  if (try_read(*segment, buffer, buffer_size, value_size, version)) return SHAREDMEM_OK;
  return read_retrying(*segment, buffer, buffer_size, value_size, version);
}

sharedmem_error lock_segment(sharedmem_segment* segment, std::uint32_t timeout_ms) {
  // Forever is a series of long waits: no backend deadline arithmetic
  // overflows, and none of them ends in a timeout.
  constexpr std::chrono::milliseconds kForeverStep = std::chrono::hours(24);
  const bool forever = timeout_ms == SHAREDMEM_WAIT_FOREVER;
  for (;;) {
    const std::chrono::milliseconds timeout =
        forever ? kForeverStep : std::chrono::milliseconds(timeout_ms);
    const platform::LockResult locked =
        platform::lock_writer(*segment->attachment, timeout, platform::LockHold::kAcrossCalls);
    if (locked == platform::LockResult::kTimeout && forever) continue;
    if (locked != platform::LockResult::kAcquired && locked != platform::LockResult::kOwnerDied)
      return lock_failure(locked);
    segment->lock_holder.store(std::this_thread::get_id(), std::memory_order_relaxed);
    // kOwnerDied: acquired all the same.
    return locked == platform::LockResult::kOwnerDied ? SHAREDMEM_E_OWNER_DIED : SHAREDMEM_OK;
  }
}

sharedmem_error unlock_segment(sharedmem_segment* segment) {
  // Only the thread that locked through this handle unlocks through it.
  if (segment->lock_holder.load(std::memory_order_relaxed) != std::this_thread::get_id())
    return SHAREDMEM_E_NOT_HELD;
  segment->lock_holder.store(std::thread::id(), std::memory_order_relaxed);
  // False when the lock is no longer this thread's after all (a child
  // forked by the locking thread has the parent's record but not its lock).
  return platform::unlock_writer(*segment->attachment) ? SHAREDMEM_OK : SHAREDMEM_E_NOT_HELD;
}

std::uint64_t notify_segment(sharedmem_segment* segment) {
  Header& header = *segment->header;
  // Release: what the caller wrote into the data before is visible to whoever
  // sees the new version (a waiter, a sharedmem_version caller).
  const std::uint64_t version = header.generation.fetch_add(1, std::memory_order_acq_rel) + 1;
  // As after a write: the publication before the look at the waiter count.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (header.waiters.load(std::memory_order_relaxed) != 0)
    platform::wake_all(*segment->attachment, header.change_word);
  return version;
}

namespace {

// sharedmem_last_system_error: the OS error behind this thread's last failure.
SHAREDMEM_SIGNAL_SAFE_TLS thread_local int t_last_system_error = 0;

}  // namespace

// Ends a public call: a failure takes the OS error the backend noted for it
// (0 if none); a success discards whatever the backend noted on the way.
sharedmem_error finish_call(sharedmem_error result) noexcept {
  const int code = platform::take_os_error();
  if (result != SHAREDMEM_OK) t_last_system_error = code;
  return result;
}

int last_system_error() noexcept { return t_last_system_error; }

namespace {

// A wait that slept and woke (or timed out) with `result` tells a
// long-running holder whether its segment's name was removed under it:
// SHAREDMEM_E_REMOVED then, whatever it found (*version still says whether
// the version moved). Only after a sleep: a wait that returns at once costs
// no system call.
sharedmem_error finish_wait(const sharedmem_segment& segment, sharedmem_error result) {
  return platform::name_state(*segment.attachment) == platform::NameState::kRemoved
             ? SHAREDMEM_E_REMOVED
             : result;
}

// A read-only handle cannot count itself among the waiters (the count is
// shared memory it may not write), so no writer wakes it for sure: it
// sleeps on the change word in slices of at most kReadOnlyWaitSlice (a
// writer that wakes counted waiters wakes it too) and looks at the version
// after each. A change is seen within a slice of its write.
constexpr std::chrono::milliseconds kReadOnlyWaitSlice{4};

sharedmem_error wait_read_only(const sharedmem_segment& segment, std::uint64_t seen,
                               std::chrono::steady_clock::time_point deadline,
                               std::uint64_t* version) {
  using clock = std::chrono::steady_clock;
  Header& header = *segment.header;
  bool slept = false;
  for (std::chrono::microseconds slice{250};; slice = std::min<std::chrono::microseconds>(
                                                 slice * 2, kReadOnlyWaitSlice)) {
    const std::uint32_t word = header.change_word.load(std::memory_order_seq_cst);
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return slept ? finish_wait(segment, SHAREDMEM_OK) : SHAREDMEM_OK;
    const clock::time_point now = clock::now();
    if (now >= deadline) return finish_wait(segment, SHAREDMEM_E_TIMEOUT);
    const clock::time_point wake =
        deadline - now > slice ? now + slice : deadline;
    if (platform::wait_for_change(*segment.attachment, header.change_word, word, wake) ==
        platform::WaitResult::kError)
      return SHAREDMEM_E_SYSTEM;
    slept = true;
  }
}

}  // namespace

sharedmem_error wait_segment(const sharedmem_segment* segment, std::uint64_t seen,
                             std::uint32_t timeout_ms, std::uint64_t* version) {
  using clock = std::chrono::steady_clock;
  Header& header = *segment->header;
  const clock::time_point deadline = timeout_ms == SHAREDMEM_WAIT_FOREVER
                                         ? clock::time_point::max()
                                         : clock::now() + std::chrono::milliseconds(timeout_ms);
  if (segment->read_only) return wait_read_only(*segment, seen, deadline, version);
  for (;;) {
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return SHAREDMEM_OK;
    header.waiters.fetch_add(1, std::memory_order_seq_cst);
    // The word first, then the generation: a write published after this
    // re-check changes the word after we read it, and the wait sees that.
    const std::uint32_t word = header.change_word.load(std::memory_order_seq_cst);
    *version = header.generation.load(std::memory_order_seq_cst);
    platform::WaitResult result = platform::WaitResult::kWoken;
    if (*version == seen) {
      // Counted in, the version seen unchanged: from here on only the
      // writer's wake (a changed word) ends the wait before the deadline.
      platform::fault_point("wait_before_sleep");
      result = platform::wait_for_change(*segment->attachment, header.change_word, word, deadline);
    }
    header.waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (result == platform::WaitResult::kError) return SHAREDMEM_E_SYSTEM;
    if (result == platform::WaitResult::kTimeout) {
      *version = header.generation.load(std::memory_order_acquire);
      return finish_wait(*segment, *version != seen ? SHAREDMEM_OK : SHAREDMEM_E_TIMEOUT);
    }
    *version = header.generation.load(std::memory_order_acquire);
    if (*version != seen) return finish_wait(*segment, SHAREDMEM_OK);
  }
}

sharedmem_error check_segment(const sharedmem_segment* segment) {
  switch (platform::name_state(*segment->attachment)) {
    case platform::NameState::kLeadsHere:
      return SHAREDMEM_OK;
    case platform::NameState::kRemoved:
      return SHAREDMEM_E_REMOVED;
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

}  // namespace sharedmem::detail

extern "C" {

using sharedmem::detail::finish_call;

namespace {

// Ends a call on the hot path (reads, writes, the raw lock): a success
// touches no thread-local state. The paths behind these calls note an OS
// error only for a failure they report (platform.hpp), so a success has
// nothing to discard.
inline sharedmem_error end_hot_call(sharedmem_error result) noexcept {
  return result == SHAREDMEM_OK ? result : finish_call(result);
}

}  // namespace

sharedmem_error SHAREDMEM_CALL sharedmem_open(const char* name, uint64_t capacity, uint32_t flags,
                                              sharedmem_segment** out) {
  sharedmem::platform::clear_error_detail();
  try {
    return finish_call(sharedmem::detail::open_segment(name, capacity, flags, nullptr, out));
  } catch (const std::bad_alloc&) {
    return finish_call(SHAREDMEM_E_NO_MEMORY);
  } catch (...) {
    return finish_call(SHAREDMEM_E_SYSTEM);
  }
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
  try {
    sharedmem::platform::AccessList list;
    list.read_write = principals(access->read_write);
    list.read_only = principals(access->read_only);
    list.creators = principals(access->creators);
    list.low_integrity = (access->flags & SHAREDMEM_ACCESS_LOW_INTEGRITY) != 0;
    return finish_call(sharedmem::detail::open_segment(name, capacity, flags, &list, out));
  } catch (const std::bad_alloc&) {
    return finish_call(SHAREDMEM_E_NO_MEMORY);
  } catch (...) {
    return finish_call(SHAREDMEM_E_SYSTEM);
  }
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

SHAREDMEM_HOT_PATH sharedmem_error SHAREDMEM_CALL sharedmem_write(sharedmem_segment* segment, const void* data,
                                               uint64_t size) {
  if (segment == nullptr || (data == nullptr && size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->value_write_refusal) return finish_call(segment->value_write_refusal);
  if (size > segment->capacity) return finish_call(SHAREDMEM_E_VALUE_TOO_LARGE);
  std::uint64_t version = 0;
  return end_hot_call(sharedmem::detail::write_segment(segment, data, size, nullptr, &version));
}

SHAREDMEM_HOT_PATH sharedmem_error SHAREDMEM_CALL sharedmem_write_if(sharedmem_segment* segment, const void* data,
                                                  uint64_t size, uint64_t expected_version,
                                                  uint64_t* new_version) {
  if (segment == nullptr || (data == nullptr && size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->value_write_refusal) {
    if (new_version) *new_version = sharedmem_version(segment);
    return finish_call(segment->value_write_refusal);
  }
  std::uint64_t version = 0;
  sharedmem_error e = SHAREDMEM_E_VALUE_TOO_LARGE;
  if (size > segment->capacity)
    version = sharedmem_version(segment);
  else
    e = sharedmem::detail::write_segment(segment, data, size, &expected_version, &version);
  if (new_version) *new_version = version;
  return end_hot_call(e);
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
  return end_hot_call(e);
}

void SHAREDMEM_CALL sharedmem_write_abort(sharedmem_segment* segment) {
  if (segment != nullptr && !segment->raw) sharedmem::detail::abort_write(segment);
  (void)finish_call(SHAREDMEM_OK);
}

SHAREDMEM_HOT_PATH sharedmem_error SHAREDMEM_CALL sharedmem_read(const sharedmem_segment* segment, void* buffer,
                                              uint64_t buffer_size, uint64_t* value_size) {
  if (segment == nullptr || (buffer == nullptr && buffer_size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  std::uint64_t size = 0;
  const sharedmem_error e =
      sharedmem::detail::read_segment(segment, buffer, buffer_size, &size, nullptr);
  if (value_size) *value_size = size;
  return end_hot_call(e);
}

SHAREDMEM_HOT_PATH sharedmem_error SHAREDMEM_CALL sharedmem_read_versioned(const sharedmem_segment* segment,
                                                        void* buffer, uint64_t buffer_size,
                                                        uint64_t* value_size, uint64_t* version) {
  if (segment == nullptr || (buffer == nullptr && buffer_size != 0))
    return finish_call(SHAREDMEM_E_INVALID_ARGUMENT);
  if (segment->raw) return finish_call(SHAREDMEM_E_WRONG_KIND);
  std::uint64_t size = 0;
  std::uint64_t snapshot = 0;
  const sharedmem_error e = sharedmem::detail::read_segment(segment, buffer, buffer_size, &size,
                                                            version ? &snapshot : nullptr);
  if (value_size) *value_size = e == SHAREDMEM_OK ? size : 0;
  if (version) *version = e == SHAREDMEM_OK ? snapshot : 0;
  return end_hot_call(e);
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
  return finish_call(sharedmem::platform::sweep_dead_objects(
      (flags & SHAREDMEM_SCOPE_GLOBAL) != 0, (flags & SHAREDMEM_SHARED) != 0,
      sharedmem::platform::Sweep::kNow, removed));
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
  // The backend notes an OS error only for a failure: a success has nothing
  // to discard, and skips finish_call's thread-local access (a hot path).
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

}  // extern "C"
