// SPDX-License-Identifier: MIT
// Tests that only make sense on POSIX: file modes and owners, other users
// (when run as root), objects in /dev/shm that are blank, shortened or open
// to others, forked children, and the race with a last user's unlink.
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "platform/linux/object_linux.hpp"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

constexpr uid_t kOtherUid = 65534;  // nobody
constexpr gid_t kOtherGid = 65534;

sharedmem_error try_open(const std::string& name, std::uint64_t capacity) {
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(name, capacity, ec);
  return static_cast<sharedmem_error>(ec.value());
}

bool drop_to_other_user() {
  return ::setgroups(0, nullptr) == 0 && ::setgid(kOtherGid) == 0 && ::setuid(kOtherUid) == 0;
}

// As another user: tries to read, write and lock the object `args[0]` and
// reports what the OS allowed: "read:<0|1> write:<0|1>".
SHAREDMEM_CHILD_ROLE(other_user_probe) {
  if (!drop_to_other_user()) {
    report("error:cannot drop privileges");
    return 1;
  }
  const int read_fd = ::shm_open(args.at(0).c_str(), O_RDONLY, 0);
  const int write_fd = ::shm_open(args.at(0).c_str(), O_RDWR, 0);
  report(std::string("read:") + (read_fd >= 0 ? "1" : "0") + " write:" + (write_fd >= 0 ? "1" : "0"));
  return 0;
}

// As another user: opens segment args[0] through the library and reports
// what it reads, then holds it until the parent says so.
SHAREDMEM_CHILD_ROLE(other_user_open) {
  if (!drop_to_other_user()) {
    report("error:cannot drop privileges");
    return 1;
  }
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), 64, ec);
  if (ec) {
    report("error:" + ec.message());
    return 1;
  }
  report("value:" + segment.read());
  await_parent();
  return 0;
}

// As another user: squats the owner's object name, world-writable, with
// recognisable content.
SHAREDMEM_CHILD_ROLE(other_user_squat) {
  if (!drop_to_other_user()) {
    report("error:cannot drop privileges");
    return 1;
  }
  const int fd = ::shm_open(args.at(0).c_str(), O_RDWR | O_CREAT | O_EXCL, 0666);
  if (fd < 0 || ::fchmod(fd, 0666) != 0 || ::write(fd, "squatter", 8) != 8) {
    report("error:cannot squat");
    return 1;
  }
  report("squatted");
  return 0;
}

bool running_as_root() { return ::geteuid() == 0; }
constexpr Condition kRoot{running_as_root, "dropping to another uid needs root"};

