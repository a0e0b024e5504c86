// SPDX-License-Identifier: MIT
// Shared segments on Linux (sharedmem_open_shared, docs/sharing.md): who may
// open them read-write or read-only, that exactly the declared access is
// what the OS grants (mode and POSIX ACL), that a squatter's object is
// refused and left untouched, that a non-owner last out never passes on
// stale content and the owner's prune reclaims what it leaves, and that
// private and shared segments never meet.
//
// The cases with other users run as root: they make throwaway users and a
// group (useradd, groupadd), run each role in a child that becomes its user
// (initgroups, setresgid, setresuid), and remove them at the end.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"

using namespace sharedmem_test;

namespace {

// Where the POSIX backend keeps shared segments' objects
// (platform/linux/object_linux.hpp).
std::string shared_path(const std::string& name) { return "/dev/shm/sharedmem.shared." + name; }

// "a,b,c" (or "-" for none) into a list of principals.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (text == "-") return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// Holds a NULL-terminated array of C strings over `items`.
struct CList {
  explicit CList(const std::vector<std::string>& items) {
    for (const std::string& item : items) pointers.push_back(item.c_str());
    pointers.push_back(nullptr);
  }
  std::vector<const char*> pointers;
};

// Opens shared segment `name` with the given lists.
sharedmem_error open_shared(const std::string& name, std::uint32_t flags,
                            const std::vector<std::string>& read_write,
                            const std::vector<std::string>& read_only,
                            const std::vector<std::string>& creators, sharedmem_segment** out,
                            std::uint64_t capacity = 64) {
  const CList rw(read_write), ro(read_only), cr(creators);
  sharedmem_access access = SHAREDMEM_ACCESS_INIT;
  access.read_write = rw.pointers.data();
  access.read_only = ro.pointers.data();
  access.creators = cr.pointers.data();
  return sharedmem_open_shared(name.c_str(), capacity, flags, &access, out);
}

std::string read_value(sharedmem_segment* segment) {
  char buffer[64];
  std::uint64_t size = 0;
  const sharedmem_error e = sharedmem_read(segment, buffer, sizeof buffer, &size);
  if (e != SHAREDMEM_OK) return code_line(e);
  return "value:" + std::string(buffer, static_cast<std::size_t>(size));
}

// Becomes user `name` with its groups; false if it cannot.
bool become(const std::string& name) {
  const passwd* entry = ::getpwnam(name.c_str());
  return entry != nullptr && ::initgroups(name.c_str(), entry->pw_gid) == 0 &&
         ::setresgid(entry->pw_gid, entry->pw_gid, entry->pw_gid) == 0 &&
         ::setresuid(entry->pw_uid, entry->pw_uid, entry->pw_uid) == 0;
}

// As user args[0] ("-": as is; "@userns": uid 0 of a user namespace of its
// own, mapped by the parent), opens shared segment args[1] with flags
// args[2] and the lists args[3..5] (comma-separated, "-" for none), capacity
// 64, or opens nothing if args[1] is "-", and
// reports "code:<e> created:<0|1> detail:<sharedmem_last_error_detail>".
// Then serves the parent's lines: "read" (reports "value:<text>" or a code),
// "write <text>" (a code), "close" ("closed"), "prune" ("code:<e>
// removed:<n>"), "pid" ("pid:<getpid()>"), "inspect" ("code:<e> class:<n>
// value_size:<n> permissions:<text>", of args[1] in the shared namespace),
// and exits on "exit" or end of input.
SHAREDMEM_CHILD_ROLE(sh_user) {
  if (args.at(0) == "@userns") {
    // A user namespace of its own, whose uid and gid 0 the parent maps to
    // host ids: reports "unshared pid:<pid>", waits for "go", becomes 0.
    if (::unshare(CLONE_NEWUSER) != 0) {
      report("error:unshare");
      return 1;
    }
    report("unshared pid:" + std::to_string(::getpid()));
    if (await_parent() != "go" || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
      report("error:setresuid");
      return 1;
    }
  } else if (args.at(0) != "-" && !become(args.at(0))) {
    report("error:cannot become " + args.at(0));
    return 1;
  }
  sharedmem_segment* segment = nullptr;
  if (args.at(1) == "-") {
    report("code:0 created:0 detail:");
  } else {
    const sharedmem_error e =
        open_shared(args.at(1), static_cast<std::uint32_t>(std::stoul(args.at(2))),
                    split_list(args.at(3)), split_list(args.at(4)), split_list(args.at(5)),
                    &segment);
    report(code_line(e) + " created:" + std::to_string(sharedmem_created(segment)) +
           " detail:" + sharedmem_last_error_detail());
  }
  for (;;) {
    const std::string line = await_parent();
    if (line.empty() || line == "exit") break;
    if (line == "read") {
      report(read_value(segment));
    } else if (line.rfind("write ", 0) == 0) {
      const std::string text = line.substr(6);
      report(code_line(sharedmem_write(segment, text.data(), text.size())));
    } else if (line == "close") {
      sharedmem_close(segment);
      segment = nullptr;
      report("closed");
    } else if (line == "inspect") {
      sharedmem_info info{};
      info.struct_size = sizeof info;
      const sharedmem_error e = sharedmem_inspect(args.at(1).c_str(), SHAREDMEM_SHARED, &info);
      report(code_line(e) + " class:" + std::to_string(info.object_class) +
             " value_size:" + std::to_string(info.value_size) + " permissions:" + info.permissions);
    } else if (line == "pid") {
      report("pid:" + std::to_string(::getpid()));
    } else if (line == "prune") {
      std::uint32_t removed = 0;
      const sharedmem_error e = sharedmem_prune(SHAREDMEM_SHARED, &removed);
      report(code_line(e) + " removed:" + std::to_string(removed));
    } else {
      report("error:unknown command " + line);
    }
  }
  sharedmem_close(segment);
  return 0;
}

// A child in role sh_user, and its first report.
struct Opener {
  ChildProcess child;
  std::string line;  // "code:<e> created:<0|1> detail:<text>"
  long code() const { return field(line, "code"); }
  long created() const { return field(line, "created"); }
  std::string detail() const {
    const std::size_t at = line.find("detail:");
    return at == std::string::npos ? std::string() : line.substr(at + 7);
  }
  // Sends a command and returns the reply line.
  std::string ask(const std::string& command) {
    BOOST_TEST_REQUIRE(child.write_line(command));
    return expect_line(child);
  }
  // Ends the child; true if it exited 0.
  bool finish() {
    child.write_line("exit");
    child.close_stdin();
    return expect_exit(child) == 0;
  }
};

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "-";
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

Opener start_opener(const std::string& user, const std::string& name, std::uint32_t flags,
                    const std::vector<std::string>& read_write,
                    const std::vector<std::string>& read_only,
                    const std::vector<std::string>& creators) {
  Opener opener{start_role("sh_user", {user, name, std::to_string(flags), join(read_write),
                                       join(read_only), join(creators)}),
                {}};
  opener.line = expect_line(opener.child);
  return opener;
}

// Runs a command; its exit status (-1 if it could not run).
int run(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

// Throwaway users and one group, made with useradd and groupadd, removed on
// destruction. Names carry the test process's PID, so that parallel runs
// never meet.
class Principals {
 public:
  Principals() : suffix_(std::to_string(::getpid())) {
    group_ = "smg" + suffix_;
    ready_ = add("groupadd " + group_);
  }
  // Also removes what the users left in /dev/shm: their uids may be given
  // to the next run's users.
  ~Principals() {
    for (const std::string& user : users_) {
      const uid_t uid = uid_of(user);
      if (DIR* directory = ::opendir("/dev/shm")) {
        while (const dirent* entry = ::readdir(directory)) {
          struct stat status {};
          if (std::strncmp(entry->d_name, "sharedmem.", 10) == 0 &&
              ::fstatat(::dirfd(directory), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
              status.st_uid == uid)
            (void)::unlinkat(::dirfd(directory), entry->d_name,
                             S_ISDIR(status.st_mode) ? AT_REMOVEDIR : 0);
        }
        ::closedir(directory);
      }
      (void)run("userdel " + user);
    }
    (void)run("groupdel " + group_);
  }
  Principals(const Principals&) = delete;
  Principals& operator=(const Principals&) = delete;

  // A new user "sm<letter><pid>", in the group if `in_group`.
  std::string user(char letter, bool in_group) {
    const std::string name = std::string("sm") + letter + suffix_;
    if (add("useradd -M -N -s /usr/sbin/nologin " + (in_group ? "-G " + group_ + " " : "") +
            name))
      users_.push_back(name);
    else
      ready_ = false;
    return name;
  }
  const std::string& group() const { return group_; }
  bool ready() const { return ready_; }
  static uid_t uid_of(const std::string& name) {
    const passwd* entry = ::getpwnam(name.c_str());
    return entry ? entry->pw_uid : static_cast<uid_t>(-1);
  }

 private:
  // useradd and groupadd fail while another holds /etc/passwd's lock: try
  // again a few times.
  static bool add(const std::string& command) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (run(command) == 0) return true;
      ::usleep(100'000);
    }
    return false;
  }
  std::string suffix_;
  std::string group_;
  std::vector<std::string> users_;
  bool ready_ = false;
};

bool root_with_user_tools() {
  return ::geteuid() == 0 && ::access("/usr/sbin/useradd", X_OK) == 0 &&
         ::access("/usr/sbin/groupadd", X_OK) == 0;
}
constexpr Condition kRootWithUserTools{
    root_with_user_tools, "needs root and useradd/groupadd to make throwaway users"};

// What a squatter's object looks like from outside: lstat, its ACL and its
// bytes.
struct ObjectState {
  bool exists = false;
  struct stat status {};
  std::string acl;
  std::string content;
  bool operator==(const ObjectState& o) const {
    return exists == o.exists && status.st_ino == o.status.st_ino &&
           status.st_mode == o.status.st_mode && status.st_uid == o.status.st_uid &&
           status.st_gid == o.status.st_gid && status.st_size == o.status.st_size &&
           status.st_nlink == o.status.st_nlink && status.st_mtim.tv_sec == o.status.st_mtim.tv_sec &&
           status.st_mtim.tv_nsec == o.status.st_mtim.tv_nsec &&
           status.st_ctim.tv_sec == o.status.st_ctim.tv_sec &&
           status.st_ctim.tv_nsec == o.status.st_ctim.tv_nsec && acl == o.acl &&
           content == o.content;
  }
};

ObjectState state_of(const std::string& path) {
  ObjectState state;
  state.exists = ::lstat(path.c_str(), &state.status) == 0;
  if (!state.exists) return state;
  char buffer[4096];
  const ssize_t n = ::lgetxattr(path.c_str(), "system.posix_acl_access", buffer, sizeof buffer);
  if (n > 0) state.acl.assign(buffer, static_cast<std::size_t>(n));
  if (S_ISREG(state.status.st_mode)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t got;
      while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
        state.content.append(buffer, static_cast<std::size_t>(got));
      ::close(fd);
    }
  }
  return state;
}

// A POSIX ACL attribute: version 2, then (tag, perms, id) entries.
struct AclEntry {
  std::uint16_t tag;
  std::uint16_t perms;
  std::uint32_t id;
};
constexpr std::uint32_t kNoId = 0xffffffffu;
std::string acl_attribute(const std::vector<AclEntry>& entries) {
  std::string out;
  auto put = [&out](std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(2, 4);
  for (const AclEntry& e : entries) {
    put(e.tag, 2);
    put(e.perms, 2);
    put(e.id, 4);
  }
  return out;
}
std::vector<AclEntry> acl_entries(const std::string& path) {
  unsigned char buffer[4096];
  const ssize_t n = ::getxattr(path.c_str(), "system.posix_acl_access", buffer, sizeof buffer);
  std::vector<AclEntry> out;
  for (ssize_t at = 4; n > 0 && at + 8 <= n; at += 8)
    out.push_back({static_cast<std::uint16_t>(buffer[at] | buffer[at + 1] << 8),
                   static_cast<std::uint16_t>(buffer[at + 2] | buffer[at + 3] << 8),
                   static_cast<std::uint32_t>(buffer[at + 4] | buffer[at + 5] << 8 |
                                              buffer[at + 6] << 16 |
                                              static_cast<std::uint32_t>(buffer[at + 7]) << 24)});
  return out;
}
bool operator==(const AclEntry& a, const AclEntry& b) {
  return a.tag == b.tag && a.perms == b.perms && a.id == b.id;
}
std::ostream& operator<<(std::ostream& out, const AclEntry& e) {
  return out << "{tag " << e.tag << " perms " << e.perms << " id " << e.id << "}";
}


// unshare(1) can make PID and mount namespaces here (root, and a kernel and
// container that allow it).
bool unshare_works() {
  return ::geteuid() == 0 && ::access("/usr/bin/unshare", X_OK) == 0 &&
         run("/usr/bin/unshare --pid --mount --fork --kill-child true") == 0;
}
constexpr Condition kUnshare{unshare_works,
                             "needs root and unshare(1) able to make PID and mount namespaces"};

// A sh_user child (as the current user, on shared segment `name` with an
// empty list) in a PID and a mount namespace of its own, where it is PID 1.
// Killing the child kills unshare, which then SIGKILLs the role
// (--kill-child).
Opener start_in_namespaces(const std::string& name) {
  Opener opener{ChildProcess("/usr/bin/unshare",
                             {"--pid", "--mount", "--fork", "--kill-child", self_path(), "--child",
                              "sh_user", "-", name, "0", "-", "-", "-"}),
                {}};
  opener.line = expect_line(opener.child);
  return opener;
}

// Waits until the shared segment `name` has `holders` holders (as
// /proc/locks shows them to this process, in the initial PID namespace);
// false if it does not within the line timeout.
bool await_holders(const std::string& name, std::uint32_t holders) {
  const auto deadline = std::chrono::steady_clock::now() + line_timeout();
  for (;;) {
    sharedmem_info info{};
    info.struct_size = sizeof info;
    if (sharedmem_inspect(name.c_str(), SHAREDMEM_SHARED, &info) == SHAREDMEM_OK &&
        info.holders == holders)
      return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool write_proc_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  return n == static_cast<ssize_t>(text.size());
}

// A sh_user child as uid 0 of a user namespace that maps it (and gid 0) to
// host id `host_id`, opening shared segment `name` with the lists as it
// names them (ids of its namespace).
Opener start_in_user_namespace(unsigned host_id, const std::string& name, std::uint32_t flags,
                               const std::vector<std::string>& read_write,
                               const std::vector<std::string>& creators) {
  Opener opener{start_role("sh_user", {"@userns", name, std::to_string(flags), join(read_write),
                                       "-", join(creators)}),
                {}};
  const std::string unshared = expect_line(opener.child);
  BOOST_TEST_REQUIRE(unshared.rfind("unshared pid:", 0) == 0u, unshared);
  const std::string proc = "/proc/" + unshared.substr(sizeof "unshared pid:" - 1);
  const std::string map = "0 " + std::to_string(host_id) + " 1\n";
  BOOST_TEST_REQUIRE(write_proc_file(proc + "/uid_map", map));
  BOOST_TEST_REQUIRE(write_proc_file(proc + "/setgroups", "deny"));
  BOOST_TEST_REQUIRE(write_proc_file(proc + "/gid_map", map));
  BOOST_TEST_REQUIRE(opener.child.write_line("go"));
  opener.line = expect_line(opener.child);
  return opener;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sharing)

// Tests that a principal the system does not know, or of a form Linux does
// not take, is SHAREDMEM_E_UNKNOWN_PRINCIPAL with a detail naming it, that
// nothing is created, and that a group among the creators is refused.
BOOST_AUTO_TEST_CASE(unknown_principals_are_named) {
  const std::string name = unique_name("unknown");
  const char* bad[] = {"group:sharedmem-no-such-group", "user:sharedmem-no-such-user", "uid:x12",
                       "gid:", "sid:S-1-5-32-544", "nobody", "uid:4294967295"};
  for (const char* principal : bad) {
    sharedmem_segment* segment = nullptr;
    BOOST_TEST(open_shared(name, 0, {principal}, {}, {}, &segment) ==
                   SHAREDMEM_E_UNKNOWN_PRINCIPAL,
               principal);
    BOOST_TEST(segment == nullptr);
    BOOST_TEST(std::string(sharedmem_last_error_detail()).find(principal) != std::string::npos,
               "detail \"" << sharedmem_last_error_detail() << "\" names " << principal);
    BOOST_TEST(open_shared(name, 0, {}, {principal}, {}, &segment) ==
               SHAREDMEM_E_UNKNOWN_PRINCIPAL);
    BOOST_TEST(open_shared(name, 0, {}, {}, {principal}, &segment) ==
               SHAREDMEM_E_UNKNOWN_PRINCIPAL);
  }
  sharedmem_segment* segment = nullptr;
  BOOST_TEST(open_shared(name, 0, {}, {}, {"gid:0"}, &segment) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).find("gid:0") != std::string::npos);
  struct stat status {};
  BOOST_TEST(::lstat(shared_path(name).c_str(), &status) != 0, "nothing was created");
  // A later success clears the detail.
  BOOST_TEST(open_shared(name, 0, {}, {}, {}, &segment) == SHAREDMEM_OK);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).empty());
  sharedmem_close(segment);
}

