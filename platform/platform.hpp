// SPDX-License-Identifier: MIT
// The seam between the portable core (src/) and the operating system.
//
// Exactly one implementation is compiled in: platform/posix/ or
// platform/windows/, chosen by CMake. The core calls these functions; they
// never call back into the core. Inputs arrive validated (the name matches
// [A-Za-z0-9._-]{1,128}, sizes are non-zero and overflow-checked), so the
// implementations only make system calls and map OS errors to sharedmem_error.
#ifndef SHAREDMEM_PLATFORM_PLATFORM_HPP
#define SHAREDMEM_PLATFORM_PLATFORM_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sharedmem/sharedmem.h"

namespace sharedmem::platform {

// Bytes the core reserves in every segment's header for the writer lock's
// process-shared state (a robust pthread mutex on POSIX; unused on Windows,
// where the lock is a named kernel mutex). Zero-filled before init_writer_lock.
inline constexpr std::size_t kWriterLockStorage = 64;

// One process's attachment to a named OS shared-memory object: the object,
// its mapping and its share of the lifetime. Defined per OS.
struct Attachment;

struct AttachmentDeleter {
  void operator()(Attachment* attachment) const noexcept;
};
using AttachmentPtr = std::unique_ptr<Attachment, AttachmentDeleter>;

struct OpenResult {
  sharedmem_error error = SHAREDMEM_OK;
  AttachmentPtr attachment;
  // True when this process is the object's only user: the object is new or
  // was left behind by users who all died, and the caller must (re)initialise
  // it, through reset_object, before end_attach.
  bool first = false;
};

// Opens the object `name` in the scope chosen by `flags`, creating it with
// `size` bytes if it does not exist (Windows must size a mapping when it
// creates it; POSIX creates it empty and leaves sizing to reset_object), joins
// its lifetime and maps it. An existing object is mapped at its own size
// (nothing is mapped for a size of 0), which the caller must check with
// mapped_size(). A first user sees the old content as it was, to decide
// whether it is a dead segment of ours or a foreign object. Returns with the
// attach gate held: no other process can attach or detach until end_attach()
// or the attachment is destroyed, so a first user initialises the memory
// before anyone else sees it. Refuses objects owned by another user or open
// to other users with SHAREDMEM_E_NOT_OWNER.
OpenResult begin_attach(const std::string& name, std::size_t size, std::uint32_t flags);

// Releases the attach gate taken by begin_attach.
void end_attach(Attachment& attachment) noexcept;

// Called by a first user whose object is empty or holds a dead segment, or by
// a later user that finds a header a dead initialiser left marked initialising:
// resizes the object to `size` bytes, all zero, and maps it afresh (invalidates
// the previous mapped_base). Fails with SHAREDMEM_E_NO_MEMORY when the system
// cannot back that many bytes, so touching the mapping never faults, and with
// SHAREDMEM_E_INCOMPATIBLE when the object cannot grow (Windows) and is smaller.
sharedmem_error reset_object(Attachment& attachment, std::size_t size);

// Makes detaching leave the object in place even if this is its last user:
// for a first user that found someone else's object under the name.
void keep_object_on_detach(Attachment& attachment) noexcept;

// The mapping's address and length (0 and nullptr for an empty object).
void* mapped_base(const Attachment& attachment) noexcept;
std::size_t mapped_size(const Attachment& attachment) noexcept;

// Destroying an Attachment (through AttachmentDeleter) detaches: it unmaps,
// drops this process's share of the lifetime, and removes the object if this
// was the last user. Safe whether or not end_attach was called.

// The writer lock serialises writers of one segment across processes. It is
// robust: if its holder dies, the next locker gets it with kOwnerDied.
enum class LockResult { kAcquired, kOwnerDied, kTimeout, kError };

// Initialises the lock's state in `storage` (kWriterLockStorage zeroed
// bytes in the shared mapping). Called once, by the first user, before
// end_attach.
sharedmem_error init_writer_lock(Attachment& attachment, void* storage) noexcept;
LockResult lock_writer(Attachment& attachment, void* storage,
                       std::chrono::milliseconds timeout) noexcept;
void unlock_writer(Attachment& attachment, void* storage) noexcept;

// Largest object size this platform can create (0 = no fixed bound known).
std::uint64_t max_object_size() noexcept;

// "posix" or "windows".
const char* backend_name() noexcept;

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_PLATFORM_HPP
