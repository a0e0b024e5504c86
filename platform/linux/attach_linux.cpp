// SPDX-License-Identifier: MIT
// Attach and detach: opening the object, the lifetime locks' protocol (the
// gate and the user byte, attachment_linux.hpp), sizing and mapping, and
// removal by the proven last user.
//
// A read-only attachment (SHAREDMEM_READ_ONLY) has an O_RDONLY descriptor,
// which cannot take an exclusive (F_WRLCK) lock. It takes the gate shared,
// which still holds off every read-write attacher and detacher (they take it
// exclusively), and joins only while another live user holds the user byte:
// users hold it only after completing their attach, so the content is valid.
// Otherwise it reports the name absent and touches nothing. It then holds the
// user byte shared like everyone else, but it never proves itself last and
// never removes: an object whose last user was read-only is left dead, for
// its next first user to reset and for the owner's sweep to reclaim.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "access_linux.hpp"
#include "attachment_linux.hpp"
#include "fault_injection.hpp"

namespace sharedmem::platform {
namespace {

using posix::from_errno;
using posix::kGateByte;
using posix::kLockBytes;
using posix::kShmDirectory;
using posix::kTag;
using posix::kUserByte;
using posix::ofd_lock;
using posix::path_of;
using posix::take_gate;

// Reports the object `status` describes as not joinable (kNotJoinable),
// with its facts. `usable`: it is of a type and mode a segment can be.
void report_not_joinable(const std::string& os_name, const struct stat& status, bool usable,
                         AttachResult& result) {
  result.status = AttachStatus::kNotJoinable;
  ObjectFacts& facts = result.facts;
  facts.os_name = path_of(os_name);
  facts.owned_by_user = status.st_uid == ::geteuid();
  facts.shared_memory = usable;
  facts.private_to_user = (status.st_mode & 077) == 0;
  facts.mode = static_cast<std::uint32_t>(status.st_mode & 07777);
  facts.owner = "uid " + std::to_string(status.st_uid);
}

// An open's errors, where the name is what ENAMETOOLONG is about, EACCES
// means the object exists but refuses us (another user's, or the user's own
// without write permission, which no segment has), and the rest mean
// something other than an object stands there (glibc turns EISDIR into
// EINVAL; ELOOP is a symlink, ENXIO a socket): reported, with what lstat
// says of it, as not joinable.
void report_open_error(int error, const std::string& os_name, AttachResult& result) {
  switch (error) {
    case ENAMETOOLONG:
      result.error = SHAREDMEM_E_INVALID_NAME;
      return;
    case EACCES:
    case EINVAL:
    case EISDIR:
    case ELOOP:
    case ENXIO:
    case ENODEV:
    case ENOTDIR: {
      struct stat status {};
      if (::lstat(path_of(os_name).c_str(), &status) != 0)
        result.error = record_os_error(SHAREDMEM_E_SYSTEM, errno);
      else
        report_not_joinable(os_name, status, false, result);
      return;
    }
    default:
      result.error = from_errno(error);
  }
}

// posix_fallocate restarts from scratch when a signal interrupts it, so a
// steady signal (a profiler's timer) could keep it from ever finishing: once
// interrupted, it runs again with the catchable signals blocked. SIGKILL and
// SIGSTOP still act. (Blocking them up front would cost two system calls on
// every creation.)
int reserve(int fd, off_t size) {
  const int first = ::posix_fallocate(fd, 0, size);
  if (first != EINTR) return first;
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  const bool masked = ::pthread_sigmask(SIG_BLOCK, &all, &previous) == 0;
  int error;
  do {
    error = ::posix_fallocate(fd, 0, size);
  } while (error == EINTR && !masked);
  if (masked) ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return error;
}

// The last step of every detach: under the gate, a user that gets the user
// lock exclusively is the last one and removes the object.
sharedmem_error leave(Attachment& a) noexcept {
  sharedmem_error result = SHAREDMEM_OK;
  if (a.fd() < 0) return result;
  if (a.lent) {
    // The description is another process's share too: leave its lock to
    // whoever still holds it (the close of our descriptor releases nothing
    // while they do).
    a.joined = false;
    if (a.gate_held) ofd_lock(a.fd(), kGateByte, F_UNLCK);
    a.gate_held = false;
    return result;
  }
  if (a.user_exclusive && !a.established && a.gate_held && a.mapped == 0) {
    // An empty object that this attach made or found, that nobody lives in
    // and that the core refused or gave up (short of memory, OPEN_ONLY):
    // it holds nothing, so it goes now rather than at the next sweep, and a
    // refused create leaves no name behind.
    (void)::shm_unlink(a.os_name.c_str());
  } else if (a.joined && a.established && !a.read_only) {
    if (!a.gate_held) {
      result = take_gate(a.fd());
      a.gate_held = result == SHAREDMEM_OK;
    }
    if (a.gate_held && ofd_lock(a.fd(), kUserByte, F_WRLCK) == 0) {
      fault_point("detach_before_unlink");
      if (::shm_unlink(a.os_name.c_str()) != 0 && errno != ENOENT) {
        // In the sticky /dev/shm only its owner may remove another user's
        // shared object (glibc's shm_unlink turns that EPERM into EACCES).
        // It stays dead, emptied (unless our mapping stays for threads still
        // in it), holding no memory and no content: the next first user
        // resets it, the owner's sweep removes it.
        if (a.shared && (errno == EPERM || errno == EACCES)) {
          if (!a.keep_mapping) (void)::ftruncate(a.fd(), 0);
        } else {
          result = from_errno(errno);
        }
      }
      fault_point("detach_after_unlink");
    }
    // Without the gate in time the object stays: its next first user resets
    // it, so no content passes on.
  }
  // A read-only attachment cannot prove itself last (that takes the user
  // byte exclusively): it only lets go. Last out, it leaves the object dead.
  // Unlock explicitly rather than leave it to close(): a child forked
  // without exec may still share this description.
  if (a.joined || a.gate_held) posix::ofd_unlock_gate_and_user(a.fd());
  a.joined = false;
  a.gate_held = false;
  return result;
}

// Whether the object `status` describes may be joined as a private segment
// of `user`'s (the effective user): a regular file of theirs that nobody
// else may open. Otherwise `result` reports it (kNotJoinable).
bool joinable_private(const std::string& os_name, const struct stat& status, uid_t user,
                      AttachResult& result) {
  if (status.st_uid == user && S_ISREG(status.st_mode) && (status.st_mode & 077) == 0) return true;
  report_not_joinable(os_name, status, S_ISREG(status.st_mode), result);
  return false;
}

// The last step of begin_attach for a joined attachment of the object
// `status` describes: notes its identity and maps exactly the size it has,
// never more, so that no access to the mapping can run past the end of the
// object (SIGBUS). On success the attachment goes to `result`.
void map_joined(AttachmentPtr attachment, const struct stat& status, AttachResult& result) {
  attachment->device = status.st_dev;
  attachment->inode = status.st_ino;
  if (sharedmem_error e = attachment->map(static_cast<std::size_t>(status.st_size))) {
    result.error = e;
    return;
  }
  result.status = AttachStatus::kAttached;
  result.attachment = std::move(attachment);
}

// The gate protocol of a read-only attachment (see the top of this file),
// on its opened, checked object: joins it only while another live user
// holds it, else reports kAbsent having changed nothing. Returns with the
// gate held shared, as begin_attach does.
AttachResult join_read_only(AttachmentPtr attachment) {
  AttachResult result;
  const int fd = attachment->fd();
  if (sharedmem_error e = take_gate(fd, F_RDLCK)) {
    result.error = e;
    return result;
  }
  attachment->gate_held = true;
  // Under the shared gate nobody initialises, removes or sweeps the object:
  // any lock on the user byte is a user that completed its attach.
  const int live = posix::user_byte_locked(fd);
  if (live < 0) {
    result.error = from_errno(errno);
    return result;
  }
  if (live == 0) {  // dead or never completed: nothing to read
    result.status = AttachStatus::kAbsent;
    return result;
  }
  if (int error = ofd_lock(fd, kUserByte, F_RDLCK)) {
    result.error = from_errno(error);
    return result;
  }
  attachment->joined = true;
  // Its last user may have removed it before we took the gate.
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    result.error = from_errno(errno);
    return result;
  }
  if (status.st_nlink == 0) {
    result.status = AttachStatus::kVanished;
    return result;
  }
  map_joined(std::move(attachment), status, result);
  return result;
}

// begin_attach for SHAREDMEM_READ_ONLY in the private namespace. Opened
// with O_NONBLOCK, so that a FIFO put under the name cannot block the open.
AttachResult begin_attach_read_only(const AttachRequest& request) {
  AttachResult result;
  try {
    auto attachment = AttachmentPtr(new Attachment);
    attachment->os_name = posix::shm_name_of(request.name);
    attachment->read_only = true;
    attachment->own_fd = ::open(path_of(attachment->os_name).c_str(),
                                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (attachment->own_fd < 0) {
      if (errno == ENOENT)
        result.status = AttachStatus::kAbsent;
      else
        report_open_error(errno, attachment->os_name, result);
      return result;
    }
    struct stat status {};
    if (::fstat(attachment->fd(), &status) != 0) {
      result.error = from_errno(errno);
      return result;
    }
    if (!joinable_private(attachment->os_name, status, ::geteuid(), result)) return result;
    return join_read_only(std::move(attachment));
  } catch (const std::bad_alloc&) {
    result.error = SHAREDMEM_E_NO_MEMORY;
  }
  return result;
}

}  // namespace

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
  delete attachment;
}