// Tests that a new shared object carries exactly the declared access: mode
// 0600 without named principals; with them, a POSIX ACL of the owner rw-,
// each listed user and group rw- or r-- (read-write winning), nothing for
// the owning group and everyone else, and the mask; and that inspection in
// the shared namespace shows it.
BOOST_AUTO_TEST_CASE(a_new_object_has_exactly_the_declared_access) {
  const std::string name = unique_name("acl");
  sharedmem_segment* plain = nullptr;
  BOOST_TEST_REQUIRE(open_shared(name + "p", 0, {}, {}, {}, &plain) == SHAREDMEM_OK);
  struct stat status {};
  BOOST_TEST_REQUIRE(::stat(shared_path(name + "p").c_str(), &status) == 0);
  BOOST_TEST((status.st_mode & 07777) == 0600u);
  BOOST_TEST(status.st_uid == ::geteuid());
  BOOST_TEST(acl_entries(shared_path(name + "p")).empty(), "no ACL beyond the mode");
  sharedmem_close(plain);

  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(open_shared(name, 0, {"uid:41001", "gid:42001", "uid:41003"},
                                 {"uid:41002", "gid:42002", "uid:41003"}, {}, &segment) ==
                     SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(segment) == 1);
  BOOST_TEST_REQUIRE(::stat(shared_path(name).c_str(), &status) == 0);
  BOOST_TEST((status.st_mode & 07777) == 0660u, "group class bits are the mask");
  const std::vector<AclEntry> wanted = {
      {0x01, 6, kNoId}, {0x02, 6, 41001}, {0x02, 4, 41002}, {0x02, 6, 41003},
      {0x04, 0, kNoId}, {0x08, 6, 42001}, {0x08, 4, 42002}, {0x10, 6, kNoId},
      {0x20, 0, kNoId}};
  const std::vector<AclEntry> found = acl_entries(shared_path(name));
  BOOST_TEST(found == wanted, boost::test_tools::per_element());

  sharedmem_info info{};
  info.struct_size = sizeof info;
  BOOST_TEST_REQUIRE(sharedmem_inspect(name.c_str(), SHAREDMEM_SHARED, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(std::string(info.os_name) == shared_path(name));
  BOOST_TEST(std::string(info.permissions) ==
             "-rw-rw---- (0660) user:41001:rw- user:41002:r-- user:41003:rw- group:42001:rw- "
             "group:42002:r-- mask::rw-");
  bool listed = false;
  auto visit = [](const sharedmem_info* item, void* context) -> int {
    auto* pair = static_cast<std::pair<const std::string*, bool*>*>(context);
    if (*pair->first == item->name) *pair->second = true;
    return 0;
  };
  std::pair<const std::string*, bool*> context{&name, &listed};
  BOOST_TEST(sharedmem_list(SHAREDMEM_SHARED, visit, &context) == SHAREDMEM_OK);
  BOOST_TEST(listed, "sharedmem_list(SHAREDMEM_SHARED) lists it");
  listed = false;
  BOOST_TEST(sharedmem_list(0, visit, &context) == SHAREDMEM_OK);
  BOOST_TEST(!listed, "the private namespace does not");
  sharedmem_close(segment);
  BOOST_TEST(::lstat(shared_path(name).c_str(), &status) != 0, "the owner last out removed it");
}

// Tests that a private segment and a shared one of the same name are two
// segments: neither sees the other's value, and each lives on when the
// other goes.
BOOST_AUTO_TEST_CASE(private_and_shared_segments_never_meet) {
  const std::string name = unique_name("apart");
  sharedmem_segment* mine = nullptr;
  sharedmem_segment* shared = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, 0, &mine) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(mine, "private", 7) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(open_shared(name, 0, {"gid:42001"}, {}, {}, &shared) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(shared) == 1);
  BOOST_TEST(read_value(shared) == "value:");
  BOOST_TEST_REQUIRE(sharedmem_write(shared, "shared", 6) == SHAREDMEM_OK);
  BOOST_TEST(read_value(mine) == "value:private");
  sharedmem_close(mine);
  BOOST_TEST(read_value(shared) == "value:shared");
  sharedmem_info info{};
  info.struct_size = sizeof info;
  BOOST_TEST(sharedmem_inspect(name.c_str(), 0, &info) == SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(sharedmem_open(name.c_str(), 64, SHAREDMEM_OPEN_ONLY, &mine) ==
             SHAREDMEM_E_NOT_FOUND);
  sharedmem_close(shared);
}

// Tests that an object of the shared name this user owns but with other
// access than the list declares (another list, world bits, the owning
// group, an executable bit) is refused with NOT_OWNER and a detail, and left
// as it was.
BOOST_AUTO_TEST_CASE(an_own_object_with_other_access_is_refused) {
  const std::string name = unique_name("mismatch");
  const std::string path = shared_path(name);
  struct Case {
    mode_t mode;
    std::string acl;  // empty: none
    std::vector<std::string> read_write;
    std::string detail;
  };
  const Case cases[] = {
      {0606, {}, {}, "grants everyone rw-"},
      {0660, {}, {}, "grants its group"},
      {0700, {}, {}, "gives its owner rwx"},
      {0600, {}, {"gid:42001"}, "does not grant group 42001 the rw- the list does"},
      {0660,
       acl_attribute({{0x01, 6, kNoId}, {0x02, 6, 41009}, {0x04, 0, kNoId}, {0x08, 6, 42001},
                      {0x10, 6, kNoId}, {0x20, 0, kNoId}}),
       {"gid:42001"},
       "grants user 41009 rw-, which the list does not"},
      {0640,
       acl_attribute({{0x01, 6, kNoId}, {0x04, 0, kNoId}, {0x08, 4, 42001}, {0x10, 4, kNoId},
                      {0x20, 0, kNoId}}),
       {"gid:42001"},
       "grants group 42001 r--, where the list says rw-"},
  };
  for (const Case& c : cases) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::write(fd, "squat", 5) == 5);
    BOOST_TEST_REQUIRE(::fchmod(fd, c.mode) == 0);
    if (!c.acl.empty())
      BOOST_TEST_REQUIRE(::fsetxattr(fd, "system.posix_acl_access", c.acl.data(), c.acl.size(),
                                     0) == 0);
    ::close(fd);
    const ObjectState before = state_of(path);
    sharedmem_segment* segment = nullptr;
    BOOST_TEST(open_shared(name, 0, c.read_write, {}, {}, &segment) == SHAREDMEM_E_NOT_OWNER,
               c.detail);
    const std::string detail = sharedmem_last_error_detail();
    BOOST_TEST(detail.find(c.detail) != std::string::npos, "detail \"" << detail << "\"");
    BOOST_TEST(detail.find(path) != std::string::npos, "the detail names the object");
    BOOST_TEST((state_of(path) == before), "left untouched: " << c.detail);
    std::uint32_t removed = 99;
    BOOST_TEST(sharedmem_prune(SHAREDMEM_SHARED, &removed) == SHAREDMEM_OK);
    BOOST_TEST((state_of(path) == before), "prune leaves a foreign file alone");
    ::unlink(path.c_str());
  }
}

