// SPDX-License-Identifier: MIT
// The Linux backend's attachment and the helpers its files share (attach and
// lifetime locks, sweep, fork, waiting): private to platform/linux/.
//
// POSIX shm outlives its users, so the lifetime is ours to keep. Every
// attachment holds its own open file description (OFD) of the object and
// two byte-range locks on it that the kernel drops when the description's
// last descriptor closes, including when the process dies by SIGKILL:
// - byte 0, the gate, exclusive while a process attaches or detaches, so
//   "am I first/last" and what follows (initialise, unlink) are atomic;
// - byte 1, the user lock, held shared by every attached process. Under the
//   gate, getting it exclusively proves there is no other live user.
// OFD locks, unlike classic fcntl locks, belong to the description rather
// than the process, so closing another descriptor of the same file never
// drops them, and two attachments in one process count as two users. (A
// BSD or macOS backend, which has no OFD locks, would need another proof of
// "no other user": that is the one thing this backend relies on Linux for.)
//
// Object layout (object_linux.hpp): [0, core bytes) is the core's; the last
// kLockBytes hold the writer lock's words (platform/lock_word.hpp) and, in
// their last 8 bytes, the backend's tag. Nothing is sized or written before
// the gate proves who is alone, and nothing is removed except by a proven
// last user under the gate.
#ifndef SHAREDMEM_PLATFORM_LINUX_ATTACHMENT_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_ATTACHMENT_LINUX_HPP

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "lock_word.hpp"
#include "object_linux.hpp"
#include "os_error.hpp"
#include "platform.hpp"
#include "writer_lock_linux.hpp"

namespace sharedmem::platform {
namespace posix {

static_assert(sizeof(lock_word::Shared) <= kLockBytes - sizeof kTag);

// Sets (F_RDLCK/F_WRLCK) or clears (F_UNLCK) an OFD lock on one byte without
// waiting. Returns 0 or errno (EAGAIN when another description holds it).
int ofd_lock(int fd, off_t byte, short type) noexcept;

// Releases the gate and the user byte in one call (they are adjacent).
int ofd_unlock_gate_and_user(int fd) noexcept;
static_assert(kUserByte == kGateByte + 1);

// Takes the gate (F_WRLCK; F_RDLCK for a read-only descriptor), polling
// with backoff: F_OFD_SETLKW cannot time out, and a stopped peer must not
// hang us (it gives up after kGateWait). The gate is only ever held for a few calls.
sharedmem_error take_gate(int fd, short type = F_WRLCK) noexcept;

// errno as the library's error (ACCESS_DENIED, NO_MEMORY, else SYSTEM),
// noted for sharedmem_last_system_error.
sharedmem_error from_errno(int error) noexcept;

// The path of shm object `os_name` ("/name") in kShmDirectory.
inline std::string path_of(const std::string& os_name) { return kShmDirectory + os_name; }

}  // namespace posix

struct Attachment {
  std::string os_name;
  bool shared = false;  // a shared segment's (access_linux.hpp), in own_fd
  void* base = nullptr;  // the whole object, mapped
  std::size_t mapped = 0;
  bool gate_held = false;
  bool joined = false;          // holds the user lock: a share of the lifetime
  bool established = false;     // initialised or checked by the core: ours to remove
  bool user_exclusive = false;  // first user, until end_attach downgrades
  bool keep_mapping = false;    // detached with Mapping::kKeep: never unmap
  bool read_only = false;       // SHAREDMEM_READ_ONLY: O_RDONLY, PROT_READ, never removes
  // The object's open file description: this attachment's share of the
  // lifetime (the lock bytes are held through it).
  int own_fd = -1;
  // The core's change word (end_attach) as a futex in the mapping: what
  // waiters sleep on and writers wake. Null until end_attach.
  std::uint32_t* change_futex = nullptr;
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

  int fd() const noexcept { return own_fd; }

  lock_word::Shared& writer() const noexcept {
    return *reinterpret_cast<lock_word::Shared*>(static_cast<unsigned char*>(base) + mapped -
                                                 posix::kLockBytes);
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
    if (address == MAP_FAILED) return posix::from_errno(errno);
    base = address;
    mapped = size;
    return SHAREDMEM_OK;
  }
};

namespace posix {

// The fork registry (fork_linux.cpp): an established attachment is
// registered, so that a child forked without exec becomes a user in its own
// right. Unregistering one never registered is safe.
sharedmem_error register_attachment(Attachment& attachment) noexcept;
void unregister_attachment(Attachment& attachment) noexcept;

}  // namespace posix
}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_LINUX_ATTACHMENT_LINUX_HPP
