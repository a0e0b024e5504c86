// SPDX-License-Identifier: MIT
// POSIX (Linux) inspection: facts about the objects in /dev/shm under this
// user's prefix, from outside their lifetime.
//
// Nothing here maps an object: another process may truncate it at any time,
// and a mapping would turn the next access past the new end into SIGBUS. The
// header is read with pread on an O_RDONLY descriptor instead, which simply
// returns fewer bytes. The descriptor takes no lock, so it counts as no user:
// a segment whose users leave is removed as usual (the descriptor then reads
// the unlinked object until it is closed). Objects that are not the user's
// own private regular files are only lstat'ed, never opened.
//
// Holders are the OFD locks on the user byte (object_linux.hpp): one per
// attachment. The kernel lists them in /proc/locks by device and inode;
// whether any exists at all it also tells through F_OFD_GETLK, which sees
// locks of every process, even those that /proc/locks hides (it shows only
// the reader's PID namespace).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "access_linux.hpp"
#include "object_linux.hpp"
#include "os_error.hpp"
#include "platform.hpp"

namespace sharedmem::platform {

struct Inspection {
  int fd = -1;
  ~Inspection() {
    if (fd >= 0) ::close(fd);
  }
};

void InspectionDeleter::operator()(Inspection* inspection) const noexcept { delete inspection; }

namespace {

// "-rw------- (0600)", as ls shows a mode, with the octal bits.
std::string describe_mode(mode_t mode) {
  char type = '?';
  if (S_ISREG(mode)) type = '-';
  else if (S_ISDIR(mode)) type = 'd';
  else if (S_ISLNK(mode)) type = 'l';
  else if (S_ISFIFO(mode)) type = 'p';
  else if (S_ISSOCK(mode)) type = 's';
  else if (S_ISCHR(mode)) type = 'c';
  else if (S_ISBLK(mode)) type = 'b';
  const char* letters = "rwxrwxrwx";
  std::string text(1, type);
  for (int bit = 0; bit < 9; ++bit) text += (mode & (0400 >> bit)) ? letters[bit] : '-';
  char octal[16];
  std::snprintf(octal, sizeof octal, " (%04o)", static_cast<unsigned>(mode & 07777));
  return text + octal;
}

// A shared object (`readable`: this user may open it for reading) counts as
// the user's own when the user owns it or may read it, and as private to
// the users its ACL names when it grants nothing to everyone else; which
// principals those are, `permissions` shows.
void set_facts(const struct stat& status, bool shared, bool readable, const std::string& path,
               ObjectFacts& facts) {
  facts.shared_memory = S_ISREG(status.st_mode);
  facts.owned_by_user = status.st_uid == ::geteuid() || (shared && readable);
  facts.private_to_user = (status.st_mode & (shared ? 07 : 077)) == 0;
  facts.size = facts.shared_memory ? static_cast<std::uint64_t>(status.st_size) : 0;
  facts.mode = static_cast<std::uint32_t>(status.st_mode & 07777);
  facts.owner = "uid " + std::to_string(status.st_uid);
  facts.permissions = describe_mode(status.st_mode);
  if (shared) {
    const std::string acl = posix::describe_acl(path);
    if (!acl.empty()) facts.permissions += " " + acl;
  }
}

// The OFD locks on the user byte of the file (device, inode) that
// /proc/locks lists, or -1 if it cannot be read. Lines look like
// "3: OFDLCK ADVISORY READ -1 00:1a:1234 1 1"; a blocked request has "->"
// after the number and holds nothing.
long count_user_locks(const struct stat& status) {
  std::FILE* locks = std::fopen("/proc/locks", "re");
  if (locks == nullptr) return -1;
  char device[64];
  std::snprintf(device, sizeof device, "%02x:%02x:%llu", ::major(status.st_dev),
                ::minor(status.st_dev), static_cast<unsigned long long>(status.st_ino));
  const std::string user_byte = std::to_string(posix::kUserByte);
  long count = 0;
  char line[512];
  while (std::fgets(line, sizeof line, locks) != nullptr) {
    char fields[8][64] = {};
    const int n = std::sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s", fields[0],
                              fields[1], fields[2], fields[3], fields[4], fields[5], fields[6],
                              fields[7]);
    if (n < 8 || std::strcmp(fields[1], "OFDLCK") != 0) continue;  // also skips "->"
    if (std::strcmp(fields[5], device) == 0 && user_byte == fields[6] && user_byte == fields[7])
      ++count;
  }
  std::fclose(locks);
  return count;
}

// Holders and liveness of the object open on `fd`.
void count_holders(int fd, const struct stat& status, ObjectFacts& facts) {
  const int locked = posix::user_byte_locked(fd);
  const long listed = count_user_locks(status);
  facts.liveness = locked < 0 ? Liveness::kUnknown : locked ? Liveness::kLive : Liveness::kNone;
  if (locked == 0)
    facts.holders = 0;
  else if (locked == 1 && listed > 0)
    facts.holders = static_cast<std::uint32_t>(listed);
  // Otherwise (held by processes /proc/locks does not show us): unknown.
}

}  // namespace

