// SPDX-License-Identifier: MIT
// Shared segments' access on Linux (access_linux.hpp): principals, the POSIX
// ACL written as the kernel's `system.posix_acl_access` attribute, and the
// checks that keep a squatter's object out.
#include "access_linux.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "object_linux.hpp"
#include "os_error.hpp"

namespace sharedmem::platform::posix {
namespace {

// The kernel's ACL attribute (include/uapi/linux/posix_acl_xattr.h): a
// little-endian version word, then entries of tag, permissions and id.
constexpr const char* kAclAttribute = "system.posix_acl_access";
constexpr std::uint32_t kAclVersion = 2;
constexpr std::uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08,
                        kMask = 0x10, kOther = 0x20;
constexpr std::uint32_t kNoId = 0xffffffffu;
constexpr unsigned kRead = 4, kWrite = 2, kReadWrite = kRead | kWrite;
// The most entries an ACL of ours can have is bounded by the lists; a foreign
// one larger than this is refused as unreadable.
constexpr std::size_t kMaxAclBytes = 4 + 8 * 1024;

// An access ACL, the part of it that decides who gets what (a plain mode is
// the ACL of three entries and no mask).
struct Acl {
  unsigned owner = 0;
  unsigned group = 0;  // the owning group's entry (GROUP_OBJ)
  unsigned other = 0;
  int mask = -1;       // -1: none
  std::map<std::uint32_t, unsigned> users;
  std::map<std::uint32_t, unsigned> groups;
  bool operator==(const Acl& o) const {
    return owner == o.owner && group == o.group && other == o.other && mask == o.mask &&
           users == o.users && groups == o.groups;
  }
};

std::string perms_text(unsigned p) {
  std::string t = "---";
  if (p & 4) t[0] = 'r';
  if (p & 2) t[1] = 'w';
  if (p & 1) t[2] = 'x';
  return t;
}

bool parse_id(const std::string& text, std::uint32_t& id) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const unsigned long long value = std::stoull(text);
  if (value >= kNoId) return false;  // (uid_t)-1 is "no id" to the kernel
  id = static_cast<std::uint32_t>(value);
  return true;
}

sharedmem_error unknown(const std::string& principal, const char* why) {
  const std::string text = "unknown principal \"" + principal + "\": " + why;
  return record_error_detail(SHAREDMEM_E_UNKNOWN_PRINCIPAL, text.c_str());
}

// Resolves one principal into *id; *group tells which kind it named.
sharedmem_error resolve_one(const std::string& principal, std::uint32_t* id, bool* group) {
  const std::size_t colon = principal.find(':');
  if (colon == std::string::npos)
    return unknown(principal, "expected user:NAME, group:NAME, uid:N or gid:N");
  const std::string kind = principal.substr(0, colon);
  const std::string rest = principal.substr(colon + 1);
  if (kind == "uid" || kind == "gid") {
    *group = kind == "gid";
    if (!parse_id(rest, *id)) return unknown(principal, "not a decimal id");
    return SHAREDMEM_OK;
  }
  if (kind != "user" && kind != "group")
    return unknown(principal, "expected user:NAME, group:NAME, uid:N or gid:N");
  *group = kind == "group";
  if (rest.empty()) return unknown(principal, "no name");
  std::vector<char> buffer(16384);
  for (;;) {
    int error;
    bool found;
    if (*group) {
      struct group entry {};
      struct group* result = nullptr;
      error = ::getgrnam_r(rest.c_str(), &entry, buffer.data(), buffer.size(), &result);
      found = result != nullptr;
      if (found) *id = static_cast<std::uint32_t>(entry.gr_gid);
    } else {
      struct passwd entry {};
      struct passwd* result = nullptr;
      error = ::getpwnam_r(rest.c_str(), &entry, buffer.data(), buffer.size(), &result);
      found = result != nullptr;
      if (found) *id = static_cast<std::uint32_t>(entry.pw_uid);
    }
    if (error == ERANGE && buffer.size() < (std::size_t{1} << 22)) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    if (found) return SHAREDMEM_OK;
    return unknown(principal, *group ? "no such group" : "no such user");
  }
}

// The ACL the list gives an object owned by `owner`: the owner rw-, each
// listed user and group its access (read-write wins over read-only), the
// owning group and everyone else nothing, and the mask their union.
Acl expected_acl(const ResolvedAccess& access, std::uint32_t owner) {
  Acl acl;
  acl.owner = kReadWrite;
  for (std::uint32_t u : access.read_write_users)
    if (u != owner) acl.users[u] = kReadWrite;
  for (std::uint32_t u : access.read_only_users)
    if (u != owner) acl.users.emplace(u, kRead);
  for (std::uint32_t g : access.read_write_groups) acl.groups[g] = kReadWrite;
  for (std::uint32_t g : access.read_only_groups) acl.groups.emplace(g, kRead);
  if (!acl.users.empty() || !acl.groups.empty()) {
    unsigned mask = acl.group;
    for (const auto& entry : acl.users) mask |= entry.second;
    for (const auto& entry : acl.groups) mask |= entry.second;
    acl.mask = static_cast<int>(mask);
  }
  return acl;
}

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void put32(std::string& out, std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((v >> shift) & 0xff);
}
std::uint32_t get(const unsigned char* at, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | at[i];
  return v;
}

// The attribute for `acl`, entries in the order the kernel requires (by
// tag, then id).
std::string encode(const Acl& acl) {
  std::string out;
  put32(out, kAclVersion);
  auto entry = [&](std::uint16_t tag, unsigned perms, std::uint32_t id) {
    put16(out, tag);
    put16(out, static_cast<std::uint16_t>(perms));
    put32(out, id);
  };
  entry(kUserObj, acl.owner, kNoId);
  for (const auto& u : acl.users) entry(kUser, u.second, u.first);
  entry(kGroupObj, acl.group, kNoId);
  for (const auto& g : acl.groups) entry(kGroup, g.second, g.first);
  if (acl.mask >= 0) entry(kMask, static_cast<unsigned>(acl.mask), kNoId);
  entry(kOther, acl.other, kNoId);
  return out;
}

// Reads the ACL of the object (by descriptor if fd >= 0, else by path,
// without following a symlink); a plain mode gives the three-entry ACL.
// False if the attribute cannot be read or parsed.
bool read_acl(int fd, const std::string& path, mode_t mode, Acl& acl) {
  acl = Acl{};
  acl.owner = (mode >> 6) & 7;
  acl.group = (mode >> 3) & 7;
  acl.other = mode & 7;
  unsigned char bytes[kMaxAclBytes];
  const ssize_t n = fd >= 0 ? ::fgetxattr(fd, kAclAttribute, bytes, sizeof bytes)
                            : ::lgetxattr(path.c_str(), kAclAttribute, bytes, sizeof bytes);
  if (n < 0) return errno == ENODATA || errno == ENOTSUP;  // no ACL: the mode is all
  if (n < 4 || (n - 4) % 8 != 0 || get(bytes, 4) != kAclVersion) return false;
  for (ssize_t at = 4; at < n; at += 8) {
    const auto tag = static_cast<std::uint16_t>(get(bytes + at, 2));
    const unsigned perms = get(bytes + at + 2, 2) & 7;
    const std::uint32_t id = get(bytes + at + 4, 4);
    switch (tag) {
      case kUserObj: acl.owner = perms; break;
      case kGroupObj: acl.group = perms; break;
      case kOther: acl.other = perms; break;
      case kMask: acl.mask = static_cast<int>(perms); break;
      case kUser: acl.users[id] = perms; break;
      case kGroup: acl.groups[id] = perms; break;
      default: return false;
    }
  }
  return true;
}

std::string type_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Why the named entries of `found` differ from `wanted` ("" if they do not).
std::string entries_differ(const char* kind, const std::map<std::uint32_t, unsigned>& found,
                           const std::map<std::uint32_t, unsigned>& wanted) {
  for (const auto& f : found) {
    const auto w = wanted.find(f.first);
    if (w == wanted.end())
      return "grants " + std::string(kind) + " " + std::to_string(f.first) + " " +
             perms_text(f.second) + ", which the list does not";
    if (w->second != f.second)
      return "grants " + std::string(kind) + " " + std::to_string(f.first) + " " +
             perms_text(f.second) + ", where the list says " + perms_text(w->second);
  }
  for (const auto& w : wanted)
    if (found.find(w.first) == found.end())
      return "does not grant " + std::string(kind) + " " + std::to_string(w.first) + " the " +
             perms_text(w.second) + " the list does";
  return {};
}

// Checks the object described by `status` (its ACL read through `fd`, or
// `path` if fd < 0) against the list: true when it matches; otherwise false,
// with its facts and the first difference, in words, in `facts`.
bool check_object(int fd, const std::string& path, const struct stat& status,
                  const ResolvedAccess& access, ObjectFacts& facts) {
  const std::uint32_t owner = static_cast<std::uint32_t>(status.st_uid);
  facts.os_name = path;
  facts.owner = "uid " + std::to_string(owner);
  facts.mode = static_cast<std::uint32_t>(status.st_mode & 07777);
  facts.owned_by_user =
      owner == static_cast<std::uint32_t>(::geteuid()) ||
      std::find(access.creators.begin(), access.creators.end(), owner) != access.creators.end();
  facts.shared_memory = S_ISREG(status.st_mode);
  facts.private_to_user = false;  // to the list's principals: known below
  auto refuse = [&](const std::string& why) {
    facts.mismatch = path + " " + why;
    return false;
  };
  if (!facts.owned_by_user)
    return refuse("is owned by uid " + std::to_string(owner) + ", not a listed creator");
  if (!S_ISREG(status.st_mode)) return refuse("is " + type_of(status.st_mode));
  if ((status.st_mode & 07000) != 0) {
    char octal[16];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    return refuse("has mode " + std::string(octal) + " (setuid, setgid or sticky)");
  }
  Acl found;
  if (!read_acl(fd, path, status.st_mode, found))
    return refuse("has an access ACL that cannot be read");
  const Acl wanted = expected_acl(access, owner);
  if (found == wanted) {
    facts.private_to_user = true;
    return true;
  }
  if (found.owner != wanted.owner)
    return refuse("gives its owner " + perms_text(found.owner) + ", not rw-");
  if (found.other != 0) return refuse("grants everyone " + perms_text(found.other));
  if (found.group != 0)
    return refuse("grants its group (gid " + std::to_string(status.st_gid) + ") " +
                  perms_text(found.group) + ", which the list does not");
  std::string why = entries_differ("user", found.users, wanted.users);
  if (why.empty()) why = entries_differ("group", found.groups, wanted.groups);
  if (why.empty())
    why = "has mask " + (found.mask < 0 ? std::string("none") : perms_text(found.mask)) +
          ", where the list needs " +
          (wanted.mask < 0 ? std::string("none") : perms_text(wanted.mask));
  return refuse(why);
}

// The text for a user the list does not let in as asked.
sharedmem_error denied(const char* why) {
  const std::string text =
      "the access list does not let uid " + std::to_string(::geteuid()) + " " + why;
  return record_error_detail(SHAREDMEM_E_ACCESS_DENIED, text.c_str());
}

// A descriptor's path under /proc, to reopen the very same file.
std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Creates the object with exactly the list's access: an unnamed file in the
// directory, given its mode and ACL, then linked under `path` (which fails
// if the name was taken meanwhile). Nobody ever sees it half made.
SharedOpen create(const std::string& path, const ResolvedAccess& access, int* fd,
                  sharedmem_error* error) {
  const int made = ::open(kShmDirectory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (made < 0) {
    *error = record_os_error(errno == EACCES ? SHAREDMEM_E_ACCESS_DENIED : SHAREDMEM_E_SYSTEM,
                             errno);
    return SharedOpen::kFailed;
  }
  const Acl acl = expected_acl(access, static_cast<std::uint32_t>(::geteuid()));
  int failure = ::fchmod(made, 0600) == 0 ? 0 : errno;
  if (failure == 0 && acl.mask >= 0) {
    const std::string attribute = encode(acl);
    if (::fsetxattr(made, kAclAttribute, attribute.data(), attribute.size(), 0) != 0) {
      failure = errno;
      if (failure == ENOTSUP) {
        ::close(made);
        *error = record_error_detail(SHAREDMEM_E_UNSUPPORTED,
                                     "the file system of /dev/shm does not support POSIX ACLs");
        return SharedOpen::kFailed;
      }
    }
  }
  if (failure == 0 &&
      ::linkat(AT_FDCWD, proc_path(made).c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0)
    failure = errno;
  if (failure == EEXIST) {
    ::close(made);
    return SharedOpen::kRaced;
  }
  if (failure != 0) {
    ::close(made);
    *error = record_os_error(failure == EACCES || failure == EPERM ? SHAREDMEM_E_ACCESS_DENIED
                                                                   : SHAREDMEM_E_SYSTEM,
                             failure);
    return SharedOpen::kFailed;
  }
  *fd = made;
  return SharedOpen::kCreated;
}

}  // namespace

sharedmem_error resolve_access(const AccessList& list, ResolvedAccess& out) {
  out = ResolvedAccess{};
  struct Target {
    const std::vector<std::string>* principals;
    std::vector<std::uint32_t>* users;
    std::vector<std::uint32_t>* groups;
  };
  const Target targets[] = {
      {&list.read_write, &out.read_write_users, &out.read_write_groups},
      {&list.read_only, &out.read_only_users, &out.read_only_groups},
      {&list.creators, &out.creators, nullptr},
  };
  for (const Target& target : targets) {
    for (const std::string& principal : *target.principals) {
      std::uint32_t id = 0;
      bool group = false;
      if (sharedmem_error e = resolve_one(principal, &id, &group)) return e;
      if (group && target.groups == nullptr) {
        const std::string text =
            "creators name users (user:NAME, uid:N), not \"" + principal + "\"";
        return record_error_detail(SHAREDMEM_E_INVALID_ARGUMENT, text.c_str());
      }
      (group ? target.groups : target.users)->push_back(id);
    }
  }
  return SHAREDMEM_OK;
}

SharedOpen open_shared_object(const std::string& path, const ResolvedAccess& access,
                              bool read_only, bool may_create, int* fd, ObjectFacts* facts,
                              sharedmem_error* error) {
  *fd = -1;
  *error = SHAREDMEM_OK;
  // Read-only, not following a symlink, not blocking on a FIFO: whatever
  // stands here is only looked at until it passes.
  const int looked =
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (looked < 0) {
    const int open_error = errno;
    if (open_error == ENOENT) {
      if (!may_create) return SharedOpen::kAbsent;
      return create(path, access, fd, error);
    }
    // Not ours to open (a symlink, another's object, one we may not read):
    // judged by what lstat and the ACL say.
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0) {
      if (errno == ENOENT) return SharedOpen::kRaced;
      *error = record_os_error(SHAREDMEM_E_SYSTEM, errno);
      return SharedOpen::kFailed;
    }
    if (!check_object(-1, path, status, access, *facts)) return SharedOpen::kNotJoinable;
    *error = open_error == EACCES ? denied("in at all")
                                  : record_os_error(SHAREDMEM_E_SYSTEM, open_error);
    return SharedOpen::kFailed;
  }
  struct stat status {};
  if (::fstat(looked, &status) != 0) {
    *error = record_os_error(SHAREDMEM_E_SYSTEM, errno);
    ::close(looked);
    return SharedOpen::kFailed;
  }
  if (!check_object(looked, path, status, access, *facts)) {
    ::close(looked);
    return SharedOpen::kNotJoinable;
  }
  if (read_only) {
    (void)::fcntl(looked, F_SETFL, 0);  // O_NONBLOCK was for the look only
    *fd = looked;
    return SharedOpen::kOpened;
  }
  // The same file (not the name, which may lead elsewhere by now), for writing.
  const int opened = ::open(proc_path(looked).c_str(), O_RDWR | O_CLOEXEC);
  const int reopen_error = errno;
  ::close(looked);
  if (opened < 0) {
    *error = reopen_error == EACCES
                 ? denied("write (open it with SHAREDMEM_READ_ONLY, if the list lets it read)")
                 : record_os_error(SHAREDMEM_E_SYSTEM, reopen_error);
    return SharedOpen::kFailed;
  }
  *fd = opened;
  return SharedOpen::kOpened;
}

std::string describe_acl(const std::string& path) {
  struct stat status {};
  Acl acl;
  if (::lstat(path.c_str(), &status) != 0 || !read_acl(-1, path, status.st_mode, acl)) return {};
  std::string text;
  for (const auto& u : acl.users)
    text += (text.empty() ? "" : " ") + ("user:" + std::to_string(u.first) + ":" + perms_text(u.second));
  for (const auto& g : acl.groups)
    text += (text.empty() ? "" : " ") + ("group:" + std::to_string(g.first) + ":" + perms_text(g.second));
  if (acl.mask >= 0) text += (text.empty() ? "" : " ") + ("mask::" + perms_text(static_cast<unsigned>(acl.mask)));
  return text;
}

}  // namespace sharedmem::platform::posix
