// SPDX-License-Identifier: MIT
// Windows implementation of the platform seam: Boost.Interprocess
// windows_shared_memory and mapped_region for the object and its mapping,
// named kernel objects for the attach gate, the writer lock's sleepers and
// owner slots, and the count of completed users.
//
// The seed's lifetime is native here: a page-file-backed section lives while
// some process holds a handle to it or a view of it, and the kernel closes a
// process's handles however it ends (ExitProcess, TerminateProcess, a crash).
// So detaching is just unmapping and closing; nothing is ever removed by hand.
// (Boost's shared_memory_object is a file emulation on Windows that outlives
// its users, which is why it is not used here.)
//
// Every object of a segment is named after it, in the session's namespace
// (Local\) or, when asked, the machine's (Global\):
//   <ns>\sharedmem.<name>         the section
//   <ns>\sharedmem.<name>#gate    mutex: held from begin_attach to end_attach
//   <ns>\sharedmem.<name>#writer  auto-reset event: set by a writer lock
//                                 release that finds sleepers
//   <ns>\sharedmem.<name>#slot.<n> event: attachment's owner slot n of the
//                                 writer lock, held while it lives
//                                 (writer_lock_windows.hpp)
//   <ns>\sharedmem.<name>#changed event: set by writers that find waiters
//                                 (sharedmem_wait)
//   <ns>\sharedmem.<name>#ready   event: a handle held by every user that
//                                 completed its attach, so it exists exactly
//                                 while one lives
// '#' is outside the segment name alphabet, so no segment's section can take
// the name of another segment's objects (all kernel object types share one
// namespace). Objects are created with a security descriptor whose owner is
// the current user and whose protected DACL admits only that user. An object
// found under one of these names that is owned by someone else or open to
// anyone else is refused (SHAREDMEM_E_NOT_OWNER); one of another type is
// refused (SHAREDMEM_E_INCOMPATIBLE). Sections are checked (READ_CONTROL)
// before they are opened for mapping.
//
// Shared segments (sharedmem_open_shared) are named <ns>\sharedmem#shared.<name>
// (and #gate... after it), apart from every private one; their objects carry
// the access list's DACL and are checked against it (owner_only_windows.hpp).
// A principal the DACL leaves out gets ERROR_ACCESS_DENIED from the kernel
// (SHAREDMEM_E_ACCESS_DENIED). Read-only attachments (SHAREDMEM_READ_ONLY)
// open the section with FILE_MAP_READ and the events with SYNCHRONIZE only,
// never the mutexes (see begin_read_only_attach).
//
// Who initialises: the creator of the section, whose memory the kernel
// zero-filled, or an attacher that gets the gate abandoned and finds a
// section but no #ready event: the gate's holder died mid-attach and no live
// process completed an attach, so the section is a dead creator's half-made
// one (the kernel abandons a dead thread's mutexes before it closes the
// process's handles, so a waiter can see it briefly). Nobody else ever
// resets a section, whatever its header says.
//
// Section layout: [0, core bytes) is the core's; the last kLockBytes of the
// section (as the kernel reports its size: every user sees the same) hold
// the writer lock's words (platform/lock_word.hpp), as on Linux. The lock
// is the library's own (platform/writer_lock.hpp): uncontended, a write
// locks and unlocks with atomic operations and no kernel call.
//
// Attaching can run from DLL_PROCESS_ATTACH (the Set/Get library's default
// segment), under the loader lock: everything here is kernel32/advapi32
// calls that load no DLL and start no thread, and the only waits are on
// mutexes of other processes, with a timeout. (GetSecurityInfo is avoided for
// that reason: it loads ntmarta.dll on demand; GetKernelObjectSecurity does
// not.)
#include <windows.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/windows_shared_memory.hpp>
#include <atomic>
#include <cstring>
#include <new>
#include <string>

#include "fault_injection.hpp"
#include "lock_word.hpp"
#include "os_error.hpp"
#include "owner_only_windows.hpp"
#include "platform.hpp"
#include "writer_lock_windows.hpp"

namespace bip = boost::interprocess;