// Tests the scenario with throwaway users A, B and D and C, B in
// group G: A creates the segment read-write for group:G and read-only for
// user:C; B (creators={user:A}) reads and writes; C reads with
// SHAREDMEM_READ_ONLY and its writes get SHAREDMEM_E_READ_ONLY; C without
// SHAREDMEM_READ_ONLY and D get ACCESS_DENIED; B without A among its
// creators gets NOT_OWNER naming A's uid.
BOOST_AUTO_TEST_CASE(listed_principals_get_their_access_and_nobody_else,
                     only_if(kRootWithUserTools)) {
  Principals principals;
  const std::string a = principals.user('a', false);
  const std::string b = principals.user('b', true);
  const std::string c = principals.user('c', false);
  const std::string d = principals.user('d', false);
  BOOST_TEST_REQUIRE(principals.ready(), "useradd/groupadd made the throwaway principals");
  const std::string name = unique_name("scenario");
  const std::vector<std::string> rw = {"group:" + principals.group()};
  const std::vector<std::string> ro = {"user:" + c};
  const std::vector<std::string> creators = {"user:" + a};

  Opener owner = start_opener(a, name, 0, rw, ro, {});
  BOOST_TEST_REQUIRE(owner.code() == 0, owner.line);
  BOOST_TEST(owner.created() == 1);
  BOOST_TEST(owner.ask("write from A") == code_line(SHAREDMEM_OK));

  Opener member = start_opener(b, name, 0, rw, ro, creators);
  BOOST_TEST_REQUIRE(member.code() == 0, member.line);
  BOOST_TEST(member.created() == 0);
  BOOST_TEST(member.ask("read") == "value:from A");
  BOOST_TEST(member.ask("write from B") == code_line(SHAREDMEM_OK));
  BOOST_TEST(owner.ask("read") == "value:from B");

  Opener reader = start_opener(c, name, SHAREDMEM_READ_ONLY, rw, ro, creators);
  BOOST_TEST(reader.code() == 0, reader.line);
  if (reader.code() == 0) {
    BOOST_TEST(reader.created() == 0);
    BOOST_TEST(reader.ask("read") == "value:from B");
    BOOST_TEST(reader.ask("write from C") == code_line(SHAREDMEM_E_READ_ONLY));
    BOOST_TEST(owner.ask("read") == "value:from B");
  }

  Opener reader_rw = start_opener(c, name, 0, rw, ro, creators);
  BOOST_TEST(reader_rw.code() == SHAREDMEM_E_ACCESS_DENIED, reader_rw.line);
  BOOST_TEST(reader_rw.detail().find("SHAREDMEM_READ_ONLY") != std::string::npos,
             reader_rw.detail());
  Opener stranger = start_opener(d, name, 0, rw, ro, creators);
  BOOST_TEST(stranger.code() == SHAREDMEM_E_ACCESS_DENIED, stranger.line);
  // Inspection: a member reads it as the segment it is, and sees the ACL; a
  // stranger learns only that someone else's object is there.
  const std::string seen = member.ask("inspect");
  BOOST_TEST(field(seen, "class") == SHAREDMEM_OBJECT_SEGMENT, seen);
  BOOST_TEST(field(seen, "value_size") == 6, seen);
  BOOST_TEST(seen.find("user:" + std::to_string(Principals::uid_of(c)) + ":r--") !=
                 std::string::npos,
             seen);
  const std::string hidden = stranger.ask("inspect");
  BOOST_TEST(field(hidden, "class") == SHAREDMEM_OBJECT_NOT_OWNER, hidden);
  BOOST_TEST(field(hidden, "value_size") == 0, hidden);
  Opener stranger_ro = start_opener(d, name, SHAREDMEM_READ_ONLY, rw, ro, creators);
  BOOST_TEST(stranger_ro.code() == SHAREDMEM_E_ACCESS_DENIED, stranger_ro.line);
  Opener no_creators = start_opener(b, name, 0, rw, ro, {});
  BOOST_TEST(no_creators.code() == SHAREDMEM_E_NOT_OWNER, no_creators.line);
  BOOST_TEST(no_creators.detail().find("owned by uid " +
                                       std::to_string(Principals::uid_of(a)) +
                                       ", not a listed creator") != std::string::npos,
             no_creators.detail());
  Opener other_list = start_opener(b, name, 0, rw, {}, creators);
  BOOST_TEST(other_list.code() == SHAREDMEM_E_NOT_OWNER, other_list.line);

  for (Opener* o : {&owner, &member, &reader, &reader_rw, &stranger, &stranger_ro, &no_creators,
                    &other_list})
    BOOST_TEST(o->finish());
}

