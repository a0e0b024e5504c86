// SPDX-License-Identifier: MIT
// The sweep of dead objects: objects of this user's (or the shared
// namespace's) that this backend made and whose users all died. It takes
// each object's gate without waiting and never runs under a gate of the
// caller's (the core calls it outside any attach).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "attachment_linux.hpp"

namespace sharedmem::platform {
namespace {

using posix::kGateByte;
using posix::kLockBytes;
using posix::kShmDirectory;
using posix::kTag;
using posix::kUserByte;
using posix::ofd_lock;

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

}  // namespace

// Looks at this user's entries only: an entry of another user, or anything
// but a regular private file (in the shared namespace: a regular file the
// user owns, whatever its ACL), is skipped before it is opened and never
// counts toward `look_at_most`, so that nobody else's files can use up a
// sweep (readdir's order is the file system's: newest first on tmpfs).
sharedmem_error sweep_dead_objects(Namespace space, std::uint32_t look_at_most,
                                   std::uint32_t* removed) noexcept {
  if (removed != nullptr) *removed = 0;
  const bool shared = is_shared(space);
  DIR* directory = ::opendir(kShmDirectory);
  if (directory == nullptr) return posix::from_errno(errno);
  char prefix[64];
  const int prefix_length =
      shared ? std::snprintf(prefix, sizeof prefix, "%s", posix::kSharedPrefix)
             : std::snprintf(prefix, sizeof prefix, "sharedmem.%lu.",
                             static_cast<unsigned long>(::geteuid()));
  const uid_t user = ::geteuid();
  std::uint32_t count = 0;
  std::uint32_t looked_at = 0;
  while (const dirent* entry = ::readdir(directory)) {
    if (std::strncmp(entry->d_name, prefix, static_cast<std::size_t>(prefix_length)) != 0)
      continue;
    struct stat status {};
    if (::fstatat(::dirfd(directory), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(status.st_mode) || status.st_uid != user ||
        (!shared && (status.st_mode & 077) != 0))
      continue;
    if (looked_at++ == look_at_most) break;
    if (remove_if_dead(::dirfd(directory), entry->d_name, shared)) ++count;
  }
  ::closedir(directory);
  if (removed != nullptr) *removed = count;
  return SHAREDMEM_OK;
}

}  // namespace sharedmem::platform