// With no file descriptor left (RLIMIT_NOFILE at the lowest free one), opens
// segment args[0] and reports "code:<error> system:<last system error>
// what:<exception text>"; then, with descriptors again, opens args[1], under
// which the parent put a directory of ours, and reports the same.
SHAREDMEM_CHILD_ROLE(open_without_descriptors) {
  const auto attempt = [](const std::string& name) {
    sharedmem_segment* segment = nullptr;
    const sharedmem_error e = sharedmem_open(name.c_str(), 64, 0, &segment);
    const int system = sharedmem_last_system_error();
    sharedmem_close(segment);
    std::string what = "none";
    try {
      (void)sharedmem::segment::open(name, 64);
    } catch (const sharedmem::error& error) {
      what = error.what();
    }
    report(code_line(e) + " system:" + std::to_string(system) + " what:" + what);
  };
  struct rlimit previous {};
  if (::getrlimit(RLIMIT_NOFILE, &previous) != 0) return 1;
  const int lowest_free = ::dup(0);
  if (lowest_free < 0) return 1;
  ::close(lowest_free);
  struct rlimit none = previous;
  none.rlim_cur = static_cast<rlim_t>(lowest_free);
  if (::setrlimit(RLIMIT_NOFILE, &none) != 0) return 1;
  attempt(args.at(0));
  if (::setrlimit(RLIMIT_NOFILE, &previous) != 0) return 1;
  attempt(args.at(1));
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(posix)

// Tests the race between a last user's unlink and a newcomer that opened
// the old object just before: the newcomer, stopped between its open and the
// attach gate while the last user leaves, must end up on the object that now
// holds the name, shared with everyone else, not on the unlinked one.
#if defined(SHAREDMEM_FAULT_INJECTION)
BOOST_AUTO_TEST_CASE(posix_newcomer_racing_last_unlink_joins_the_live_object,
                     *boost::unit_test::label("fault_injection")) {
  const std::string name = unique_name("unlinkrace");
  ChildProcess last = hold_in_child(name, "old");
  // Hit 1 of the point is sharedmem_setget's attach of the default segment at
  // load (through the same core); hit 2 is ours.
  ChildProcess newcomer = start_role("segment_hold", {name, kChildCapacity},
                                     {{"SHAREDMEM_TEST_FAULT", "attach_before_gate@2:stop"}});
  BOOST_TEST_REQUIRE(newcomer.wait_stopped(line_timeout()), "the newcomer stopped before the gate");
  release(last);  // the last user unlinks the object the newcomer has open
  newcomer.resume();
  BOOST_TEST_REQUIRE(expect_line(newcomer) == "open");
  ChildProcess other = hold_in_child(name);
  other.write_line("write:together");
  BOOST_TEST(expect_line(other) == "wrote");
  newcomer.write_line("read");
  BOOST_TEST(expect_line(newcomer) == "value:together");
  release(other);
  release(newcomer);
  BOOST_TEST(!os_object_exists(name));
}
#endif

// Forks a child without exec that only waits until `release` (set here) is
// closed, then exits without detaching anything, as by a crash. Returns once
// the child runs: its fork handlers (which give it descriptions of its own)
// have run by then.
pid_t fork_idle_child(int& release) {
  int hold[2], ready[2];
  BOOST_TEST_REQUIRE(::pipe(hold) == 0);
  BOOST_TEST_REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {  // only async-signal-safe calls here: say so, wait for the parent, leave
    char byte = 'r';
    ::close(hold[1]);
    ::close(ready[0]);
    (void)::write(ready[1], &byte, 1);
    (void)::read(hold[0], &byte, 1);
    ::_exit(0);
  }
  ::close(hold[0]);
  ::close(ready[1]);
  char byte = 0;
  BOOST_TEST_REQUIRE(::read(ready[0], &byte, 1) == 1, "the forked child runs");
  ::close(ready[0]);
  release = hold[1];
  return child;
}

// Tests that a child forked without exec, which shares the parent's open
// file descriptions and so their locks, blocks nobody: the parent's closes
// release what they took even though the child's copies of the descriptors
// stay open; and the child is a user of its own (README, rule 4): the
// segment outlives the parent's closes while the child lives, and once the
// child dies too the next user starts from zero.
BOOST_AUTO_TEST_CASE(posix_forked_child_does_not_keep_the_parents_locks) {
  const std::string name = unique_name("fork");
  const std::uint64_t capacity = std::stoull(kChildCapacity);
  sharedmem::segment first = sharedmem::segment::open(name, capacity);
  sharedmem::segment second = sharedmem::segment::open(name, capacity);
  first.write("parent's");
  int release_child = -1;
  const pid_t child = fork_idle_child(release_child);
  first = sharedmem::segment();  // not the last handle: the detach takes the gate, must give it back
  BOOST_TEST(read_in_child(name) == "value:parent's", "a newcomer got through the gate");
  second = sharedmem::segment();  // the parent's last, but the child still holds both copies
  BOOST_TEST(read_in_child(name) == "value:parent's", "the forked child kept the segment");
  ::close(release_child);  // the child dies without detaching, as by a crash
  int status = 0;
  BOOST_TEST(::waitpid(child, &status, 0) == child);
  BOOST_TEST(read_in_child(name) == "value:");
  BOOST_TEST(!os_object_exists(name));
}

// The access modes (O_RDONLY, O_RDWR) of the descriptors process `pid` has
// open on segment `name`'s object, read from /proc/<pid>/fd and fdinfo.
std::vector<int> access_modes_of(pid_t pid, const std::string& name) {
  std::vector<int> modes;
  const std::string target = os_object_path(name);
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd/";
  for (int fd = 0; fd < 1024; ++fd) {
    char link[512];
    const ssize_t n = ::readlink((fds + std::to_string(fd)).c_str(), link, sizeof link - 1);
    if (n < 0 || std::string(link, static_cast<std::size_t>(n)) != target) continue;
    std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    std::string key;
    std::string flags;
    while (info >> key >> flags && key != "flags:") {
    }
    modes.push_back(static_cast<int>(std::stoul(flags, nullptr, 8)) & O_ACCMODE);
  }
  return modes;
}

// Tests that a child forked without exec from a read-only user is a
// read-only user of its own: its description of the object is its own (the
// segment outlives the parent's close while the child lives) and, like the
// parent's, without write access.
BOOST_AUTO_TEST_CASE(posix_forked_child_of_a_read_only_user_is_a_read_only_user) {
  const std::string name = unique_name("forkro");
  ChildProcess holder = hold_in_child(name, "shared");
  sharedmem_segment* reader = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &reader) ==
                     SHAREDMEM_OK);
  int release_child = -1;
  const pid_t child = fork_idle_child(release_child);
  BOOST_TEST(access_modes_of(::getpid(), name) == std::vector<int>{O_RDONLY});
  BOOST_TEST(access_modes_of(child, name) == std::vector<int>{O_RDONLY},
             "the child's description of the object is read-only");
  release(holder);
  sharedmem_close(reader);  // the parent's last; the child still holds its own
  BOOST_TEST(read_in_child(name) == "value:shared", "the forked child kept the segment");
  ::close(release_child);  // the child dies without detaching, as by a crash
  int status = 0;
  BOOST_TEST(::waitpid(child, &status, 0) == child);
  BOOST_TEST(read_in_child(name) == "value:");
}