sharedmem_error detach(Attachment& attachment, Mapping mapping) noexcept {
  posix::unregister_attachment(attachment);
  if (mapping == Mapping::kKeep) attachment.keep_mapping = true;
  const sharedmem_error result = leave(attachment);
  if (!attachment.keep_mapping) attachment.unmap();
  return result;
}

namespace {

// Opens a shared segment's object for `request` into `attachment`, checked
// against its access list (access_linux.hpp); false, with `result` set, when
// there is none to attach to.
bool open_shared(const AttachRequest& request, Attachment& attachment, AttachResult& result) {
  posix::ResolvedAccess access;
  result.error = posix::resolve_access(*request.access, access);
  if (result.error != SHAREDMEM_OK) return false;
  attachment.shared = true;
  attachment.read_only = request.read_only;
  attachment.os_name = "/" + std::string(posix::kSharedPrefix) + request.name;
  switch (posix::open_shared_object(path_of(attachment.os_name), access, request.read_only,
                                    request.may_create, &attachment.own_fd, &result.facts,
                                    &result.error)) {
    case posix::SharedOpen::kOpened:
    case posix::SharedOpen::kCreated:
      return true;
    case posix::SharedOpen::kNotJoinable:
      result.status = AttachStatus::kNotJoinable;
      return false;
    case posix::SharedOpen::kAbsent:
      result.status = AttachStatus::kAbsent;
      return false;
    case posix::SharedOpen::kRaced:
      result.status = AttachStatus::kVanished;
      return false;
    case posix::SharedOpen::kFailed:
      break;
  }
  return false;
}

}  // namespace