InspectResult inspect_object(const std::string& name, Namespace space) {
  InspectResult result;
  const bool shared = is_shared(space);
  result.facts.os_name = std::string(posix::kShmDirectory) + "/" + posix::prefix_of(shared) + name;
  const char* path = result.facts.os_name.c_str();
  struct stat status {};
  if (::lstat(path, &status) != 0) {
    if (errno == ENOENT)
      result.status = InspectStatus::kAbsent;
    else
      result.error = record_os_error(errno == EACCES ? SHAREDMEM_E_ACCESS_DENIED
                                                     : SHAREDMEM_E_SYSTEM,
                                     errno);
    return result;
  }
  result.status = InspectStatus::kFound;
  set_facts(status, shared,
            shared && ::faccessat(AT_FDCWD, path, R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0,
            path, result.facts);
  if (!result.facts.shared_memory || !result.facts.owned_by_user ||
      !result.facts.private_to_user)
    return result;
  try {
    auto inspection = InspectionPtr(new Inspection);
    // O_NONBLOCK: a FIFO swapped in since the lstat must not block the open.
    inspection->fd = ::open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (inspection->fd < 0) {
      if (errno == ENOENT) result.status = InspectStatus::kAbsent;  // gone meanwhile
      return result;  // otherwise unreadable: no inspection
    }
    // What the descriptor reads is what counts: the name may name a newer object.
    if (::fstat(inspection->fd, &status) != 0) return result;
    set_facts(status, shared, true, path, result.facts);
    if (!result.facts.shared_memory || !result.facts.owned_by_user ||
        !result.facts.private_to_user)
      return result;
    count_holders(inspection->fd, status, result.facts);
    result.inspection = std::move(inspection);
  } catch (const std::bad_alloc&) {
    result.status = InspectStatus::kFailed;
    result.error = SHAREDMEM_E_NO_MEMORY;
  }
  return result;
}

std::size_t read_object(Inspection& inspection, std::uint64_t offset, void* buffer,
                        std::size_t size) noexcept {
  std::size_t done = 0;
  auto* bytes = static_cast<unsigned char*>(buffer);
  while (done < size) {
    const ssize_t n =
        ::pread(inspection.fd, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

sharedmem_error list_objects(Namespace space,
                             const std::function<bool(const std::string& name)>& visit) {
  DIR* directory = ::opendir(posix::kShmDirectory);
  if (directory == nullptr)
    return record_os_error(errno == EACCES ? SHAREDMEM_E_ACCESS_DENIED : SHAREDMEM_E_SYSTEM,
                           errno);
  const std::string prefix = posix::prefix_of(is_shared(space));
  try {
    while (const dirent* entry = ::readdir(directory)) {
      if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) != 0) continue;
      if (!visit(entry->d_name + prefix.size())) break;
    }
  } catch (...) {
    ::closedir(directory);
    throw;
  }
  ::closedir(directory);
  return SHAREDMEM_OK;
}

}  // namespace sharedmem::platform