// Tests that when B (not the owner) is last out after A left, the object
// that B may not remove is never stale: the next user finds it created anew
// and empty, a read-only opener finds nothing to join, and A's
// sharedmem_prune(SHAREDMEM_SHARED) reclaims it.
BOOST_AUTO_TEST_CASE(a_non_owner_last_out_leaves_nothing_stale,
                     only_if(kRootWithUserTools)) {
  Principals principals;
  const std::string a = principals.user('a', false);
  const std::string b = principals.user('b', true);
  const std::string c = principals.user('c', false);
  BOOST_TEST_REQUIRE(principals.ready(), "useradd/groupadd made the throwaway principals");
  const std::string name = unique_name("lastout");
  const std::vector<std::string> rw = {"group:" + principals.group()};
  const std::vector<std::string> ro = {"user:" + c};
  const std::vector<std::string> creators = {"user:" + a};

  Opener owner = start_opener(a, name, 0, rw, ro, {});
  BOOST_TEST_REQUIRE(owner.code() == 0, owner.line);
  Opener member = start_opener(b, name, 0, rw, ro, creators);
  BOOST_TEST_REQUIRE(member.code() == 0, member.line);
  BOOST_TEST(member.ask("write secret") == code_line(SHAREDMEM_OK));
  BOOST_TEST(owner.finish());
  BOOST_TEST(member.ask("close") == "closed");
  struct stat status {};
  BOOST_TEST_REQUIRE(::lstat(shared_path(name).c_str(), &status) == 0,
                     "B may not remove A's object in the sticky /dev/shm");
  BOOST_TEST(status.st_size == 0, "the dead object holds no content");

  Opener reader = start_opener(c, name, SHAREDMEM_READ_ONLY, rw, ro, creators);
  BOOST_TEST(reader.code() == SHAREDMEM_E_NOT_FOUND, reader.line);
  Opener again = start_opener(b, name, 0, rw, ro, creators);
  BOOST_TEST_REQUIRE(again.code() == 0, again.line);
  BOOST_TEST(again.created() == 1, "the next user starts afresh");
  BOOST_TEST(again.ask("read") == "value:");
  BOOST_TEST(again.finish());
  BOOST_TEST(::lstat(shared_path(name).c_str(), &status) == 0, "still there, dead");

  Opener pruner = start_opener(a, "-", 0, {}, {}, {});
  const std::string pruned = pruner.ask("prune");
  BOOST_TEST(field(pruned, "code") == 0, pruned);
  BOOST_TEST(field(pruned, "removed") >= 1, pruned);
  BOOST_TEST(::lstat(shared_path(name).c_str(), &status) != 0, "A's prune reclaimed it");
  for (Opener* o : {&member, &reader, &pruner}) BOOST_TEST(o->finish());
}