// An OFD lock request of `type` on byte `byte` alone.
struct flock one_byte(short type, off_t byte) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  return lock;
}

// Tests that a read-only open of a dead object (its only user killed) is
// NOT_FOUND and leaves it exactly as it was: no lock left, no byte changed,
// not removed; the next read-write opener then starts from zero. A shared
// lock on the object's gate byte, which the read-only opener's shared gate
// lock shares, keeps the sweep (which needs the gate exclusively) from
// removing the object first.
BOOST_AUTO_TEST_CASE(posix_read_only_open_of_a_dead_object_touches_nothing) {
  const std::string name = unique_name("rodead");
  ChildProcess holder = hold_in_child(name, "stale");
  const int fd = ::open(os_object_path(name).c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  struct flock gate = one_byte(F_RDLCK, sharedmem::platform::posix::kGateByte);  // shared
  BOOST_TEST_REQUIRE(::fcntl(fd, F_OFD_SETLK, &gate) == 0);
  holder.kill();
  struct stat before {};
  BOOST_TEST_REQUIRE(::fstat(fd, &before) == 0);
  std::vector<char> bytes_before(static_cast<std::size_t>(before.st_size));
  BOOST_TEST_REQUIRE(::pread(fd, bytes_before.data(), bytes_before.size(), 0) == before.st_size);

  sharedmem_segment* reader = nullptr;
  BOOST_TEST(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &reader) ==
             SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(reader == nullptr);
  sharedmem_close(reader);

  BOOST_TEST(os_object_exists(name), "the dead object was left where it was");
  struct stat after {};
  BOOST_TEST_REQUIRE(::fstat(fd, &after) == 0);
  BOOST_TEST(after.st_nlink == 1u);
  std::vector<char> bytes_after(static_cast<std::size_t>(after.st_size));
  BOOST_TEST_REQUIRE(::pread(fd, bytes_after.data(), bytes_after.size(), 0) == after.st_size);
  BOOST_TEST(bytes_after == bytes_before, "a read-only open changed a dead object");
  struct flock user = one_byte(F_WRLCK, sharedmem::platform::posix::kUserByte);  // does anyone hold it?
  BOOST_TEST_REQUIRE(::fcntl(fd, F_OFD_GETLK, &user) == 0);
  BOOST_TEST(user.l_type == F_UNLCK, "the read-only opener left a user lock");
  ::close(fd);  // drops the gate lock

  sharedmem::segment fresh = sharedmem::segment::open(name, std::stoull(kChildCapacity));
  BOOST_TEST(fresh.created());
  BOOST_TEST(fresh.read() == "");
}

// Tests that a read-only open of a FIFO, a symlink or a directory of ours
// under a segment's name is refused as INCOMPATIBLE without blocking (a FIFO
// opened for reading waits for a writer unless opened non-blocking) and
// without following the link; each is left where it was.
BOOST_AUTO_TEST_CASE(posix_read_only_open_of_special_files_is_refused_without_blocking) {
  const std::string fifo = unique_name("rofifo");
  const std::string link = unique_name("rolink");
  const std::string directory = unique_name("rodir");
  BOOST_TEST_REQUIRE(::mkfifo(os_object_path(fifo).c_str(), 0600) == 0);
  BOOST_TEST_REQUIRE(::symlink("/dev/zero", os_object_path(link).c_str()) == 0);
  BOOST_TEST_REQUIRE(::mkdir(os_object_path(directory).c_str(), 0700) == 0);
  for (const std::string& name : {fifo, link, directory}) {
    BOOST_TEST_CONTEXT(name) {
      sharedmem_segment* segment = nullptr;
      BOOST_TEST(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &segment) ==
                 SHAREDMEM_E_INCOMPATIBLE);
      BOOST_TEST(segment == nullptr);
      struct stat status {};
      BOOST_TEST(::lstat(os_object_path(name).c_str(), &status) == 0, "left where it was");
    }
  }
  ::unlink(os_object_path(fifo).c_str());
  ::unlink(os_object_path(link).c_str());
  ::rmdir(os_object_path(directory).c_str());
}

