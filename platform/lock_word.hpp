// SPDX-License-Identifier: MIT
// The writer lock's shared state: two 32-bit words at a fixed place in the
// mapping, no pointers and no process-local identities, the same for 32-bit
// and 64-bit processes. Anything a scribbler writes here is either a state
// this library writes or is reported as CORRUPTED; no value can aim a store.
//
// The state word (a futex on Linux; on Windows lockers sleep on an event):
//   0                        free
//   kFreeOwnerDied           free; its last holder died holding it (the next
//                            locker gets it as "owner died")
//   held_by(slot) [| kWaiters]  held through the attachment whose owner slot
//                            is `slot` (< kOwnerSlots); kWaiters: a locker may
//                            sleep on the word, the release must wake one
//   anything else            not written by this library: CORRUPTED
// The owner slot names an attachment, not a thread or a process: a process
// ID or thread ID is no identity across PID namespaces. Each attachment
// claims a slot of its own with a liveness token the OS drops when the
// attachment's process dies (on Linux an OFD byte lock on the object, on
// Windows a named event: linux/writer_lock_linux.cpp,
// windows/writer_lock_windows.cpp); a locker that finds the lock held checks the
// holder's token only while it waits. Which thread of the holder's process
// holds it is that process's own business (process-local memory).
//
// The protocol is one implementation for every OS (writer_lock.cpp); its
// proof is the Promela model platform/linux/writer_lock.pml.
#ifndef SHAREDMEM_PLATFORM_LOCK_WORD_HPP
#define SHAREDMEM_PLATFORM_LOCK_WORD_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sharedmem::platform::lock_word {

// "SMLK": written when the object is initialised; a lock area without it
// (another library's, or scribbled) is CORRUPTED to every caller.
inline constexpr std::uint32_t kMagic = 0x4b4c'4d53u;
inline constexpr std::uint32_t kWaiters = 1u;
inline constexpr std::uint32_t kOwnerSlots = 1u << 20;
inline constexpr std::uint32_t kFreeOwnerDied = 0xffff'fffeu;

constexpr std::uint32_t held_by(std::uint32_t slot) { return (slot + 1) << 1; }

enum class Meaning { kFree, kFreeAfterDeath, kHeld, kCorrupted };

constexpr Meaning meaning_of(std::uint32_t state) {
  if (state == 0) return Meaning::kFree;
  if (state == kFreeOwnerDied) return Meaning::kFreeAfterDeath;
  const std::uint32_t owner = state >> 1;
  return owner >= 1 && owner <= kOwnerSlots ? Meaning::kHeld : Meaning::kCorrupted;
}

// The slot of a kHeld state.
constexpr std::uint32_t slot_of(std::uint32_t state) { return (state >> 1) - 1; }

// The backend's area: the last kAreaBytes of every object, after the core's
// bytes, on every backend (the tests find the lock words through it).
inline constexpr std::size_t kAreaBytes = 64;

// The lock's bytes, at the start of the backend's area after the core's
// bytes. The rest of that area (up to kAreaBytes) is zero, apart from what
// the backend keeps at its end. (Offset 16 stays zero: libraries of the
// glibc-mutex layout read their mutex kind there and refuse this lock.)
struct Shared {
  std::atomic<std::uint32_t> state;
  std::atomic<std::uint32_t> magic;
};
static_assert(sizeof(Shared) == 8 && offsetof(Shared, magic) == 4,
              "one layout for 32-bit and 64-bit processes");
static_assert(sizeof(Shared) <= kAreaBytes);

}  // namespace sharedmem::platform::lock_word

#endif  // SHAREDMEM_PLATFORM_LOCK_WORD_HPP