// Tests that a squatter S who takes the shared name first, with an object
// of any kind (a file of any mode or ACL, a symlink to A's file, a FIFO, a
// directory), or A's own object with an extra ACL entry for S, makes A's
// create fail with NOT_OWNER and a detail and B's open refuse it, and that
// S's object is left exactly as it was.
BOOST_AUTO_TEST_CASE(a_squatters_object_is_refused_and_untouched,
                     only_if(kRootWithUserTools)) {
  Principals principals;
  const std::string a = principals.user('a', false);
  const std::string b = principals.user('b', true);
  const std::string s = principals.user('s', true);
  BOOST_TEST_REQUIRE(principals.ready(), "useradd/groupadd made the throwaway principals");
  const uid_t a_uid = Principals::uid_of(a);
  const uid_t s_uid = Principals::uid_of(s);
  const group* g = ::getgrnam(principals.group().c_str());
  BOOST_TEST_REQUIRE(g != nullptr);
  const gid_t g_gid = g->gr_gid;
  const std::vector<std::string> rw = {"group:" + principals.group()};
  const std::string target = "/dev/shm/sharedmem.sharing-test-target." + std::to_string(::getpid());

  struct Squat {
    const char* what;
    uid_t owner;
    std::string a_detail;  // what A's refusal says
  };
  const std::string s_owned = "owned by uid " + std::to_string(s_uid) + ", not a listed creator";
  const Squat squats[] = {
      {"file 0600", s_uid, s_owned},
      {"file 0666", s_uid, s_owned},
      {"file with the list's ACL", s_uid, s_owned},
      {"symlink", s_uid, s_owned},
      {"fifo", s_uid, s_owned},
      {"directory", s_uid, s_owned},
      {"A's symlink", a_uid, "is a symbolic link"},
      {"A's fifo", a_uid, "is a FIFO"},
      {"A's file with an extra entry", a_uid,
       "grants user " + std::to_string(s_uid) + " rw-, which the list does not"},
      {"A's file open to all", a_uid, "grants everyone rw-"},
  };
  for (const Squat& squat : squats) {
    BOOST_TEST_CONTEXT(squat.what) {
      const std::string name = unique_name("squat");
      const std::string path = shared_path(name);
      const std::string what = squat.what;
      if (what.find("symlink") != std::string::npos) {
        int fd = ::open(target.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::fchown(fd, a_uid, static_cast<gid_t>(-1)) == 0);
        ::close(fd);
        BOOST_TEST_REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
      } else if (what.find("fifo") != std::string::npos) {
        BOOST_TEST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
      } else if (what == "directory") {
        BOOST_TEST_REQUIRE(::mkdir(path.c_str(), 0700) == 0);
      } else {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::write(fd, "squatter's bytes", 16) == 16);
        std::string acl;
        if (what == "file 0666" || what == "A's file open to all") {
          BOOST_TEST_REQUIRE(::fchmod(fd, 0666) == 0);
        } else if (what == "file with the list's ACL") {
          acl = acl_attribute({{0x01, 6, kNoId}, {0x04, 0, kNoId}, {0x08, 6, g_gid},
                               {0x10, 6, kNoId}, {0x20, 0, kNoId}});
        } else if (what == "A's file with an extra entry") {
          acl = acl_attribute({{0x01, 6, kNoId}, {0x02, 6, s_uid}, {0x04, 0, kNoId},
                               {0x08, 6, g_gid}, {0x10, 6, kNoId}, {0x20, 0, kNoId}});
        }
        if (!acl.empty())
          BOOST_TEST_REQUIRE(::fsetxattr(fd, "system.posix_acl_access", acl.data(), acl.size(),
                                         0) == 0);
        ::close(fd);
      }
      BOOST_TEST_REQUIRE(::lchown(path.c_str(), squat.owner, static_cast<gid_t>(-1)) == 0);
      const ObjectState before = state_of(path);
      const ObjectState target_before = state_of(target);

      Opener creator = start_opener(a, name, 0, rw, {}, {});
      BOOST_TEST(creator.code() == SHAREDMEM_E_NOT_OWNER, creator.line);
      BOOST_TEST(creator.detail().find(squat.a_detail) != std::string::npos, creator.detail());
      Opener member = start_opener(b, name, 0, rw, {}, {"user:" + a});
      BOOST_TEST(member.code() == SHAREDMEM_E_NOT_OWNER, member.line);
      // Neither A's prune nor the squatter's removes it.
      Opener prune = start_opener(a, "-", 0, {}, {}, {});
      BOOST_TEST(field(prune.ask("prune"), "code") == 0);
      Opener squatter_prune = start_opener(s, "-", 0, {}, {}, {});
      BOOST_TEST(field(squatter_prune.ask("prune"), "code") == 0);
      for (Opener* o : {&creator, &member, &prune, &squatter_prune}) BOOST_TEST(o->finish());
      BOOST_TEST((state_of(path) == before), "the squatter's object is untouched");
      BOOST_TEST((state_of(target) == target_before), "the symlink's target is untouched");
      if (what == "directory")
        ::rmdir(path.c_str());
      else
        ::unlink(path.c_str());
      ::unlink(target.c_str());
    }
  }
}


