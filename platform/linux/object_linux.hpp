// SPDX-License-Identifier: MIT
// The Linux backend's naming scheme, lock bytes and object layout, shared by
// its attach (attach_linux.cpp), its sweep and its inspection, and included
// by the tests that look at objects from outside, so that they cannot drift
// from the backend.
#ifndef SHAREDMEM_PLATFORM_LINUX_OBJECT_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_OBJECT_LINUX_HPP

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "../lock_word.hpp"

namespace sharedmem::platform::posix {

// OFD lock bytes of an object: byte 0, the attach gate; byte 1, the user
// lock, held shared by every attachment (so its holders are the users).
inline constexpr off_t kGateByte = 0;
inline constexpr off_t kUserByte = 1;
// The backend's bytes at the end of the object: the writer lock's words
// (platform/lock_word.hpp), then in the last 8 bytes a tag that marks the
// object as made by this backend, so that the sweep of dead objects never
// removes a foreign file that happens to bear our prefix.
inline constexpr std::size_t kLockBytes = lock_word::kAreaBytes;
inline constexpr std::uint64_t kTag = 0x5849'534f'504d'4853ull;  // "SHMPOSIX"

// Whether an open file description other than `fd`'s holds a lock on the
// user byte: 1 if one does, 0 if none, -1 if the kernel does not say.
// F_OFD_GETLK sees the locks of every process, even those in other PID
// namespaces, and works on an O_RDONLY descriptor.
inline int user_byte_locked(int fd) {
  struct flock probe {};
  probe.l_type = F_WRLCK;  // conflicts with any lock, shared or not
  probe.l_whence = SEEK_SET;
  probe.l_start = kUserByte;
  probe.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &probe) != 0) return -1;
  return probe.l_type == F_UNLCK ? 0 : 1;
}

// Where glibc keeps POSIX shared memory objects.
inline constexpr const char* kShmDirectory = "/dev/shm";

// The per-user prefix of object names in kShmDirectory: "sharedmem.<uid>.".
// Other users get their own objects, as each Windows session gets its own
// Local\ namespace.
inline std::string user_prefix(uid_t user) { return "sharedmem." + std::to_string(user) + "."; }
inline std::string user_prefix() { return user_prefix(::geteuid()); }
// The shm_open name of segment `name` of user `user`: "/sharedmem.<uid>.<name>".
inline std::string shm_name_of(const std::string& name, uid_t user) {
  return "/" + user_prefix(user) + name;
}
inline std::string shm_name_of(const std::string& name) { return shm_name_of(name, ::geteuid()); }
// The prefix of shared segments' objects (sharedmem_open_shared), one
// namespace for every user, apart from the per-user ones.
inline constexpr const char* kSharedPrefix = "sharedmem.shared.";
// The namespace's prefix: shared or the current user's.
inline std::string prefix_of(bool shared) { return shared ? kSharedPrefix : user_prefix(); }

}  // namespace sharedmem::platform::posix

#endif  // SHAREDMEM_PLATFORM_LINUX_OBJECT_LINUX_HPP