// Tests that a child forked while its parent holds a raw segment's lock does
// not hold it: it can neither unlock it nor take it, and its exit leaves the
// lock with the parent (no owner-died for anyone).
BOOST_AUTO_TEST_CASE(posix_forked_child_does_not_hold_the_parents_raw_lock) {
  const std::string name = unique_name("forklock");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 4096, SHAREDMEM_RAW, &segment) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_lock(segment, 0) == SHAREDMEM_OK);
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    if (sharedmem_unlock(segment) != SHAREDMEM_E_NOT_HELD) code |= 1;
    if (sharedmem_lock(segment, 0) != SHAREDMEM_E_TIMEOUT) code |= 2;
    ::_exit(code);
  }
  int status = 0;
  BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "1: the child unlocked it, 2: the child took it");
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_E_WOULD_DEADLOCK, "still the parent's");
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_lock(segment, 0) == SHAREDMEM_OK, "no owner died");
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  sharedmem_close(segment);
}

// Tests that segments are created owner-only (0600), whatever the umask.
BOOST_AUTO_TEST_CASE(posix_objects_are_created_owner_only) {
  const mode_t old_mask = ::umask(0);
  const std::string name = unique_name("mode");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  ::umask(old_mask);
  struct stat status {};
  BOOST_TEST_REQUIRE(::stat(os_object_path(name).c_str(), &status) == 0);
  BOOST_TEST((status.st_mode & 0777) == 0600u);
  BOOST_TEST(status.st_uid == ::geteuid());
}

// Tests that an object of ours that others can read is refused and untouched.
BOOST_AUTO_TEST_CASE(posix_object_accessible_to_others_is_refused) {
  const std::string name = unique_name("open");
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666}) {
    ForeignObject planted(name, 100, 0x5a, mode);
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_NOT_OWNER, "mode " << std::oct << mode);
    BOOST_TEST(planted.contents() == std::string(100, '\x5a'));
  }
}

// Tests that a live segment whose object is shorter than its header says is
// refused before it is mapped past its end: touching such a mapping would
// raise SIGBUS. (The holder here never touches its own mapping meanwhile.)
BOOST_AUTO_TEST_CASE(posix_object_shorter_than_its_header_is_refused) {
  const std::string name = unique_name("short");
  sharedmem::segment holder = sharedmem::segment::open(name, 64);
  const int fd = ::shm_open(os_object_name(name).c_str(), O_RDWR, 0);
  BOOST_TEST_REQUIRE(fd >= 0);
  struct stat status {};
  BOOST_TEST_REQUIRE(::fstat(fd, &status) == 0);
  for (off_t size : {off_t{100}, off_t{4096}, status.st_size - 1}) {
    BOOST_TEST_REQUIRE(::ftruncate(fd, size) == 0);
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE, "object of " << size << " bytes: " << try_open(name, 64));
  }
  BOOST_TEST_REQUIRE(::ftruncate(fd, status.st_size) == 0);
  ::close(fd);
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_OK);
}

// Tests that an empty or half-initialised leftover (a first user killed
// before finishing) is taken over and reset, not refused.
BOOST_AUTO_TEST_CASE(posix_blank_leftover_is_reset) {
  const std::string name = unique_name("blank");
  for (std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{8192}}) {
    ForeignObject planted(name, size, 0);
    sharedmem::segment segment = sharedmem::segment::open(name, 64);
    BOOST_TEST(segment.read().empty());
    segment.write("works");
    BOOST_TEST(segment.read() == "works");
  }
  BOOST_TEST(!os_object_exists(name));
}

// Tests that another user can neither open, read nor write the owner's
// segment, and gets its own segment under the same name instead.
BOOST_AUTO_TEST_CASE(posix_other_user_cannot_reach_segment, only_if(kRoot)) {
  const std::string name = unique_name("secret");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  segment.write("owner's secret");

  ChildProcess probe = start_role("other_user_probe", {os_object_name(name)});
  BOOST_TEST(expect_line(probe) == "read:0 write:0");
  BOOST_TEST(expect_exit(probe) == 0);

  ChildProcess other = start_role("other_user_open", {name});
  BOOST_TEST(expect_line(other) == "value:", "the other user got its own, empty segment");
  // The owner keeps full use of its segment while the other user holds its own.
  segment.write("still mine");
  BOOST_TEST(segment.read() == "still mine");
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_OK);
  other.write_line("exit");
  BOOST_TEST(expect_exit(other) == 0);
  BOOST_TEST(os_object_exists(name), "the owner's object is still there");
  ::shm_unlink(os_object_name(name, kOtherUid).c_str());
}