AttachResult begin_attach(const AttachRequest& request) {
  AttachResult result;
  const bool shared = is_shared(request.space);
  if (request.read_only && !shared) return begin_attach_read_only(request);
  try {
    auto attachment = AttachmentPtr(new Attachment);
    uid_t user = 0;  // the effective user, for a private object
    if (shared) {
      if (!open_shared(request, *attachment, result)) return result;
      if (request.read_only) return join_read_only(std::move(attachment));
    } else {
      // Per-user namespace (object_linux.hpp). One open finds the object or,
      // when the request allows, makes it (empty: initialise_object sizes it),
      // as glibc's shm_open would (O_NOFOLLOW); O_NONBLOCK so that a FIFO put
      // under the name cannot block the open.
      user = ::geteuid();
      attachment->os_name = posix::shm_name_of(request.name, user);
      const int flags = O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK |
                        (request.may_create ? O_CREAT : 0);
      attachment->own_fd = ::open(path_of(attachment->os_name).c_str(), flags, 0600);
      if (attachment->own_fd < 0) {
        if (errno == ENOENT && !request.may_create)
          result.status = AttachStatus::kAbsent;
        else
          report_open_error(errno, attachment->os_name, result);
        return result;
      }
    }
    const int fd = attachment->fd();

    // The object's owner, type and permissions (a shared object's were
    // checked as it was opened) and whether its name still leads to it:
    // false when `result` says why not to go on.
    struct stat status {};
    const auto joinable = [&] {
      if (::fstat(fd, &status) != 0) {
        result.error = from_errno(errno);
        return false;
      }
      return attachment->shared || joinable_private(attachment->os_name, status, user, result);
    };
    fault_point("attach_before_gate");
    // The gate is free but for a moment of a peer's attach or detach; before
    // waiting for it, make sure the object is one to wait for.
    if (ofd_lock(fd, kGateByte, F_WRLCK) != 0) {
      if (!joinable()) return result;
      if (sharedmem_error e = take_gate(fd)) {
        result.error = e;
        return result;
      }
    }
    attachment->gate_held = true;
    fault_point("attach_gate_held");
    if (!joinable()) return result;
    // The last user of this object may have unlinked it while we waited for
    // the gate; a newer object may stand under the name by now.
    if (status.st_nlink == 0) {
      result.status = AttachStatus::kVanished;
      return result;
    }

    if (ofd_lock(fd, kUserByte, F_WRLCK) == 0) {
      attachment->user_exclusive = true;
      result.must_initialise = true;
      // Made just now under a umask that took owner bits away: the rights
      // every segment has (peers open it read-write).
      if (!attachment->shared && status.st_size == 0 && (status.st_mode & 0777) != 0600 &&
          ::fchmod(fd, 0600) != 0) {
        result.error = from_errno(errno);
        return result;
      }
    } else if (int error = ofd_lock(fd, kUserByte, F_RDLCK)) {
      result.error = from_errno(error);
      return result;
    }
    attachment->joined = true;
    map_joined(std::move(attachment), status, result);
  } catch (const std::bad_alloc&) {
    result.error = SHAREDMEM_E_NO_MEMORY;
  }
  return result;
}

