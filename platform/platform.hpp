// SPDX-License-Identifier: MIT
// The seam between the portable core (src/) and the operating system.
//
// Exactly one implementation is compiled in: platform/linux/ or
// platform/windows/, chosen by CMake. The core calls these functions; they
// never call back into the core. Inputs arrive validated (the name matches
// [A-Za-z0-9._-]{1,128}, sizes are non-zero and overflow-checked).
//
// Division of labour: a backend makes system calls and reports facts ("you
// are provably this object's only user", "the name is absent", "the object
// vanished while you attached", "this much memory can still be backed"); the
// core decides what they mean (initialise or check, retry or fail, refuse
// what is not ours). Every function below is implemented in full by every
// backend, but sweep_dead_objects and name_state, which exist only where
// they have something to find (kCapabilities).
#ifndef SHAREDMEM_PLATFORM_PLATFORM_HPP
#define SHAREDMEM_PLATFORM_PLATFORM_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"

// For thread_local variables that a call made from a signal handler may
// touch (the error codes of a failed call): ELF's initial-exec model puts them
// in the static TLS block, so that no access allocates. (Under the default
// model, the first access in a thread to a variable of a library loaded by
// dlopen, as Python's ctypes does, may call malloc.)
#if defined(__ELF__)
#define SHAREDMEM_SIGNAL_SAFE_TLS __attribute__((tls_model("initial-exec")))
#else
#define SHAREDMEM_SIGNAL_SAFE_TLS
#endif

