// SPDX-License-Identifier: MIT
// POSIX implementation of the platform seam: Boost.Interprocess
// shared_memory_object and mapped_region for the object and its mapping, and
// open-file-description (OFD) locks for the Windows lifetime rule.
//
// POSIX shm outlives its users, so the lifetime is ours to keep. Every
// attachment holds its own open file description (OFD) of the object and
// two byte-range locks on it that the kernel drops when the description's
// last descriptor closes, including when the process dies by SIGKILL:
// - byte 0, the gate, exclusive while a process attaches or detaches, so
//   "am I first/last" and what follows (initialise, unlink) are atomic;
// - byte 1, the user lock, held shared by every attached process. Under the
//   gate, getting it exclusively means there is no other live user.
// OFD locks, unlike classic fcntl locks, belong to the description rather
// than the process, so closing another descriptor of the same file never
// drops them, and two attachments in one process count as two users.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <new>
#include <thread>

#include "fault_injection.hpp"
#include "platform.hpp"

namespace bip = boost::interprocess;

namespace sharedmem::platform {
namespace {

constexpr off_t kGateByte = 0;
constexpr off_t kUserByte = 1;
// How long attach and detach wait for a live peer holding the gate.
constexpr std::chrono::milliseconds kGateTimeout{10'000};

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

// Takes the gate, polling with backoff: F_OFD_SETLKW cannot time out, and a
// stopped peer must not hang us. The gate is only ever held for a few calls.
sharedmem_error take_gate(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + kGateTimeout;
  std::chrono::microseconds pause{20};
  for (;;) {
    const int error = ofd_lock(fd, kGateByte, F_WRLCK);
    if (error == 0) return SHAREDMEM_OK;
    if (error != EAGAIN && error != EACCES && error != EINTR) return SHAREDMEM_E_SYSTEM;
    if (std::chrono::steady_clock::now() >= deadline) return SHAREDMEM_E_TIMEOUT;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(2)) pause *= 2;
  }
}

sharedmem_error from_errno(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return SHAREDMEM_E_ACCESS_DENIED;
    case ENOMEM:
    case ENOSPC:
    case EFBIG:
    case EMFILE:
    case ENFILE:
      return SHAREDMEM_E_NO_MEMORY;
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

// The same for shm_open, where the name is what EINVAL and ENAMETOOLONG
// are about, and EACCES means the object exists and is another user's.
sharedmem_error from_open_errno(int error) {
  switch (error) {
    case EACCES:
      return SHAREDMEM_E_NOT_OWNER;
    case EINVAL:
    case ENAMETOOLONG:
      return SHAREDMEM_E_INVALID_NAME;
    default:
      return from_errno(error);
  }
}

}  // namespace

struct Attachment {
  std::string os_name;
  bip::shared_memory_object object;
  bip::mapped_region region;
  pid_t attached_pid = ::getpid();
  bool joined = false;      // holds the user lock: a share of the lifetime
  bool keep_object = false;  // never unlink: the object is not ours
  bool gate_held = false;
  bool user_exclusive = false;  // first user, until end_attach downgrades

  int fd() const noexcept { return object.get_mapping_handle().handle; }

  sharedmem_error map(std::size_t size) {
    region = bip::mapped_region();
    if (size == 0) return SHAREDMEM_OK;
    try {
      bip::mapped_region mapped(object, bip::read_write, 0, size);
      region.swap(mapped);
      return SHAREDMEM_OK;
    } catch (const bip::interprocess_exception& e) {
      return from_errno(e.get_native_error());
    }
  }