NameState name_state(const Attachment& attachment) noexcept {
  struct stat held {};
  if (::fstat(attachment.fd(), &held) != 0) {
    (void)record_os_error(SHAREDMEM_E_SYSTEM, errno);
    return NameState::kError;
  }
  if (held.st_nlink == 0) return NameState::kRemoved;
  // The path, built without snprintf: sharedmem_check and sharedmem_wait
  // are async-signal-safe.
  char path[sizeof "/dev/shm" + 256];
  const std::size_t directory_length = std::strlen(kShmDirectory);
  const std::string& name = attachment.os_name;
  if (directory_length + name.size() + 1 > sizeof path) return NameState::kError;
  std::memcpy(path, kShmDirectory, directory_length);
  std::memcpy(path + directory_length, name.c_str(), name.size() + 1);
  struct stat named {};
  if (::lstat(path, &named) != 0) {
    if (errno == ENOENT) return NameState::kRemoved;
    (void)record_os_error(SHAREDMEM_E_SYSTEM, errno);
    return NameState::kError;
  }
  return named.st_dev == held.st_dev && named.st_ino == held.st_ino ? NameState::kLeadsHere
                                                                    : NameState::kRemoved;
}

sharedmem_error initialise_object(Attachment& attachment, std::size_t core_bytes) {
  // From here on the object is ours: a failure below leaves it to be removed.
  attachment.established = true;
  const bool leftover = attachment.mapped != 0;
  attachment.unmap();
  const int fd = attachment.fd();
  const std::size_t size = core_bytes + kLockBytes;
  // A leftover's content goes (a new object is empty already).
  if (leftover && ::ftruncate(fd, 0) != 0) return from_errno(errno);
  // The tag first, written at the object's end (which sizes the object), so
  // that even a creator killed while reserving leaves an object the sweep
  // recognises.
  if (::pwrite(fd, &kTag, sizeof kTag, static_cast<off_t>(size - sizeof kTag)) !=
      static_cast<ssize_t>(sizeof kTag))
    return from_errno(errno);
  // Reserve the pages now: tmpfs would otherwise raise SIGBUS on first touch
  // of a page it cannot back.
  if (int error = reserve(fd, static_cast<off_t>(size))) {
    (void)::ftruncate(fd, 0);
    return from_errno(error);
  }
  if (sharedmem_error e = attachment.map(size)) return e;
  posix::WriterLockOwner::initialise(attachment.writer());
  return SHAREDMEM_OK;
}

sharedmem_error end_attach(Attachment& attachment,
                           const std::atomic<std::uint32_t>& change_word) noexcept {
  attachment.established = true;
  // A process-shared futex keys on the mapped page: a word outside the
  // mapping would wait on, or wake, the wrong memory.
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  const auto* at = reinterpret_cast<const unsigned char*>(&change_word);
  const auto* base = static_cast<const unsigned char*>(attachment.base);
  if (base == nullptr || at < base || at + sizeof(std::uint32_t) > base + attachment.mapped)
    return SHAREDMEM_E_INVALID_ARGUMENT;
  attachment.change_futex = reinterpret_cast<std::uint32_t*>(const_cast<unsigned char*>(at));
  if (attachment.user_exclusive) {
    ofd_lock(attachment.fd(), kUserByte, F_RDLCK);  // atomic downgrade
    attachment.user_exclusive = false;
  }
  if (attachment.gate_held) {
    ofd_lock(attachment.fd(), kGateByte, F_UNLCK);
    attachment.gate_held = false;
  }
  if (sharedmem_error e = posix::register_attachment(attachment)) return e;
  // A read-only attachment never takes the writer lock: unbound, it cannot.
  if (!attachment.read_only)
    attachment.writer_owner.bind(attachment.fd(), attachment.device, attachment.inode);
  return SHAREDMEM_OK;
}

void* core_base(const Attachment& attachment) noexcept { return attachment.base; }

// For a first user before it initialises, the whole object as found: it must
// see all of a leftover to tell one of ours from a foreign object.
std::size_t core_size(const Attachment& attachment) noexcept {
  if (attachment.user_exclusive && !attachment.established) return attachment.mapped;
  return attachment.mapped >= kLockBytes ? attachment.mapped - kLockBytes : 0;
}

}  // namespace sharedmem::platform