namespace sharedmem::platform {

// Where a segment's name lives: among the current user's private names or
// the shared ones (sharedmem_open_shared, SHAREDMEM_SHARED), in the
// session's namespace or in the global one (SHAREDMEM_SCOPE_GLOBAL). A
// global namespace reaches only a backend with kCapabilities.global_scope:
// the core refuses it elsewhere.
enum class Namespace { kPrivate, kShared, kGlobalPrivate, kGlobalShared };
constexpr bool is_shared(Namespace space) noexcept {
  return space == Namespace::kShared || space == Namespace::kGlobalShared;
}
constexpr bool is_global(Namespace space) noexcept {
  return space == Namespace::kGlobalPrivate || space == Namespace::kGlobalShared;
}

// What a platform's objects can do, fixed at build time so that the core
// compiles in only what the platform has. Each backend defines
// `inline constexpr Capabilities kCapabilities` in its own header, which
// CMake names in SHAREDMEM_PLATFORM_CAPABILITIES (included below).
struct Capabilities {
  // A global namespace apart from the session's own (Windows' Global\).
  // Without it the core refuses SHAREDMEM_SCOPE_GLOBAL (UNSUPPORTED).
  bool global_scope;
  // Objects outlive users that were all killed (Linux: files in /dev/shm).
  // With it the backend defines sweep_dead_objects and the core runs it;
  // without it objects die with their last user, and nothing needs a sweep.
  bool leftovers_persist;
  // A name can be removed, or lead to another object, while its object is
  // held (Linux: an unlink in /dev/shm). With it the backend defines
  // name_state and the core asks it.
  bool names_removable;
  // The OS tells how many attachments hold an object (Linux: its OFD locks
  // in /proc/locks): inspect_object fills ObjectFacts::holders. Without it
  // the core reports SHAREDMEM_HOLDERS_UNKNOWN.
  bool countable_holders;
  // Objects carry a mandatory integrity label (Windows): a shared segment's
  // may be made low, for sandboxed processes (AccessList::low_integrity).
  bool integrity_labels;
};

// One process's attachment to a named OS shared-memory object: the object,
// its mapping, its share of the lifetime and its writer lock. Defined per OS.
struct Attachment;

// Destroying an attachment detaches it (Mapping::kUnmap) if detach() was not
// called: the fallback for early returns in the core. Errors are dropped.
struct AttachmentDeleter {
  void operator()(Attachment* attachment) const noexcept;
};
using AttachmentPtr = std::unique_ptr<Attachment, AttachmentDeleter>;

// A shared segment's access list (sharedmem_open_shared), as the caller gave
// it: principals are unparsed text ("group:video"); the backend resolves
// them (SHAREDMEM_E_UNKNOWN_PRINCIPAL, with record_error_detail naming the
// principal) and makes and checks the OS permissions.
struct AccessList {
  std::vector<std::string> read_write;
  std::vector<std::string> read_only;
  std::vector<std::string> creators;
  // SHAREDMEM_ACCESS_LOW_INTEGRITY, where kCapabilities.integrity_labels
  // (elsewhere never set).
  bool low_integrity = false;
};

struct AttachRequest {
  std::string name;  // validated segment name
  Namespace space = Namespace::kPrivate;
  // Set exactly when `space` is a shared namespace: an object is created
  // there with exactly this access, and one found there is accepted only if
  // its owner and permissions match it (else SHAREDMEM_E_NOT_OWNER,
  // untouched).
  const AccessList* access = nullptr;
  // SHAREDMEM_READ_ONLY: opened and mapped without write access; never
  // creates (may_create is false), never initialises: a read-only request
  // that would be must_initialise reports kAbsent instead, leaving the
  // object alone. Takes part in the lifetime like any other attachment.
  bool read_only = false;
  bool may_create = true;     // false: attach only to an object that exists
};

// Whether a process lives in an object (inspect_object).
enum class Liveness {
  kLive,     // a process that completed its attach still holds it
  kNone,     // no such process: it is a leftover, or its creator is still at work
  kUnknown,  // the OS cannot tell
};

// What a backend learned of an object: one it would not join (begin_attach,
// kNotJoinable) or one it inspected (inspect_object).
struct ObjectFacts {
  std::string os_name;      // the OS object's name (a path on POSIX)
  bool shared_memory = false;   // of the shared-memory type (a regular file, a section)
  bool owned_by_user = false;   // the current user owns it (false if unknown)
  bool private_to_user = false;  // nobody else may open it
  std::uint64_t size = 0;        // its size in bytes (0 if not known)
  std::uint32_t mode = 0;        // POSIX permission bits; 0 elsewhere
  // Attachments that hold it (where kCapabilities.countable_holders; else,
  // or when the OS cannot tell this time, SHAREDMEM_HOLDERS_UNKNOWN).
  std::uint32_t holders = SHAREDMEM_HOLDERS_UNKNOWN;
  Liveness liveness = Liveness::kUnknown;
  std::string owner;        // "uid 1000", a SID; empty if unknown
  std::string permissions;  // readable form; empty if unknown
  // kNotJoinable: what about it differs from the request, in words, for the
  // error detail ("/dev/shm/x grants everyone rw-"); may be empty.
  std::string mismatch;
};

enum class AttachStatus {
  kAttached,  // attachment is set; see must_initialise
  kAbsent,    // no object has the name and the request did not allow creating one
  kVanished,  // the object went away while we attached (its last user left): try again
  // Something stands under the name that the request may not join: not the
  // current user's (in a shared namespace: not a listed creator's), not a
  // shared-memory object, or open to others than the request says. It was
  // left as it was; `facts` say what it is, for the core to judge
  // (SHAREDMEM_E_NOT_OWNER, _INCOMPATIBLE).
  kNotJoinable,
  kFailed,  // see error
};

struct AttachResult {
  AttachStatus status = AttachStatus::kFailed;
  sharedmem_error error = SHAREDMEM_OK;
  AttachmentPtr attachment;
  ObjectFacts facts;  // kNotJoinable only
  // True when no live process has completed an attach to this object: it is
  // new, or left behind by users who all died, or by a creator that died
  // before end_attach. The caller owns its content and must either call
  // initialise_object or refuse it. False: live users completed their attach;
  // the content is theirs, to be checked, never reset.
  bool must_initialise = false;
};

// How long an attach or a detach waits for a peer holding the object's
// attach gate (a peer's attach or detach takes a moment; one that holds it
// longer is stuck) before it gives up with SHAREDMEM_E_TIMEOUT. The same
// bound on every platform.
inline constexpr std::chrono::milliseconds kGateWait{10'000};

// Opens the object for `request`, joins its lifetime, and maps it at its own
// size (core_size() may be 0 for an empty object). An absent name that the
// request may create comes back as must_initialise: made empty, or (where an
// object cannot exist without its size, Windows' sections) not made at all
// yet, with core_size() 0, for initialise_object to make; either way no
// memory is committed before the core has checked can_back. Returns with the
// attach gate held: no other process attaches or detaches until end_attach() or
// detach(), so "am I alone" stays true while the caller initialises. Never
// joins or changes an object owned by another user, open to other users than
// the request says, or of another type: it reports it (kNotJoinable).
AttachResult begin_attach(const AttachRequest& request);

// For must_initialise only: makes the object exactly what a new segment of
// `core_bytes` needs, all zero, with a fresh writer lock (creating it where
// begin_attach left none, replacing a leftover that is too small), and maps
// it afresh (previous core_base values are invalid). SHAREDMEM_E_NO_MEMORY
// when the system cannot back it (nothing then faults later on first touch).
// SHAREDMEM_E_EXISTS when an object appeared under the name meanwhile, made
// by a process outside the attach protocol (only a backend that leaves the
// name empty in begin_attach can see this): the core detaches and attaches
// again, and judges that object as it would any other.
sharedmem_error initialise_object(Attachment& attachment, std::size_t core_bytes);

// The caller has initialised or checked the object and will use it: counts
// this attachment as a completed user and releases the attach gate. On an
// error the attachment is not counted; the caller must detach it.
// `change_word` is the 32-bit word in the core's part of the mapping that
// changes with every change waiters should see: the word wait_for_change
// watches and wake_all wakes sleepers on, for the attachment's life.
sharedmem_error end_attach(Attachment& attachment,
                           const std::atomic<std::uint32_t>& change_word) noexcept;

// The core's part of the mapping (page-aligned) and its length.
void* core_base(const Attachment& attachment) noexcept;
std::size_t core_size(const Attachment& attachment) noexcept;

enum class Mapping {
  kUnmap,  // a normal close
  // Leave the pages mapped and the attachment's lock usable: at process exit
  // or unload, when other threads may still be inside a read or a write.
  // They go with the process.
  kKeep,
};

// Ends the attachment's share of the lifetime: frees the object if this was
// its last user, and unmaps it or keeps it mapped. Idempotent; the attachment
// object itself stays valid until destroyed. An attachment that never
// reached end_attach or initialise_object (the core refused the object)
// never frees it, it is not ours, unless it was empty and unused (made by
// this attach or left so): that holds nothing and may go. An error means the object may outlive this
// user (a peer held the gate too long, or the OS refused the removal); its
// next first user resets it either way.
sharedmem_error detach(Attachment& attachment, Mapping mapping) noexcept;

// When a lock or a wait gives up: the one deadline type of the seam. A
// deadline made with after() reads the clock only when first asked for
// (when()), so an uncontended lock never reads it: its timeout counts from
// the moment the backend first finds the lock taken.
class Deadline {
 public:
  using clock = std::chrono::steady_clock;
  static Deadline never() noexcept { return Deadline(clock::time_point::max(), -1); }
  static Deadline at(clock::time_point when) noexcept { return Deadline(when, -1); }
  static Deadline after(std::chrono::milliseconds timeout) noexcept {
    return Deadline(clock::time_point{}, timeout.count() < 0 ? 0 : timeout.count());
  }
  bool is_never() const noexcept { return pending_ms_ < 0 && when_ == clock::time_point::max(); }
  // The moment itself (time_point::max() for never()).
  clock::time_point when() noexcept {
    if (pending_ms_ >= 0) {
      when_ = clock::now() + std::chrono::milliseconds(pending_ms_);
      pending_ms_ = -1;
    }
    return when_;
  }

 private:
  Deadline(clock::time_point when, std::int64_t pending_ms) noexcept
      : when_(when), pending_ms_(pending_ms) {}
  clock::time_point when_;
  std::int64_t pending_ms_;  // >= 0: after(), the clock not read yet
};

// The writer lock serialises writers of one segment across processes. It is
// robust: if its holder dies, the next locker gets it with kOwnerDied. Its
// state is the backend's (bytes it keeps outside the core's part of the
// object: platform/writer_lock.hpp, one protocol for every backend). It belongs to the thread that took
// it, which may keep it across calls (a raw segment's sharedmem_lock, an
// in-place write) and must release it itself; a holder thread that ends
// without releasing it counts as dead (kOwnerDied for the next locker).
enum class LockResult {
  kAcquired,
  kOwnerDied,  // acquired; the previous holder died holding it
  kTimeout,    // a live holder kept it longer than the timeout
  kReentered,  // this very thread holds it, through this attachment or another of
               // the same segment (its in-place write is open, or a signal
               // handler interrupted its write)
  kCorrupted,  // the shared lock state is not one this library wrote
  kError,      // another OS error
};
// Whether the caller may keep the lock past the call that takes it. Only a
// lock kept across calls can outlive its thread, so only such a lock makes
// the backend watch for its thread's end (a cost the plain write skips).
enum class LockHold {
  kWithinCall,   // released before the public call that took it returns
  kAcrossCalls,  // sharedmem_lock, sharedmem_write_begin
};
// Gives up with kTimeout at `deadline` (never for Deadline::never()).
LockResult lock_writer(Attachment& attachment, Deadline deadline, LockHold hold) noexcept;
// Releases the writer lock if the calling thread holds it (through any
// attachment of the same object) and returns true; returns false, changing
// nothing, if it does not. The lock may be held across calls (an in-place
// write, a raw segment's user lock), but never handed to another thread.
// A release is a release operation (the holder's stores before it are
// visible to the next holder), and no more is asked of it: the full fence
// the wait protocol needs is the core's own, in every build (src/value.hpp:
// publish, wake_waiters).
bool unlock_writer(Attachment& attachment) noexcept;

// Where kCapabilities.names_removable (declared for every backend, defined
// and called only there): whether the attachment's name still leads to its
// object (sharedmem_check). kRemoved: the name was removed under the
// attachment (on Linux, by systemd-logind's RemoveIPC or a manual rm in
// /dev/shm) or now leads to another object; the attachment keeps working,
// but newcomers no longer reach it. kError: the OS could not tell (noted
// for take_os_error). Elsewhere a name lives as long as its object's
// holders, and the core takes it as leading there.
enum class NameState { kLeadsHere, kRemoved, kError };
NameState name_state(const Attachment& attachment) noexcept;

// Where kCapabilities.leftovers_persist (declared for every backend, defined
// and called only there): removes dead objects of the current user's
// segments in `space` (in a shared one: those the current user owns) that
// no process uses any more (every user was killed). Never touches a live
// object, another user's, or one this backend did not make, and never waits
// for a gate (an object being attached or detached is skipped). Looks at no
// more than `look_at_most` of the user's own objects (others' never count);
// *removed (if not null) gets how many it removed. When and how often to
// sweep is the core's choice (src/reclaim.cpp).
sharedmem_error sweep_dead_objects(Namespace space, std::uint32_t look_at_most,
                                   std::uint32_t* removed) noexcept;

// Waiting for a change (sharedmem_wait) of the attachment's change word
// (end_attach).
enum class WaitResult {
  kWoken,    // woken, the word changed, or the backend's wait slice ended: look again
  kTimeout,  // `deadline` passed
  kError,    // an OS error (noted for take_os_error)
};
// Sleeps while the change word holds `seen`, until a wake_all on the same
// object from any process, or `deadline`. May return kWoken early.
WaitResult wait_for_change(Attachment& attachment, std::uint32_t seen, Deadline deadline) noexcept;
// Wakes every wait_for_change on the attachment's object, in every process.
// Only wakes: the core changed the change word before the call (a sleeper
// whose `seen` still matches the word sleeps on).
void wake_all(Attachment& attachment) noexcept;

// Inspection (sharedmem_inspect, sharedmem_list): facts about the OS object
// under a segment's name, gathered from outside. A backend never joins the
// object's lifetime, never creates, resets or writes it, never maps it
// writable, and reads no byte of an object that is not the current user's
// own (owned by the user, private to the user, of the shared-memory type).
// The core judges the bytes it reads.
struct Inspection;  // per OS: a read-only hold on one object
struct InspectionDeleter {
  void operator()(Inspection* inspection) const noexcept;
};
using InspectionPtr = std::unique_ptr<Inspection, InspectionDeleter>;

enum class InspectStatus {
  kFound,   // facts are set; inspection is set when its bytes may be read
  kAbsent,  // nothing has the name
  kFailed,  // see error
};

struct InspectResult {
  InspectStatus status = InspectStatus::kFailed;
  sharedmem_error error = SHAREDMEM_OK;
  ObjectFacts facts;
  // Set only for an object of the user's own whose bytes may be read.
  InspectionPtr inspection;
};

// Looks at the object under segment `name` (validated) in `space`. A shared
// object's bytes may be read when the current user may open it for reading.
InspectResult inspect_object(const std::string& name, Namespace space);

// Copies up to `size` bytes at `offset` of the object into `buffer` and
// returns how many it copied (fewer where the object ends; 0 on an error).
// Never faults, even if the object shrinks meanwhile. Each call reads the
// object afresh: peers may change it between calls.
std::size_t read_object(Inspection& inspection, std::uint64_t offset, void* buffer,
                        std::size_t size) noexcept;

// Calls `visit` with the segment name of each object of the naming scheme
// in `space` (any type, valid segment name or not: the core filters),
// until it returns false. An error when the namespace cannot be read.
sharedmem_error list_objects(Namespace space,
                             const std::function<bool(const std::string& name)>& visit);

// The OS error code (errno, GetLastError) behind the last failure that the
// backend reported to this thread as SHAREDMEM_E_ACCESS_DENIED, _NO_MEMORY
// or _SYSTEM (a LockResult::kError too), or 0; taking it resets it, so that
// the core hands each public call only its own (platform/os_error.cpp).
int take_os_error() noexcept;

// Whether the system can still back `bytes` more bytes of shared memory
// for this process: the free space of the shm file system and the memory
// cgroups' headroom on Linux (read at most once a second, each answer's
// bytes counted against the figure meanwhile), the available commit on
// Windows. The core asks before it makes or grows an object, so that a
// limit gives SHAREDMEM_E_NO_MEMORY rather than a fault on first touch or
// the OOM killer.
bool can_back(std::uint64_t bytes) noexcept;

// The mutex of the core's process-wide registry of open handles. The
// backend holds it across fork() where the OS has fork (before its own
// registries: the core may call into the backend while holding it), so that
// a child never inherits it taken by a thread the child does not have.
std::mutex& handle_registry_mutex() noexcept;

// The size of a page of the mappings core_base returns (they start on one).
std::size_t page_size() noexcept;

// Largest core_bytes this platform can map.
std::uint64_t max_object_size() noexcept;

// "posix" or "windows".
const char* backend_name() noexcept;

}  // namespace sharedmem::platform

#include SHAREDMEM_PLATFORM_CAPABILITIES

#endif  // SHAREDMEM_PLATFORM_PLATFORM_HPP
