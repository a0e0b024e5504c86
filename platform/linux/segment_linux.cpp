// SPDX-License-Identifier: MIT
// POSIX (Linux) implementation of the platform seam: Boost.Interprocess
// shared_memory_object to create, open and remove the object; mmap for the
// mapping; open-file-description (OFD) locks for the Windows lifetime rule;
// the library's own writer lock (writer_lock_linux.cpp), kept past the
// core's bytes.
//
// POSIX shm outlives its users, so the lifetime is ours to keep. Every
// attachment holds its own open file description (OFD) of the object and
// two byte-range locks on it that the kernel drops when the description's
// last descriptor closes, including when the process dies by SIGKILL:
// - byte 0, the gate, exclusive while a process attaches or detaches, so
//   "am I first/last" and what follows (initialise, unlink) are atomic;
// - byte 1, the user lock, held shared by every attached process. Under the
//   gate, getting it exclusively proves there is no other live user.
// A read-only attachment (SHAREDMEM_READ_ONLY) has an O_RDONLY descriptor,
// which cannot take an exclusive (F_WRLCK) lock. It takes the gate shared,
// which still holds off every read-write attacher and detacher (they take it
// exclusively), and joins only while another live user holds the user byte:
// users hold it only after completing their attach, so the content is valid.
// Otherwise it reports the name absent and touches nothing. It then holds the
// user byte shared like everyone else, but it never proves itself last and
// never removes: an object whose last user was read-only is left dead, for
// its next first user to reset and for the owner's sweep to reclaim.
// OFD locks, unlike classic fcntl locks, belong to the description rather
// than the process, so closing another descriptor of the same file never
// drops them, and two attachments in one process count as two users. (A
// BSD or macOS backend, which has no OFD locks, would need another proof of
// "no other user": that is the one thing this file relies on Linux for.)
//
// Object layout: [0, core bytes) is the core's; the last kLockBytes hold the
// writer lock's words (platform/lock_word.hpp) and, in their last 8 bytes,
// the backend's tag. Nothing is sized or written before the gate proves who
// is alone, and nothing is removed except by a proven last user under the
// gate.
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "access_linux.hpp"
#include "fault_injection.hpp"
#include "lock_word.hpp"
#include "object_linux.hpp"
#include "os_error.hpp"
#include "platform.hpp"
#include "writer_lock_linux.hpp"

namespace bip = boost::interprocess;