// Tests a shared segment's lifetime across PID and mount namespaces (the
// same /dev/shm; containers_test.cpp does it for private segments):
// processes that are each PID 1 of their own namespaces share a segment;
// when one is killed the other keeps it (a newcomer joins its value); when
// all are killed the segment is dead: its owner's prune reclaims it and the
// next opener starts afresh.
BOOST_AUTO_TEST_CASE(a_shared_segments_lifetime_holds_across_namespaces, only_if(kUnshare)) {
  const std::string name = unique_name("pidns");
  Opener first = start_in_namespaces(name);
  BOOST_TEST_REQUIRE(first.code() == 0, first.line);
  BOOST_TEST(first.created() == 1);
  BOOST_TEST(first.ask("pid") == "pid:1");
  BOOST_TEST(first.ask("write kept") == code_line(SHAREDMEM_OK));
  Opener second = start_in_namespaces(name);
  BOOST_TEST_REQUIRE(second.code() == 0, second.line);
  BOOST_TEST(second.created() == 0, "joined across PID namespaces");
  BOOST_TEST(second.ask("pid") == "pid:1");
  BOOST_TEST(second.ask("read") == "value:kept");

  first.child.kill();
  BOOST_TEST_REQUIRE(await_holders(name, 1), "the killed user's lock went with it");
  BOOST_TEST(second.ask("read") == "value:kept", "the other keeps it");
  Opener third = start_in_namespaces(name);
  BOOST_TEST_REQUIRE(third.code() == 0, third.line);
  BOOST_TEST(third.created() == 0, "a newcomer joins the survivor");
  BOOST_TEST(third.ask("read") == "value:kept");

  second.child.kill();
  third.child.kill();
  BOOST_TEST_REQUIRE(await_holders(name, 0), "every user was killed");
  // Dead, unless a process of a test running in parallel created a shared
  // segment meanwhile and its sweep took it first: then prune has nothing
  // of it to count.
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const sharedmem_error seen = sharedmem_inspect(name.c_str(), SHAREDMEM_SHARED, &info);
  BOOST_TEST((seen == SHAREDMEM_E_NOT_FOUND ||
              (seen == SHAREDMEM_OK && info.object_class == SHAREDMEM_OBJECT_DEAD)),
             "error " << seen << ", class " << info.object_class);
  std::uint32_t removed = 0;
  BOOST_TEST(sharedmem_prune(SHAREDMEM_SHARED, &removed) == SHAREDMEM_OK);
  if (seen == SHAREDMEM_OK) BOOST_TEST(removed >= 1u);
  BOOST_TEST(sharedmem_inspect(name.c_str(), SHAREDMEM_SHARED, &info) == SHAREDMEM_E_NOT_FOUND,
             "gone");
  Opener next = start_in_namespaces(name);
  BOOST_TEST_REQUIRE(next.code() == 0, next.line);
  BOOST_TEST(next.created() == 1);
  BOOST_TEST(next.ask("read") == "value:");
  BOOST_TEST(next.finish());
}