namespace sharedmem::platform {
namespace {

constexpr DWORD kMutexAccess = SYNCHRONIZE | MUTEX_MODIFY_STATE | READ_CONTROL;
// The backend's bytes at the end of the section: the writer lock's words,
// the rest zero (the same size and place as on Linux).
constexpr std::size_t kLockBytes = lock_word::kAreaBytes;
constexpr DWORD kEventAccess = SYNCHRONIZE | READ_CONTROL;
constexpr DWORD kChangedAccess = kEventAccess | EVENT_MODIFY_STATE;
constexpr DWORD kWriterAccess = kChangedAccess;
// How long one wait on #changed lasts at most before the caller looks at
// the version again (see wait_for_change).
constexpr DWORD kWaitSliceMs = 50;

sharedmem_error mapped_win32(DWORD error) {
  switch (error) {
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return SHAREDMEM_E_ACCESS_DENIED;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_DISK_FULL:
      return SHAREDMEM_E_NO_MEMORY;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_FILENAME_EXCED_RANGE:
      return SHAREDMEM_E_INVALID_NAME;
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

// Maps a Win32 error and notes it for sharedmem_last_system_error.
sharedmem_error from_win32(DWORD error) {
  return record_os_error(mapped_win32(error), static_cast<int>(error));
}

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

using windows::ObjectKind;
using windows::OwnerOnly;

// Whether a kernel object of any type exists under `name`: tells "the
// creation was refused" (ACCESS_DENIED) from "the object there refused us"
// after ERROR_ACCESS_DENIED.
bool name_in_use(const std::wstring& name) {
  HANDLE probe = ::OpenMutexW(SYNCHRONIZE, FALSE, name.c_str());
  const DWORD error = probe ? ERROR_SUCCESS : ::GetLastError();
  if (probe) ::CloseHandle(probe);
  return error != ERROR_FILE_NOT_FOUND;
}

// The helpers below report an object that the attach may not join by
// returning kNotJoinable with its facts in `found` (begin_attach passes them
// on as AttachStatus::kNotJoinable, for the core to judge); they never join
// or change it.
constexpr sharedmem_error kNotJoinable = SHAREDMEM_E_NOT_OWNER;

sharedmem_error not_joinable(const std::wstring& name, bool shared_memory, std::string owner,
                             std::string mismatch, ObjectFacts& found) {
  found.os_name = std::string(name.begin(), name.end());
  found.shared_memory = shared_memory;
  found.owned_by_user = false;
  found.owner = std::move(owner);
  found.mismatch = std::move(mismatch);
  return kNotJoinable;
}

// Opening or creating `name` failed with `error`. ERROR_ACCESS_DENIED:
// private, an object there that refuses this user (not joinable), or the
// creation was refused; shared, the object's DACL does not let this user in
// (ACCESS_DENIED), as for anyone the list leaves out. ERROR_INVALID_HANDLE:
// a kernel object of another type has the name (whose, the OS does not
// tell). Anything else is an OS error.
sharedmem_error name_refused(const OwnerOnly& security, const std::wstring& name, DWORD error,
                             ObjectFacts& found) {
  if (error == ERROR_ACCESS_DENIED && !security.shared() && name_in_use(name))
    return not_joinable(name, true, "another principal (the object refuses this user)", {}, found);
  if (error == ERROR_INVALID_HANDLE) return not_joinable(name, false, {}, {}, found);
  return from_win32(error);
}

// An existing object that `security` does not accept is not joinable; the
// reason goes into the facts.
sharedmem_error check_existing(const OwnerOnly& security, const std::wstring& name, HANDLE object,
                               ObjectKind kind, ObjectFacts& found) {
  std::string why;
  if (security.accepts(object, kind, why)) return SHAREDMEM_OK;
  return not_joinable(name, true, "not as asked (see the detail)",
                      std::string(name.begin(), name.end()) + ": " + why, found);
}

// Judges what CreateMutexExW/CreateEventExW returned for `name`, read with
// GetLastError right after: a refused creation is an error, an existing
// object that `security` does not accept is not joinable.
sharedmem_error check_created(const OwnerOnly& security, const std::wstring& name, HANDLE object,
                              ObjectKind kind, ObjectFacts& found) {
  const DWORD error = ::GetLastError();
  if (object == nullptr) return name_refused(security, name, error, found);
  if (error == ERROR_ALREADY_EXISTS) return check_existing(security, name, object, kind, found);
  return SHAREDMEM_OK;
}

// Creates or opens the mutex `name`; refuses one that is not ours.
sharedmem_error open_mutex(OwnerOnly& security, const std::wstring& name, HANDLE& out,
                           ObjectFacts& found) {
  out = ::CreateMutexExW(security.mutex(), name.c_str(), 0, kMutexAccess);
  return check_created(security, name, out, ObjectKind::kMutex, found);
}

enum class Reset { kManual, kAuto };

// Creates or opens the event `name` (manual-reset: #ready, #changed;
// auto-reset: #writer) with `access`; refuses one that is not ours.
sharedmem_error open_event(OwnerOnly& security, const std::wstring& name, DWORD access,
                           HANDLE& out, ObjectFacts& found, Reset reset = Reset::kManual) {
  out = ::CreateEventExW(security.event(), name.c_str(),
                         reset == Reset::kManual ? CREATE_EVENT_MANUAL_RESET : 0, access);
  return check_created(security, name, out, ObjectKind::kEvent, found);
}

// Opens the existing event `name` with `access` (SYNCHRONIZE | READ_CONTROL
// at least), never creating it: `out` stays null when there is none.
// kNotJoinable when something not ours stands under that name.
sharedmem_error open_existing_event(const OwnerOnly& security, const std::wstring& name,
                                    DWORD access, HANDLE& out, ObjectFacts& found) {
  out = ::OpenEventW(access, FALSE, name.c_str());
  if (out == nullptr) {
    const DWORD error = ::GetLastError();
    if (error == ERROR_FILE_NOT_FOUND) return SHAREDMEM_OK;
    return name_refused(security, name, error, found);
  }
  return check_existing(security, name, out, ObjectKind::kEvent, found);
}

// Whether some process holds the #ready event `name`: a live completed user.
// kNotJoinable when something not ours stands under that name.
sharedmem_error ready_exists(const OwnerOnly& security, const std::wstring& name, bool& exists,
                             ObjectFacts& found) {
  HANDLE probe = nullptr;
  const sharedmem_error error = open_existing_event(security, name, kEventAccess, probe, found);
  exists = probe != nullptr;
  if (probe) ::CloseHandle(probe);
  return error;
}

}  // namespace

struct Attachment {
  OwnerOnly security;
  std::wstring wide_name;
  bip::windows_shared_memory object;
  bip::mapped_region region;
  HANDLE gate = nullptr;
  HANDLE writer = nullptr;   // #writer: the writer lock's sleepers wait on it
  HANDLE changed = nullptr;  // #changed: set by writers that find waiters
  HANDLE ready = nullptr;  // held from end_attach on: a completed user
  // The core's change word (end_attach): what a waiter looks at between
  // waits on #changed.
  const std::atomic<std::uint32_t>* change_word = nullptr;
  bool gate_held = false;
  std::string os_name;       // the section's name
  bool gate_abandoned = false;  // the gate's previous holder died holding it
  bool established = false;  // initialised or checked by the core
  bool keep_mapping = false;
  bool read_only = false;    // SHAREDMEM_READ_ONLY: no gate, no writer lock, a read-only view
  windows::WriterLockOwner writer_owner;  // bound by end_attach (never when read-only)

  // The backend's bytes at the end of the section (its size is at least kLockBytes).
  unsigned char* lock_area() const noexcept {
    return static_cast<unsigned char*>(region.get_address()) + region.get_size() - kLockBytes;
  }
  lock_word::Shared& writer_words() const noexcept {
    return *reinterpret_cast<lock_word::Shared*>(lock_area());
  }

  void release_gate() noexcept {
    if (gate_held) ::ReleaseMutex(gate);
    gate_held = false;
    if (gate) ::CloseHandle(gate);
    gate = nullptr;
  }
};

void AttachmentDeleter::operator()(Attachment* attachment) const noexcept {
  if (attachment == nullptr) return;
  (void)detach(*attachment, Mapping::kUnmap);
  // A thread still holds the writer lock through it (a misuse: a close under
  // another thread's in-place write or raw lock, which kept the mapping).
  // The attachment stays, so that the thread's end still frees the lock
  // (the thread-exit hook finds it); until then its slot is alive and the
  // lock held, and no other writer can take the slot that thread may still
  // be filling.
  if (attachment->keep_mapping && attachment->writer_owner.held()) return;
  if (!attachment->keep_mapping) {
    if (attachment->writer) ::CloseHandle(attachment->writer);
    if (attachment->changed) ::CloseHandle(attachment->changed);
    attachment->writer_owner.close_token();
  }
  delete attachment;
}

// Views and handles go before the gate, so that a first user that fails to
// initialise destroys its section before the gate lets anyone see it. With
// Mapping::kKeep, the view and the writer lock's handles stay for threads still inside
// a call; the view keeps the section alive until the process ends.
sharedmem_error detach(Attachment& attachment, Mapping mapping) noexcept {
  if (attachment.established) fault_point("detach_before_unlink");
  if (attachment.ready) ::CloseHandle(attachment.ready);  // no longer a completed user
  attachment.ready = nullptr;
  if (mapping == Mapping::kKeep) attachment.keep_mapping = true;
  if (!attachment.keep_mapping) bip::mapped_region().swap(attachment.region);
  bip::windows_shared_memory().swap(attachment.object);
  if (attachment.established) fault_point("detach_after_unlink");
  attachment.established = false;
  attachment.release_gate();
  return SHAREDMEM_OK;
}

namespace {

// The OS name of a segment's section (its other objects add #gate...).
// Shared segments live apart from private ones: "sharedmem#shared." cannot
// begin a private name ('#' is outside the segment name alphabet), so no
// private segment, whatever its name, meets a shared one.
std::string section_name(const AttachRequest& request) {
  return std::string(is_global(request.space) ? "Global\\" : "Local\\") +
         (is_shared(request.space) ? "sharedmem#shared." : "sharedmem.") + request.name;
}

// Opens the existing section `os_name` for mapping with `mode`, after
// checking it (READ_CONTROL) with `security`: what is refused is never
// opened for mapping. While the checking handle is open the name keeps
// naming the same section, so the one mapped is the one checked.
// kAbsent when there is none.
AttachStatus open_checked_section(const OwnerOnly& security, const std::string& os_name,
                                  const std::wstring& wide_name, bip::mode_t mode,
                                  bip::windows_shared_memory& out, sharedmem_error& error,
                                  ObjectFacts& found) {
  HANDLE control = ::OpenFileMappingW(READ_CONTROL, FALSE, wide_name.c_str());
  if (control == nullptr) {
    const DWORD code = ::GetLastError();
    if (code == ERROR_FILE_NOT_FOUND) return AttachStatus::kAbsent;
    error = name_refused(security, wide_name, code, found);
    return AttachStatus::kFailed;
  }
  error = check_existing(security, wide_name, control, ObjectKind::kSection, found);
  if (error == SHAREDMEM_OK) {
    try {
      bip::windows_shared_memory existing(bip::open_only, os_name.c_str(), mode);
      out.swap(existing);
    } catch (const bip::interprocess_exception& e) {
      const DWORD code = static_cast<DWORD>(e.get_native_error());
      error = name_refused(security, wide_name, code, found);
    }
  }
  ::CloseHandle(control);
  return error == SHAREDMEM_OK ? AttachStatus::kAttached : AttachStatus::kFailed;
}

// A read-only attach: no gate, no writer lock, nothing created or
// initialised. It joins a section only while a completed user lives: the
// section (checked first, like any open) and #changed (every user holds
// it) must exist, and, looked for after the section is held, #ready,
// which it then holds itself as a
// completed user does. A #ready that exists once the section is held is a
// completed user's of this very section (the name cannot change sections
// while a handle is open), so the section is initialised; and no first user
// resets it while the reader holds #ready (it sees a completed user).
AttachResult begin_read_only_attach(AttachmentPtr attachment, const std::string& os_name) {
  AttachResult result;
  Attachment& a = *attachment;
  result.status = open_checked_section(a.security, os_name, a.wide_name, bip::read_only, a.object,
                                       result.error, result.facts);
  if (result.status != AttachStatus::kAttached) return result;
  result.status = AttachStatus::kFailed;
  result.error = open_existing_event(a.security, a.wide_name + L"#changed", kEventAccess, a.changed,
                                     result.facts);
  if (result.error) return result;
  if (a.changed == nullptr) {
    result.status = AttachStatus::kAbsent;
    return result;
  }
  result.error = open_existing_event(a.security, a.wide_name + L"#ready", kEventAccess, a.ready,
                                     result.facts);
  if (result.error) return result;
  if (a.ready == nullptr) {
    result.status = AttachStatus::kAbsent;
    return result;
  }
  bip::mapped_region mapped(a.object, bip::read_only);
  a.region.swap(mapped);
  result.status = AttachStatus::kAttached;
  result.attachment = std::move(attachment);
  return result;
}

// begin_attach, with what the helpers found not joinable still an error
// (kNotJoinable).
AttachResult attach_or_refuse(const AttachRequest& request) {
  AttachResult result;
  try {
    const std::string os_name = section_name(request);
    auto attachment = AttachmentPtr(new Attachment);
    Attachment& a = *attachment;
    a.wide_name = widen(os_name);
    a.read_only = request.read_only;
    a.os_name = os_name;
    if (is_shared(request.space)) {
      result.error = a.security.init_shared(*request.access);
      if (result.error) return result;
    } else if (!a.security.init(SECTION_ALL_ACCESS, MUTEX_ALL_ACCESS, EVENT_ALL_ACCESS)) {
      result.error = record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
      return result;
    }
    if (request.read_only) return begin_read_only_attach(std::move(attachment), os_name);

    result.error = open_mutex(a.security, a.wide_name + L"#gate", a.gate, result.facts);
    if (result.error) return result;
    switch (::WaitForSingleObject(a.gate, static_cast<DWORD>(kGateWait.count()))) {
      case WAIT_ABANDONED:  // its holder died mid-attach; #ready tells what it left
        a.gate_abandoned = true;
        [[fallthrough]];
      case WAIT_OBJECT_0:
        a.gate_held = true;
        break;
      case WAIT_TIMEOUT:
        result.error = SHAREDMEM_E_TIMEOUT;
        return result;
      default:
        result.error = record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
        return result;
    }
    fault_point("attach_gate_held");

    result.error =
        open_event(a.security, a.wide_name + L"#writer", kWriterAccess, a.writer, result.facts,
                   Reset::kAuto);
    if (result.error) return result;
    result.error =
        open_event(a.security, a.wide_name + L"#changed", kChangedAccess, a.changed, result.facts);
    if (result.error) return result;

    // Under the gate nobody else attaches, but users detach without it
    // (closing a handle cannot wait for one): a section found here can
    // still vanish, and the core then starts over.
    const AttachStatus found = open_checked_section(a.security, os_name, a.wide_name,
                                                    bip::read_write, a.object, result.error,
                                                    result.facts);
    if (found == AttachStatus::kFailed) return result;
    if (found == AttachStatus::kAbsent) {
      if (request.may_create) {
        // A section commits its memory when it is made: initialise_object
        // makes it, once the core has checked that it can be backed.
        result.must_initialise = true;
        result.status = AttachStatus::kAttached;
        result.attachment = std::move(attachment);
      } else {
        result.status = AttachStatus::kAbsent;
      }
      return result;
    }

    bool completed_user_lives = false;
    result.error =
        ready_exists(a.security, a.wide_name + L"#ready", completed_user_lives, result.facts);
    if (result.error) return result;

    // Map the whole section, at its own (page-rounded) size; the core checks
    // an existing one's header before trusting its size.
    bip::mapped_region mapped(a.object, bip::read_write);
    a.region.swap(mapped);
    // A section with no completed user behind an abandoned gate is a dead
    // creator's. Without the abandonment it is either a foreign section or
    // one whose last users are closing: checked like any other, never reset.
    result.must_initialise = a.gate_abandoned && !completed_user_lives;
    result.status = AttachStatus::kAttached;
    result.attachment = std::move(attachment);
    return result;
  } catch (const bip::interprocess_exception& e) {
    result.error = from_win32(static_cast<DWORD>(e.get_native_error()));
  } catch (const std::bad_alloc&) {
    result.error = SHAREDMEM_E_NO_MEMORY;
  } catch (...) {
    result.error = SHAREDMEM_E_SYSTEM;
  }
  result.attachment.reset();
  return result;
}

}  // namespace

AttachResult begin_attach(const AttachRequest& request) {
  AttachResult result = attach_or_refuse(request);
  if (result.status == AttachStatus::kFailed && result.error == kNotJoinable) {
    result.status = AttachStatus::kNotJoinable;
    result.error = SHAREDMEM_OK;
    result.attachment.reset();
  }
  return result;
}

// A section cannot grow, and is made at its size: a new one is made here
// (zero-filled by the system), and so is one for a dead creator's leftover
// too small to hold the segment (which goes with our handles to it, unless
// someone else holds it still: then the name is taken, SHAREDMEM_E_EXISTS,
// as when a process outside the protocol made a section meanwhile). A
// leftover large enough is zeroed. Either gets a fresh writer lock.
sharedmem_error initialise_object(Attachment& attachment, std::size_t core_bytes) {
  attachment.established = true;
  const std::size_t size = core_bytes + kLockBytes;
  if (attachment.region.get_size() >= size) {
    std::memset(attachment.region.get_address(), 0, core_bytes);
    std::memset(attachment.lock_area(), 0, kLockBytes);
  } else {
    bip::mapped_region().swap(attachment.region);
    bip::windows_shared_memory().swap(attachment.object);
    try {
      bip::permissions permissions(attachment.security.section());
      bip::windows_shared_memory made(bip::create_only, attachment.os_name.c_str(),
                                      bip::read_write, size, permissions);
      bip::mapped_region mapped(made, bip::read_write);
      attachment.object.swap(made);
      attachment.region.swap(mapped);
    } catch (const bip::interprocess_exception& e) {
      bip::windows_shared_memory().swap(attachment.object);
      const DWORD code = static_cast<DWORD>(e.get_native_error());
      if (code == ERROR_ALREADY_EXISTS) return SHAREDMEM_E_EXISTS;
      // Refused: a section someone else made meanwhile refuses this user.
      if (code == ERROR_ACCESS_DENIED && !attachment.security.shared() &&
          name_in_use(attachment.wide_name))
        return SHAREDMEM_E_EXISTS;
      return from_win32(code);
    } catch (const std::bad_alloc&) {
      return SHAREDMEM_E_NO_MEMORY;
    }
  }
  windows::WriterLockOwner::initialise(attachment.writer_words());
  return SHAREDMEM_OK;
}

sharedmem_error end_attach(Attachment& attachment,
                           const std::atomic<std::uint32_t>& change_word) noexcept {
  attachment.established = true;
  attachment.change_word = &change_word;
  if (attachment.read_only) return SHAREDMEM_OK;  // holds #ready since begin_attach
  // A read-only attachment never takes the writer lock: unbound, it cannot.
  attachment.writer_owner.bind(attachment.writer, attachment.wide_name,
                               attachment.security.owner_slot());
  // A #ready that someone outside the protocol made since begin_attach is
  // the one thing that can still be found not joinable here: the error
  // stays SHAREDMEM_E_NOT_OWNER (the attach is not counted).
  sharedmem_error error;
  try {
    ObjectFacts found;
    error = open_event(attachment.security, attachment.wide_name + L"#ready", kEventAccess,
                       attachment.ready, found);
  } catch (const std::bad_alloc&) {
    error = SHAREDMEM_E_NO_MEMORY;
  }
  attachment.release_gate();
  return error;
}

void* core_base(const Attachment& attachment) noexcept {
  return attachment.region.get_size() ? attachment.region.get_address() : nullptr;
}

std::size_t core_size(const Attachment& attachment) noexcept {
  const std::size_t size = attachment.region.get_size();
  return size >= kLockBytes ? size - kLockBytes : 0;
}

LockResult lock_writer(Attachment& attachment, Deadline deadline, LockHold hold) noexcept {
  if (attachment.region.get_size() < kLockBytes) return LockResult::kCorrupted;
  return attachment.writer_owner.lock(attachment.writer_words(), deadline, hold);
}

bool unlock_writer(Attachment& attachment) noexcept {
  return attachment.region.get_size() >= kLockBytes &&
         attachment.writer_owner.unlock(attachment.writer_words());
}

// #changed is a manual-reset event that writers set and nobody pulses (a
// SetEvent/ResetEvent pair, like PulseEvent, can miss a waiter that is
// briefly not waiting). A waiter waits on it at most kWaitSliceMs at a time
// and returns kWoken once the word moved or the slice ended, so the core
// looks at the version again: a wake-up reset away by another waiter costs
// at most one slice, and none is lost. A waiter that finds the event set
// but the word unchanged (set for an earlier write) resets it and waits; a
// read-only one, which may not, sleeps out its slice instead.
WaitResult wait_for_change(Attachment& attachment, std::uint32_t seen, Deadline deadline) noexcept {
  const std::atomic<std::uint32_t>& word = *attachment.change_word;
  DWORD slice = kWaitSliceMs;
  if (!deadline.is_never()) {
    // Never a timeout before the deadline: the rest is rounded up, and a
    // wait that ends early (timer granularity) only ends the slice.
    const auto now = std::chrono::steady_clock::now();
    const auto until = deadline.when();
    if (now >= until) return WaitResult::kTimeout;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
    if (left < slice) slice = static_cast<DWORD>(left);
  }
  for (;;) {
    if (word.load(std::memory_order_seq_cst) != seen) return WaitResult::kWoken;
    switch (::WaitForSingleObject(attachment.changed, slice)) {
      case WAIT_OBJECT_0:
        if (word.load(std::memory_order_seq_cst) != seen) return WaitResult::kWoken;
        if (attachment.read_only) {
          // It may not reset the event (it has SYNCHRONIZE only): it sleeps
          // out the slice, which the core keeps short for read-only handles.
          ::Sleep(slice);
          return WaitResult::kWoken;
        }
        ::ResetEvent(attachment.changed);  // set for an earlier write
        continue;
      case WAIT_TIMEOUT:
        return WaitResult::kWoken;  // the slice ended: the core looks again
      default:
        (void)record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
        return WaitResult::kError;
    }
  }
}

void wake_all(Attachment& attachment) noexcept {
  ::SetEvent(attachment.changed);
}

bool can_back(std::uint64_t bytes) noexcept {
  // Windows commits a section's pages when it creates it; what the commit
  // limit can still hold is the bound (Wine does not enforce it itself).
  MEMORYSTATUSEX memory{};
  memory.dwLength = sizeof memory;
  return !::GlobalMemoryStatusEx(&memory) || bytes <= memory.ullAvailPageFile;
}

// No fork on Windows. Never destroyed (MinGW's std::mutex has no constant
// initialisation; made at load, not on first use): the exit detach may run
// after other static destructors.
alignas(std::mutex) unsigned char g_handle_registry_mutex_storage[sizeof(std::mutex)];
std::mutex* const g_handle_registry_mutex = new (g_handle_registry_mutex_storage) std::mutex;
std::mutex& handle_registry_mutex() noexcept { return *g_handle_registry_mutex; }

std::size_t page_size() noexcept {
  SYSTEM_INFO system{};
  ::GetSystemInfo(&system);
  return system.dwPageSize != 0 ? system.dwPageSize : 4096;
}

std::uint64_t max_object_size() noexcept {
  // A view needs contiguous address space: 1 TiB on 64-bit, as on POSIX;
  // 1 GiB of a 32-bit process's 2 GiB.
  return sizeof(void*) >= 8 ? std::uint64_t{1} << 40 : std::uint64_t{1} << 30;
}

const char* backend_name() noexcept { return "windows"; }

}  // namespace sharedmem::platform