namespace sharedmem::platform {
namespace {

using posix::kGateByte;
using posix::kUserByte;
using posix::kShmDirectory;
// The backend's bytes at the end of the object: the writer lock's words, then a
// tag that marks the object as made by this backend, so that the sweep of
// dead objects never removes a foreign file that happens to bear our prefix.
constexpr std::size_t kLockBytes = 64;
constexpr std::uint64_t kTag = 0x5849'534f'504d'4853ull;  // "SHMPOSIX"
static_assert(sizeof(lock_word::Shared) <= kLockBytes - sizeof kTag);
// How long attach and detach wait for a live peer holding the gate.
constexpr std::chrono::milliseconds kGateTimeout{10'000};
// Sweeping dead objects: at most this many of this user's names are looked
// at per sweep, and a process sweeps at most once per interval.
constexpr int kSweepLimit = 256;
constexpr std::chrono::seconds kSweepInterval{1};

// Sets (F_RDLCK/F_WRLCK) or clears (F_UNLCK) an OFD lock on one byte without
// waiting. Returns 0 or errno (EAGAIN when another description holds it).
int ofd_lock(int fd, off_t byte, short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  lock.l_pid = 0;  // required to be 0 for OFD locks
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0 ? 0 : errno;
}

// Takes the gate (F_WRLCK; F_RDLCK for a read-only descriptor), polling
// with backoff: F_OFD_SETLKW cannot time out, and a stopped peer must not
// hang us. The gate is only ever held for a few calls.
sharedmem_error take_gate(int fd, short type = F_WRLCK) {
  const auto deadline = std::chrono::steady_clock::now() + kGateTimeout;
  std::chrono::microseconds pause{20};
  for (;;) {
    const int error = ofd_lock(fd, kGateByte, type);
    if (error == 0) return SHAREDMEM_OK;
    if (error != EAGAIN && error != EACCES && error != EINTR)
      return record_os_error(SHAREDMEM_E_SYSTEM, error);
    if (std::chrono::steady_clock::now() >= deadline) return SHAREDMEM_E_TIMEOUT;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(2)) pause *= 2;
  }
}

sharedmem_error mapped_errno(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return SHAREDMEM_E_ACCESS_DENIED;
    case ENOMEM:
    case ENOSPC:
    case EFBIG:
      return SHAREDMEM_E_NO_MEMORY;
    // Out of file descriptors (EMFILE, ENFILE) is no shortage of shared
    // memory: SHAREDMEM_E_SYSTEM, with the errno for sharedmem_last_system_error.
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

// Maps errno and notes it for sharedmem_last_system_error.
sharedmem_error from_errno(int error) { return record_os_error(mapped_errno(error), error); }

std::string path_of(const std::string& os_name) { return kShmDirectory + os_name; }

// What stands under the name when opening it failed or found no regular
// file: something another user made (NOT_OWNER), or something of ours that
// is not a segment (INCOMPATIBLE): a directory, a symlink, a socket, a FIFO.
sharedmem_error classify_squat(const std::string& os_name) {
  struct stat status {};
  if (::lstat(path_of(os_name).c_str(), &status) != 0)
    return record_os_error(SHAREDMEM_E_SYSTEM, errno);
  return status.st_uid == ::geteuid() ? SHAREDMEM_E_INCOMPATIBLE : SHAREDMEM_E_NOT_OWNER;
}

// shm_open's errors, where the name is what ENAMETOOLONG is about, EACCES
// means the object exists but refuses us (another user's: NOT_OWNER; the
// user's own without write permission, which no segment has: INCOMPATIBLE,
// as inspection calls it FOREIGN), and the rest mean something other than an
// object stands there (glibc turns EISDIR into EINVAL; ELOOP is a symlink,
// ENXIO a socket).
sharedmem_error from_open_errno(int error, const std::string& os_name) {
  switch (error) {
    case ENAMETOOLONG:
      return SHAREDMEM_E_INVALID_NAME;
    case EACCES:
    case EINVAL:
    case EISDIR:
    case ELOOP:
    case ENXIO:
    case ENODEV:
    case ENOTDIR:
      return classify_squat(os_name);
    default:
      return from_errno(error);
  }
}

// posix_fallocate restarts from scratch when a signal interrupts it, so a
// steady signal (a profiler's timer) could keep it from ever finishing:
// block the catchable signals for the call. SIGKILL and SIGSTOP still act.
int reserve(int fd, off_t size) {
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

}  // namespace

struct Attachment {
  std::string os_name;
  bip::shared_memory_object object;
  bool shared = false;  // a shared segment's (access_linux.hpp), in own_fd
  void* base = nullptr;  // the whole object, mapped
  std::size_t mapped = 0;
  bool gate_held = false;
  bool joined = false;          // holds the user lock: a share of the lifetime
  bool established = false;     // initialised or checked by the core: ours to remove
  bool user_exclusive = false;  // first user, until end_attach downgrades
  bool keep_mapping = false;    // detached with Mapping::kKeep: never unmap
  bool read_only = false;       // SHAREDMEM_READ_ONLY: O_RDONLY, PROT_READ, never removes
  // The descriptor when not opened through `object` (a read-only open, which
  // needs O_NONBLOCK: Boost cannot pass it; a shared segment's); -1 otherwise.
  int own_fd = -1;
  // Fork support (see the registry below).
  Attachment* previous = nullptr;  // all three under g_registry_mutex
  Attachment* next = nullptr;
  bool registered = false;
  int fork_fd = -1;
  // This attachment's open file description is shared with a process
  // forked without exec that could get no description of its own (out of
  // file descriptors): that share is then the other process's too. Neither
  // releases its user lock explicitly nor proves through it that it is the
  // last user: the object lives while either holds the description, and
  // when both are gone it is a dead object for the next sweep to remove.
  bool lent = false;
  // The object's identity, for the writer lock's re-entry check.
  dev_t device = 0;
  ino_t inode = 0;
  posix::WriterLockOwner writer_owner;

  ~Attachment() {
    if (own_fd >= 0) ::close(own_fd);
  }

  int fd() const noexcept { return own_fd >= 0 ? own_fd : object.get_mapping_handle().handle; }

  lock_word::Shared& writer() const noexcept {
    return *reinterpret_cast<lock_word::Shared*>(static_cast<unsigned char*>(base) + mapped -
                                                 kLockBytes);
  }

  void unmap() noexcept {
    if (base != nullptr) ::munmap(base, mapped);
    base = nullptr;
    mapped = 0;
  }

  sharedmem_error map(std::size_t size) {
    unmap();
    if (size == 0) return SHAREDMEM_OK;
    const int protection = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
    void* address = ::mmap(nullptr, size, protection, MAP_SHARED, fd(), 0);
    if (address == MAP_FAILED) return from_errno(errno);
    base = address;
    mapped = size;
    return SHAREDMEM_OK;
  }
};

namespace {

// Established attachments, so that a child forked without exec becomes a
// user in its own right: before fork, each gets a new open file description
// of its object holding a shared user lock; the child swaps it in for the
// description it shares with the parent (so neither's detach can release the
// other's share), the parent closes its copy. Near the descriptor limit some
// get none before the fork; the child, which frees one descriptor per swap,
// then makes its own one at a time, and where even that fails keeps the
// shared one (Attachment::lent): never a silent loss of its share.
std::mutex g_registry_mutex;
Attachment* g_registry = nullptr;
std::once_flag g_fork_handlers_once;

// A new open file description of the object behind our descriptor `fd`,
// holding a shared user lock; -1 if none can be had. Async-signal-safe (a
// fork child of a threaded process may call nothing else).
int reopen_with_user_lock(int fd) noexcept {
  char path[32] = "/proc/self/fd/";
  char digits[16];
  int length = 0;
  for (unsigned value = static_cast<unsigned>(fd); length == 0 || value != 0; value /= 10)
    digits[length++] = static_cast<char>('0' + value % 10);
  std::size_t at = sizeof "/proc/self/fd/" - 1;
  while (length > 0) path[at++] = digits[--length];
  path[at] = '\0';
  // The same access as ours (a read-only attachment gets no write access).
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  // The /proc link names our own descriptor: following it is the point.
  const int fresh = ::open(path, (flags & O_ACCMODE) | O_CLOEXEC);
  if (fresh < 0) return -1;
  // We hold a shared lock on the user byte, so nobody holds it exclusively.
  if (ofd_lock(fresh, kUserByte, F_RDLCK) != 0) {
    ::close(fresh);
    return -1;
  }
  return fresh;
}

void fork_prepare() {
  g_registry_mutex.lock();
  for (Attachment* a = g_registry; a != nullptr; a = a->next)
    a->fork_fd = a->joined ? reopen_with_user_lock(a->fd()) : -1;
}

void fork_parent() {
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    if (a->fork_fd >= 0)
      ::close(a->fork_fd);  // the child's copy keeps its lock
    else if (a->joined)
      a->lent = true;  // the child may have only the description we share
    a->fork_fd = -1;
  }
  g_registry_mutex.unlock();
}

void fork_child() {
  // First the prepared descriptions (each swap frees a descriptor) ...
  constexpr int kSwapped = -2;
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    if (a->fork_fd < 0) continue;
    // Atomically closes the child's copy of the parent's description.
    (void)::dup2(a->fork_fd, a->fd());
    ::close(a->fork_fd);
    a->fork_fd = kSwapped;
    a->lent = false;
  }
  // ... then the rest, one at a time; while the shared description still
  // holds its lock, no peer can find itself the last user meanwhile.
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    const bool swapped = a->fork_fd == kSwapped;
    a->fork_fd = -1;
    bool own_description = swapped;
    if (a->joined && !swapped) {
      const int fresh = reopen_with_user_lock(a->fd());
      if (fresh < 0) {
        a->lent = true;  // keeps the description it shares with the parent
      } else {
        (void)::dup2(fresh, a->fd());
        ::close(fresh);
        a->lent = false;
        own_description = true;
      }
    }
    // The forking thread's hold on the writer lock stays the parent's; an
    // attachment that still shares the parent's description may not claim an
    // owner slot, whose liveness token would be the parent's lock too.
    a->writer_owner.forget_after_fork(own_description);
  }
  g_registry_mutex.unlock();
}

void register_attachment(Attachment& attachment) {
  std::call_once(g_fork_handlers_once,
                 [] { ::pthread_atfork(fork_prepare, fork_parent, fork_child); });
  const std::lock_guard<std::mutex> lock(g_registry_mutex);
  if (attachment.registered) return;
  attachment.next = g_registry;
  if (g_registry) g_registry->previous = &attachment;
  g_registry = &attachment;
  attachment.registered = true;
}

// Safe to call for an attachment that was never registered.
void unregister_attachment(Attachment& attachment) noexcept {
  const std::lock_guard<std::mutex> lock(g_registry_mutex);
  if (!attachment.registered) return;
  if (attachment.previous) attachment.previous->next = attachment.next;
  if (attachment.next) attachment.next->previous = attachment.previous;
  if (g_registry == &attachment) g_registry = attachment.next;
  attachment.previous = attachment.next = nullptr;
  attachment.registered = false;
}

// True for an object this backend made (or began to make): empty, or tagged.
bool made_by_us(int fd, const struct stat& status) {
  if (status.st_size == 0) return true;
  if (status.st_size < static_cast<off_t>(kLockBytes)) return false;
  std::uint64_t tag = 0;
  return ::pread(fd, &tag, sizeof tag, status.st_size - static_cast<off_t>(sizeof tag)) ==
             static_cast<ssize_t>(sizeof tag) &&
         tag == kTag;
}

// Removes the directory entry `entry` if it is a dead object of this user's
// that this backend made (every user was killed): the object would
// otherwise stay until the next user of its name. Safe against racing
// users: it is removed only while we hold its gate and its user lock
// exclusively and its name still names it; all removals by this library
// happen under the gate, so the name cannot change meanwhile. Never waits
// for a lock. True if it removed it.
// (`shared`: an object of the shared namespace, whose ACL lets others in.)
bool remove_if_dead(int directory_fd, const char* entry, bool shared) {
  const int fd = ::openat(directory_fd, entry, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  bool removed = false;
  struct stat status {};
  struct stat named {};
  if (::fstat(fd, &status) == 0 && S_ISREG(status.st_mode) && status.st_uid == ::geteuid() &&
      (shared || (status.st_mode & 077) == 0) && ofd_lock(fd, kGateByte, F_WRLCK) == 0) {
    if (ofd_lock(fd, kUserByte, F_WRLCK) == 0 && ::fstat(fd, &status) == 0 &&
        made_by_us(fd, status) &&
        ::fstatat(directory_fd, entry, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        named.st_ino == status.st_ino && named.st_dev == status.st_dev)
      removed = ::unlinkat(directory_fd, entry, 0) == 0;
    ofd_lock(fd, kUserByte, F_UNLCK);
    ofd_lock(fd, kGateByte, F_UNLCK);
  }
  ::close(fd);
  return removed;
}

// The time of this process's last rate-limited sweep (seconds of
// steady_clock; 0: none yet).
std::atomic<std::int64_t> g_last_sweep{0};

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
  if (a.joined && a.established && !a.read_only) {
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
  if (a.joined) ofd_lock(a.fd(), kUserByte, F_UNLCK);
  if (a.gate_held) ofd_lock(a.fd(), kGateByte, F_UNLCK);
  a.joined = false;
  a.gate_held = false;
  return result;
}

// Stats the object open on `fd` into `status` and refuses it unless it is a
// private regular file of the current user's.
sharedmem_error refuse_foreign(int fd, struct stat& status) {
  if (::fstat(fd, &status) != 0) return from_errno(errno);
  if (status.st_uid != ::geteuid()) return SHAREDMEM_E_NOT_OWNER;
  // Ours, but no segment: a FIFO, a device, a directory.
  if (!S_ISREG(status.st_mode)) return SHAREDMEM_E_INCOMPATIBLE;
  if ((status.st_mode & 077) != 0) return SHAREDMEM_E_NOT_OWNER;
  return SHAREDMEM_OK;
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
        result.error = from_open_errno(errno, attachment->os_name);
      return result;
    }
    struct stat status {};
    if (sharedmem_error e = refuse_foreign(attachment->fd(), status)) {
      result.error = e;
      return result;
    }
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
  unregister_attachment(attachment);
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
                                    request.may_create, &attachment.own_fd, &result.error)) {
    case posix::SharedOpen::kOpened:
    case posix::SharedOpen::kCreated:
      return true;
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
  if (request.global_scope) {
    result.error = SHAREDMEM_E_UNSUPPORTED;
    return result;
  }
  if (request.read_only && request.access == nullptr) return begin_attach_read_only(request);
  try {
    auto attachment = AttachmentPtr(new Attachment);
    if (request.access != nullptr) {
      if (!open_shared(request, *attachment, result)) return result;
      if (request.read_only) return join_read_only(std::move(attachment));
    } else {
      // Per-user namespace (object_linux.hpp).
      attachment->os_name = posix::shm_name_of(request.name);
      const char* os_name = attachment->os_name.c_str();
      try {
        bip::shared_memory_object existing(bip::open_only, os_name, bip::read_write);
        attachment->object.swap(existing);
      } catch (const bip::interprocess_exception& open_error) {
        if (open_error.get_native_error() != ENOENT) {
          result.error = from_open_errno(open_error.get_native_error(), attachment->os_name);
          return result;
        }
        if (!request.may_create) {
          result.status = AttachStatus::kAbsent;
          return result;
        }
        try {
          bip::shared_memory_object created(bip::create_only, os_name, bip::read_write,
                                            bip::permissions(0600));
          attachment->object.swap(created);
        } catch (const bip::interprocess_exception& create_error) {
          if (create_error.get_native_error() == EEXIST) {
            result.status = AttachStatus::kVanished;  // someone created it first: look again
            return result;
          }
          result.error = from_open_errno(create_error.get_native_error(), attachment->os_name);
          return result;
        }
      }
    }
    const int fd = attachment->fd();

    struct stat status {};
    // (A shared object's owner, type and permissions were checked as it was
    // opened.)
    if (sharedmem_error e = attachment->shared
                                ? (::fstat(fd, &status) == 0 ? SHAREDMEM_OK : from_errno(errno))
                                : refuse_foreign(fd, status)) {
      result.error = e;
      return result;
    }

    fault_point("attach_before_gate");
    if (sharedmem_error e = take_gate(fd)) {
      result.error = e;
      return result;
    }
    attachment->gate_held = true;
    fault_point("attach_gate_held");
    // The last user of this object may have unlinked it while we waited for
    // the gate; a newer object may stand under the name by now.
    if (::fstat(fd, &status) != 0 || status.st_nlink == 0) {
      result.status = AttachStatus::kVanished;
      return result;
    }

    if (ofd_lock(fd, kUserByte, F_WRLCK) == 0) {
      attachment->user_exclusive = true;
      result.must_initialise = true;
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

// Looks at this user's entries only: an entry of another user, or anything
// but a regular private file (in the shared namespace: a regular file the
// user owns, whatever its ACL), is skipped before it is opened and never
// counts toward kSweepLimit, so that nobody else's files can use up a
// sweep (readdir's order is the file system's: newest first on tmpfs).
sharedmem_error sweep_dead_objects(bool global_scope, bool shared, Sweep when,
                                   std::uint32_t* removed) noexcept {
  if (removed != nullptr) *removed = 0;
  if (global_scope) return SHAREDMEM_E_UNSUPPORTED;
  if (when == Sweep::kRateLimited) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t previous = g_last_sweep.load();
    if (previous != 0 && now - previous < kSweepInterval.count()) return SHAREDMEM_OK;
    if (!g_last_sweep.compare_exchange_strong(previous, now)) return SHAREDMEM_OK;
  }
  DIR* directory = ::opendir(kShmDirectory);
  if (directory == nullptr) return from_errno(errno);
  char prefix[64];
  const int prefix_length =
      shared ? std::snprintf(prefix, sizeof prefix, "%s", posix::kSharedPrefix)
             : std::snprintf(prefix, sizeof prefix, "sharedmem.%lu.",
                             static_cast<unsigned long>(::geteuid()));
  const uid_t user = ::geteuid();
  std::uint32_t count = 0;
  int looked_at = 0;
  while (const dirent* entry = ::readdir(directory)) {
    if (std::strncmp(entry->d_name, prefix, static_cast<std::size_t>(prefix_length)) != 0)
      continue;
    struct stat status {};
    if (::fstatat(::dirfd(directory), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(status.st_mode) || status.st_uid != user ||
        (!shared && (status.st_mode & 077) != 0))
      continue;
    if (when == Sweep::kRateLimited && ++looked_at > kSweepLimit) break;
    if (remove_if_dead(::dirfd(directory), entry->d_name, shared)) ++count;
  }
  ::closedir(directory);
  if (removed != nullptr) *removed = count;
  return SHAREDMEM_OK;
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
  attachment.unmap();
  const int fd = attachment.fd();
  const std::size_t size = core_bytes + kLockBytes;
  if (::ftruncate(fd, 0) != 0) return from_errno(errno);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return from_errno(errno);
  // Tag first, so that even a creator killed while reserving leaves an object
  // the sweep recognises.
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

sharedmem_error end_attach(Attachment& attachment) noexcept {
  attachment.established = true;
  if (attachment.user_exclusive) {
    ofd_lock(attachment.fd(), kUserByte, F_RDLCK);  // atomic downgrade
    attachment.user_exclusive = false;
  }
  if (attachment.gate_held) {
    ofd_lock(attachment.fd(), kGateByte, F_UNLCK);
    attachment.gate_held = false;
  }
  try {
    register_attachment(attachment);
  } catch (...) {  // std::system_error from std::call_once or the mutex
    return SHAREDMEM_E_SYSTEM;
  }
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

LockResult lock_writer(Attachment& attachment, Deadline deadline, LockHold hold) noexcept {
  if (attachment.mapped < kLockBytes) return LockResult::kCorrupted;
  return attachment.writer_owner.lock(attachment.writer(), deadline, hold);
}

bool unlock_writer(Attachment& attachment) noexcept {
  return attachment.mapped >= kLockBytes && attachment.writer_owner.unlock(attachment.writer());
}

namespace {

// The futex of a word in the attachment's mapping, or null if the word is
// not in it (a shared futex keys on the mapped page: a word elsewhere would
// wait on, or wake, the wrong memory).
std::uint32_t* futex_of(const Attachment& attachment, const std::atomic<std::uint32_t>& word) {
  const auto* at = reinterpret_cast<const unsigned char*>(&word);
  const auto* base = static_cast<const unsigned char*>(attachment.base);
  if (base == nullptr || at < base || at + sizeof(std::uint32_t) > base + attachment.mapped)
    return nullptr;
  return reinterpret_cast<std::uint32_t*>(const_cast<unsigned char*>(at));
}

}  // namespace

// A process-shared futex (never FUTEX_PRIVATE_FLAG: waiters and wakers are
// in different processes); FUTEX_WAIT_BITSET takes an absolute deadline, on
// CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME: steady_clock's clock.
WaitResult wait_for_change(Attachment& attachment, const std::atomic<std::uint32_t>& word,
                           std::uint32_t seen, Deadline deadline) noexcept {
  std::uint32_t* futex = futex_of(attachment, word);
  if (futex == nullptr) return WaitResult::kError;
  struct timespec until {};
  const struct timespec* timeout = nullptr;
  if (!deadline.is_never()) {
    const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           deadline.when().time_since_epoch())
                           .count();
    until.tv_sec = static_cast<time_t>(since / 1'000'000'000);
    until.tv_nsec = static_cast<long>(since % 1'000'000'000);
    timeout = &until;
  }
  if (::syscall(SYS_futex, futex, FUTEX_WAIT_BITSET, seen, timeout, nullptr,
                FUTEX_BITSET_MATCH_ANY) == 0)
    return WaitResult::kWoken;
  switch (errno) {
    case EAGAIN:  // the word had changed already
    case EINTR:
      return WaitResult::kWoken;
    case ETIMEDOUT:
      return WaitResult::kTimeout;
    default:
      (void)record_os_error(SHAREDMEM_E_SYSTEM, errno);
      return WaitResult::kError;
  }
}

void wake_all(Attachment& attachment, const std::atomic<std::uint32_t>& word) noexcept {
  std::uint32_t* futex = futex_of(attachment, word);
  if (futex == nullptr) return;
  ::syscall(SYS_futex, futex, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

namespace {

// Reads a whole small file into `buffer`; false if it cannot.
bool read_small_file(const std::string& path, char* buffer, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, buffer, size - 1);
  ::close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  return true;
}

// The value of `key` in a memory.stat file, or 0.
std::uint64_t stat_value(const std::string& path, const char* key) {
  char text[8192];
  if (!read_small_file(path, text, sizeof text)) return 0;
  const std::size_t key_length = std::strlen(key);
  for (const char* line = text; line && *line; line = std::strchr(line, '\n')) {
    if (*line == '\n') ++line;
    if (std::strncmp(line, key, key_length) == 0 && line[key_length] == ' ')
      return std::strtoull(line + key_length + 1, nullptr, 10);
  }
  return 0;
}

// One memory cgroup of this process (its own or an ancestor) and its limit.
struct CgroupLevel {
  std::string directory;
  bool v2 = false;
  std::uint64_t limit = UINT64_MAX;  // UINT64_MAX: none
};

// A limit at or above this is "no limit" (cgroup v1 writes LONG_MAX rounded
// down to a page).
constexpr std::uint64_t kNoCgroupLimit = std::uint64_t{1} << 62;

// The limit in one cgroup directory, or UINT64_MAX.
std::uint64_t cgroup_limit(const std::string& directory, bool v2) {
  char text[64];
  if (!read_small_file(directory + (v2 ? "/memory.max" : "/memory.limit_in_bytes"), text,
                       sizeof text) ||
      std::strncmp(text, "max", 3) == 0)
    return UINT64_MAX;
  const std::uint64_t limit = std::strtoull(text, nullptr, 10);
  return limit >= kNoCgroupLimit ? UINT64_MAX : limit;
}

// This process's memory cgroups with a limit: its own and its ancestors',
// for cgroup v2 ("0::<path>") and v1 ("<n>:...memory...:<path>").
std::vector<CgroupLevel> limited_cgroups() {
  std::vector<CgroupLevel> levels;
  char text[4096];
  if (!read_small_file("/proc/self/cgroup", text, sizeof text)) return levels;
  char* cursor = nullptr;
  for (char* line = ::strtok_r(text, "\n", &cursor); line;
       line = ::strtok_r(nullptr, "\n", &cursor)) {
    char* controllers = std::strchr(line, ':');
    char* path = controllers ? std::strchr(controllers + 1, ':') : nullptr;
    if (!path) continue;
    *path++ = '\0';
    ++controllers;
    bool v2 = false;
    if (std::strcmp(line, "0") == 0 && *controllers == '\0') {
      v2 = true;
    } else {
      bool memory = false;
      for (char* c = controllers; c;) {
        char* comma = std::strchr(c, ',');
        if (comma) *comma = '\0';
        memory = memory || std::strcmp(c, "memory") == 0;
        c = comma ? comma + 1 : nullptr;
      }
      if (!memory) continue;
    }
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    for (std::string relative = path;;) {
      CgroupLevel level{root + relative, v2, UINT64_MAX};
      level.limit = cgroup_limit(level.directory, v2);
      if (level.limit != UINT64_MAX) levels.push_back(std::move(level));
      const std::size_t slash = relative.find_last_of('/');
      if (slash == std::string::npos || relative == "/") break;
      relative.resize(slash == 0 ? 1 : slash);
    }
  }
  return levels;
}

// Headroom of one limited cgroup: its limit minus what it uses that cannot
// be reclaimed. Its usage counts reclaimable file cache too; the cache (in
// memory.stat, far dearer to read) is subtracted only when the plain figure
// falls short of `needed`.
std::uint64_t cgroup_headroom(const CgroupLevel& level, std::uint64_t needed) {
  char text[64];
  if (!read_small_file(level.directory + (level.v2 ? "/memory.current" : "/memory.usage_in_bytes"),
                       text, sizeof text))
    return UINT64_MAX;
  std::uint64_t used = std::strtoull(text, nullptr, 10);
  if (level.limit > used && level.limit - used >= needed) return level.limit - used;
  const std::uint64_t reclaimable = stat_value(level.directory + "/memory.stat",
                                               level.v2 ? "inactive_file" : "total_inactive_file");
  used = used > reclaimable ? used - reclaimable : 0;
  return level.limit > used ? level.limit - used : 0;
}

// The limited cgroups, as last read. Reading /proc/self/cgroup and the
// limits costs tens of microseconds per file on some kernels, so a process
// reads them at most once a second (and again after a fork): a limit set or
// a cgroup changed since is seen within a second.
struct CgroupCache {
  std::mutex mutex;
  pid_t pid = 0;
  std::chrono::steady_clock::time_point read_at{};
  std::vector<CgroupLevel> levels;
};
constexpr std::chrono::seconds kCgroupCacheLifetime{1};
// At namespace scope: the library keeps no function-local static initialised
// on first use (tests/check_no_guarded_statics.cmake).
CgroupCache g_cgroup_cache;

std::vector<CgroupLevel> current_limited_cgroups() {
  CgroupCache& cache = g_cgroup_cache;
  // Never waits: a fork child may inherit the mutex held by a thread it
  // does not have; it then reads afresh.
  std::unique_lock<std::mutex> lock(cache.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return limited_cgroups();
  const auto now = std::chrono::steady_clock::now();
  if (cache.pid != ::getpid() || now - cache.read_at >= kCgroupCacheLifetime) {
    cache.levels = limited_cgroups();
    cache.pid = ::getpid();
    cache.read_at = now;
  }
  return cache.levels;
}

}  // namespace

std::uint64_t memory_headroom(std::uint64_t needed) noexcept {
  std::uint64_t headroom = UINT64_MAX;
  struct statvfs space {};
  if (::statvfs(kShmDirectory, &space) == 0 && space.f_blocks != 0)
    headroom = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
  try {
    for (const CgroupLevel& level : current_limited_cgroups()) {
      const std::uint64_t here = cgroup_headroom(level, needed);
      if (here < headroom) headroom = here;
    }
  } catch (...) {  // std::bad_alloc: go by the file system alone
  }
  return headroom;
}

std::size_t page_size() noexcept {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

std::uint64_t max_object_size() noexcept {
  // off_t is 64-bit here; beyond 1 TiB, fail early with a clear size error
  // rather than late with whatever mmap says.
  return std::uint64_t{1} << 40;
}

const char* backend_name() noexcept { return "posix"; }

#if defined(SHAREDMEM_FAULT_INJECTION)
void terminate_self() noexcept {
  ::raise(SIGKILL);
  ::_exit(137);  // not reached
}

void stop_self() noexcept { ::raise(SIGSTOP); }
#endif

}  // namespace sharedmem::platform
