// SPDX-License-Identifier: MIT
// Shared segments on Linux (sharedmem_open_shared): an access list's
// principals resolved to uids and gids, the object created with exactly that
// access (mode 0600 and a POSIX ACL), and an existing object accepted only if
// its owner, type and permissions are exactly what the list describes.
//
// The ACL is written and read as the `system.posix_acl_access` extended
// attribute (the kernel's own format), so no libacl is needed.
#ifndef SHAREDMEM_PLATFORM_LINUX_ACCESS_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_ACCESS_LINUX_HPP

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "platform.hpp"

namespace sharedmem::platform::posix {

// An access list with its principals resolved.
struct ResolvedAccess {
  std::vector<std::uint32_t> read_write_users;
  std::vector<std::uint32_t> read_only_users;
  std::vector<std::uint32_t> read_write_groups;
  std::vector<std::uint32_t> read_only_groups;
  std::vector<std::uint32_t> creators;  // uids
};

// Resolves "user:NAME", "group:NAME", "uid:N", "gid:N" (creators: users
// only). SHAREDMEM_E_UNKNOWN_PRINCIPAL naming the first principal that names
// nobody or has another form (SHAREDMEM_E_INVALID_ARGUMENT for a group among
// the creators); both with record_error_detail.
sharedmem_error resolve_access(const AccessList& list, ResolvedAccess& out);

enum class SharedOpen {
  kOpened,   // *fd: the existing object, accepted
  kCreated,  // *fd: a new object with exactly the declared access
  kAbsent,   // nothing has the name and creating was not allowed
  kRaced,    // another process created the name meanwhile: look again
  kNotJoinable,  // *facts: an object that is not what the list says, untouched
  kFailed,   // *error (ACCESS_DENIED: with record_error_detail)
};

// Opens (or creates, if `may_create`) the shared object at `path`:
// read-write, or read-only if `read_only`. An existing object is checked
// through a read-only, non-following, non-blocking descriptor before anything
// else: not joined (kNotJoinable, its facts and the first difference in
// *facts) unless it is a regular file owned by the current
// user or a listed creator whose mode and ACL grant exactly the list; only
// then is it reopened for writing (ACCESS_DENIED when the list lets this user
// read only, or not at all). A new object appears under its name with its ACL
// already in place (made as an O_TMPFILE, then linked). *fd is close-on-exec.
SharedOpen open_shared_object(const std::string& path, const ResolvedAccess& access,
                              bool read_only, bool may_create, int* fd, ObjectFacts* facts,
                              sharedmem_error* error);

// The named entries and mask of the ACL of the object at `path`, as getfacl
// shows them: "user:1001:rw- group:50:r-- mask::rw-"; empty when it has no
// ACL beyond its mode (or it cannot be read).
std::string describe_acl(const std::string& path);

}  // namespace sharedmem::platform::posix

#endif  // SHAREDMEM_PLATFORM_LINUX_ACCESS_LINUX_HPP