  ~Attachment() {
    region = bip::mapped_region();
    // A forked child shares its parent's description and locks: only the
    // process that attached may decide whether it is the last user.
    if (attached_pid == ::getpid() && fd() >= 0) {
      if (joined && !keep_object && (gate_held || take_gate(fd()) == SHAREDMEM_OK)) {
        gate_held = true;
        if (ofd_lock(fd(), kUserByte, F_WRLCK) == 0) {
          fault_point("detach_before_unlink");
          bip::shared_memory_object::remove(os_name.c_str());
          fault_point("detach_after_unlink");
        }
      }
      // If the gate was not had in time, the object stays: its next first
      // user resets it, so the lifetime rule still holds for content.
      //
      // Unlock explicitly rather than leave it to close(): a child forked
      // without exec shares this description, so closing our descriptor
      // would release nothing while the child lives, and the gate would
      // stay shut for everyone.
      ofd_lock(fd(), kUserByte, F_UNLCK);
      if (gate_held) ofd_lock(fd(), kGateByte, F_UNLCK);
    }
  }
};

void AttachmentDeleter::operator()(Attachment* attachment) const noexcept { delete attachment; }

OpenResult begin_attach(const std::string& name, std::size_t size, std::uint32_t flags) {
  (void)size;  // POSIX objects are created empty and sized by reset_object
  OpenResult result;
  if (flags & SHAREDMEM_SCOPE_GLOBAL) {
    result.error = SHAREDMEM_E_UNSUPPORTED;
    return result;
  }
  // Per-user namespace: other users get their own object, as each Windows
  // session gets its own Local\ namespace.
  const std::string os_name = "/sharedmem." + std::to_string(::geteuid()) + "." + name;

  for (;;) {
    auto attachment = AttachmentPtr(new Attachment);
    attachment->os_name = os_name;
    try {
      bip::permissions owner_only(0600);
      bip::shared_memory_object object(bip::open_or_create, os_name.c_str(), bip::read_write,
                                       owner_only);
      attachment->object.swap(object);
    } catch (const bip::interprocess_exception& e) {
      const int error = e.get_native_error();
      result.error = from_open_errno(error);
      return result;
    }
    const int fd = attachment->fd();

    struct stat status {};
    if (::fstat(fd, &status) != 0) {
      result.error = from_errno(errno);
      return result;
    }
    if (status.st_uid != ::geteuid() || (status.st_mode & 077) != 0) {
      result.error = SHAREDMEM_E_NOT_OWNER;
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
    // the gate; a newer object may stand under the name by now. Start over.
    if (::fstat(fd, &status) != 0 || status.st_nlink == 0) continue;

    if (ofd_lock(fd, kUserByte, F_WRLCK) == 0) {
      attachment->user_exclusive = true;
      result.first = true;
    } else if (int error = ofd_lock(fd, kUserByte, F_RDLCK)) {
      result.error = from_errno(error);
      return result;
    }
    attachment->joined = true;
    // Map exactly the size the object has, never more, so that no access to
    // the mapping can run past the end of the object (SIGBUS).
    if (sharedmem_error e = attachment->map(static_cast<std::size_t>(status.st_size))) {
      // A first user that cannot look inside cannot tell ours from foreign.
      attachment->keep_object = result.first;
      result.error = e;
      return result;
    }
    result.attachment = std::move(attachment);
    return result;
  }
}

void end_attach(Attachment& attachment) noexcept {
  if (attachment.user_exclusive) {
    ofd_lock(attachment.fd(), kUserByte, F_RDLCK);  // atomic downgrade
    attachment.user_exclusive = false;
  }
  if (attachment.gate_held) {
    ofd_lock(attachment.fd(), kGateByte, F_UNLCK);
    attachment.gate_held = false;
  }
}

void keep_object_on_detach(Attachment& attachment) noexcept { attachment.keep_object = true; }

sharedmem_error reset_object(Attachment& attachment, std::size_t size) {
  attachment.region = bip::mapped_region();
  const int fd = attachment.fd();
  if (::ftruncate(fd, 0) != 0) return from_errno(errno);
  // Refuse early what cannot fit: tmpfs would fill itself up page by page
  // before posix_fallocate gives up.
  struct statvfs space {};
  if (::fstatvfs(fd, &space) == 0 && space.f_blocks != 0 &&
      size / space.f_frsize >= space.f_bavail)
    return SHAREDMEM_E_NO_MEMORY;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return from_errno(errno);
  // Reserve the pages now: tmpfs would otherwise raise SIGBUS on first touch
  // of a page it cannot back.
  int error;
  while ((error = ::posix_fallocate(fd, 0, static_cast<off_t>(size))) == EINTR) {
  }
  if (error != 0) {
    (void)::ftruncate(fd, 0);
    return from_errno(error);
  }
  return attachment.map(size);
}

void* mapped_base(const Attachment& attachment) noexcept {
  return attachment.region.get_size() ? attachment.region.get_address() : nullptr;
}

std::size_t mapped_size(const Attachment& attachment) noexcept {
  return attachment.region.get_size();
}

sharedmem_error init_writer_lock(Attachment&, void* storage) noexcept {
  static_assert(sizeof(pthread_mutex_t) <= kWriterLockStorage);
  pthread_mutexattr_t attributes;
  if (::pthread_mutexattr_init(&attributes) != 0) return SHAREDMEM_E_SYSTEM;
  int error = ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (error == 0) error = ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  if (error == 0) error = ::pthread_mutex_init(static_cast<pthread_mutex_t*>(storage), &attributes);
  ::pthread_mutexattr_destroy(&attributes);
  return error == 0 ? SHAREDMEM_OK : SHAREDMEM_E_SYSTEM;
}

namespace {

int timed_lock(pthread_mutex_t* mutex, std::chrono::milliseconds timeout) {
  struct timespec deadline {};
  ::clock_gettime(CLOCK_REALTIME, &deadline);
  const auto ms = timeout.count();
  deadline.tv_sec += static_cast<time_t>(ms / 1000);
  deadline.tv_nsec += static_cast<long>((ms % 1000) * 1'000'000);
  if (deadline.tv_nsec >= 1'000'000'000) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1'000'000'000;
  }
  return ::pthread_mutex_timedlock(mutex, &deadline);
}

}  // namespace

LockResult lock_writer(Attachment&, void* storage, std::chrono::milliseconds timeout) noexcept {
  auto* mutex = static_cast<pthread_mutex_t*>(storage);
  // Uncontended first, without reading the clock. (ThreadSanitizer also
  // models an EOWNERDEAD acquisition only through trylock and lock.)
  int result = ::pthread_mutex_trylock(mutex);
  if (result == EBUSY) result = timed_lock(mutex, timeout);
  switch (result) {
    case 0:
      return LockResult::kAcquired;
    case EOWNERDEAD:
      ::pthread_mutex_consistent(mutex);
      return LockResult::kOwnerDied;
    case ETIMEDOUT:
      return LockResult::kTimeout;
    default:
      return LockResult::kError;
  }
}

void unlock_writer(Attachment&, void* storage) noexcept {
  ::pthread_mutex_unlock(static_cast<pthread_mutex_t*>(storage));
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