// Tests shared segments from user namespaces (a rootless container): ids
// are the namespace's, as the kernel maps them. A namespace whose uid 0 is
// a host uid the list names opens the segment, naming itself "uid:0" and
// the host owner, which it cannot map, as the overflow uid 65534 among the
// creators; without that creator it is refused (NOT_OWNER); a namespace
// whose uid 0 is a host uid the list does not name is refused (NOT_OWNER:
// the ACL names a host uid it cannot see), though it is "root" inside.
BOOST_AUTO_TEST_CASE(user_namespaces_get_what_the_list_gives_their_host_ids,
                     only_if(kUserNamespaces)) {
  const std::string name = unique_name("userns");
  constexpr unsigned kListed = 41234, kUnlisted = 41235;
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(open_shared(name, 0, {"uid:" + std::to_string(kListed)}, {}, {}, &segment) ==
                     SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(segment, "host", 4) == SHAREDMEM_OK);

  Opener listed = start_in_user_namespace(kListed, name, 0, {"uid:0"}, {"uid:65534"});
  BOOST_TEST(listed.code() == 0, listed.line);
  BOOST_TEST(listed.created() == 0);
  BOOST_TEST(listed.ask("read") == "value:host");
  BOOST_TEST(listed.ask("write from the namespace") == code_line(SHAREDMEM_OK));
  BOOST_TEST(read_value(segment) == "value:from the namespace");

  Opener no_creator = start_in_user_namespace(kListed, name, 0, {"uid:0"}, {});
  BOOST_TEST(no_creator.code() == SHAREDMEM_E_NOT_OWNER, no_creator.line);
  BOOST_TEST(no_creator.detail().find("owned by uid 65534") != std::string::npos,
             no_creator.detail());
  // The listed host uid is one this namespace cannot map: its ACL entry
  // reads as id 4294967295, which no list can name.
  Opener unlisted = start_in_user_namespace(kUnlisted, name, 0, {"uid:0"}, {"uid:65534"});
  BOOST_TEST(unlisted.code() == SHAREDMEM_E_NOT_OWNER, unlisted.line);
  BOOST_TEST(unlisted.detail().find("grants user 4294967295 rw-") != std::string::npos,
             unlisted.detail());
  for (Opener* o : {&listed, &no_creator, &unlisted}) BOOST_TEST(o->finish());
  BOOST_TEST(read_value(segment) == "value:from the namespace", "the refused changed nothing");
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