// Tests that a squatter who creates the owner's object name first is refused
// with NOT_OWNER, and learns nothing: its object is left as it made it.
BOOST_AUTO_TEST_CASE(posix_squatter_is_refused_and_learns_nothing, only_if(kRoot)) {
  const std::string name = unique_name("squat");
  ChildProcess squatter = start_role("other_user_squat", {os_object_name(name)});
  BOOST_TEST_REQUIRE(expect_line(squatter) == "squatted");
  BOOST_TEST(expect_exit(squatter) == 0);
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_NOT_OWNER);
  struct stat status {};
  BOOST_TEST_REQUIRE(::stat(os_object_path(name).c_str(), &status) == 0);
  BOOST_TEST(status.st_size == 8, "the squatter's object is as it made it");
  BOOST_TEST(status.st_uid == kOtherUid);
  char bytes[16] = {};
  const int fd = ::open(os_object_path(name).c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST(::read(fd, bytes, sizeof bytes) == 8);
  ::close(fd);
  BOOST_TEST(std::string(bytes) == "squatter");
  ::shm_unlink(os_object_name(name).c_str());
}

// Tests that sharedmem_last_system_error gives the errno behind an OS
// failure (EMFILE: no descriptor left gives SHAREDMEM_E_SYSTEM, not
// NO_MEMORY, which means shared memory the system cannot back), that the
// C++ exception names it, and that the next failure the OS did not cause (a
// directory of ours under the name) resets it to 0.
// Not under the sanitizers: their runtimes need descriptors of their own to
// check the exception the starved open throws inside the library, and abort
// without.
BOOST_AUTO_TEST_CASE(posix_last_system_error_names_the_errno, only_if(kWithoutAddressSanitizer)) {
  const std::string starved = unique_name("emfile");
  const std::string squatted = unique_name("dir");
  BOOST_TEST_REQUIRE(::mkdir(os_object_path(squatted).c_str(), 0700) == 0);
  ChildProcess child = start_role("open_without_descriptors", {starved, squatted});
  const std::string no_descriptor = expect_line(child);
  const std::string directory = expect_line(child);
  BOOST_TEST(expect_exit(child) == 0);
  ::rmdir(os_object_path(squatted).c_str());
  BOOST_TEST(field(no_descriptor, "code") == SHAREDMEM_E_SYSTEM, no_descriptor);
  BOOST_TEST(field(no_descriptor, "system") == EMFILE, no_descriptor);
  BOOST_TEST(no_descriptor.find("(system error " + std::to_string(EMFILE) + ")") !=
                 std::string::npos,
             no_descriptor);
  BOOST_TEST(!os_object_exists(starved));
  BOOST_TEST(field(directory, "code") == SHAREDMEM_E_INCOMPATIBLE, directory);
  BOOST_TEST(field(directory, "system") == 0, directory);
  BOOST_TEST(directory.find("(system error") == std::string::npos, directory);
}

// Tests that the global scope, which Linux has not (one namespace serves
// every session), is refused as UNSUPPORTED by every call that takes a
// scope, before anything is created: the name stays absent.
BOOST_AUTO_TEST_CASE(posix_global_scope_is_unsupported_everywhere) {
  const std::string name = unique_name("global");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST(sharedmem_open(name.c_str(), 64, SHAREDMEM_SCOPE_GLOBAL, &segment) ==
             SHAREDMEM_E_UNSUPPORTED);
  BOOST_TEST(segment == nullptr);
  BOOST_TEST(!os_object_exists(name), "nothing was created");
  sharedmem_info info{};
  info.struct_size = sizeof info;
  BOOST_TEST(sharedmem_inspect(name.c_str(), SHAREDMEM_SCOPE_GLOBAL, &info) ==
             SHAREDMEM_E_UNSUPPORTED);
  int listed = 0;
  BOOST_TEST(sharedmem_list(
                 SHAREDMEM_SCOPE_GLOBAL,
                 [](const sharedmem_info*, void* context) {
                   ++*static_cast<int*>(context);
                   return 0;
                 },
                 &listed) == SHAREDMEM_E_UNSUPPORTED);
  BOOST_TEST(listed == 0);
  std::uint32_t removed = 7;
  BOOST_TEST(sharedmem_prune(SHAREDMEM_SCOPE_GLOBAL, &removed) == SHAREDMEM_E_UNSUPPORTED);
  BOOST_TEST(removed == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
