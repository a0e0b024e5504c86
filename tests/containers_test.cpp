// SPDX-License-Identifier: MIT
// Containers (Linux): what holds when the users of a segment live in
// different namespaces, as containers put them. The lifetime is kept by
// locks on the /dev/shm object, so it holds wherever the processes reach the
// same /dev/shm, whatever their PID or mount namespace; a private /dev/shm
// (a container's own IPC namespace and tmpfs) is a world apart; a user
// namespace that maps the user to its own host uid is the same user, one
// that maps it elsewhere is another user and is refused. Every case needs
// root (unshare, mounts, uid maps) and is reported as skipped without it.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <climits>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"

using namespace sharedmem_test;

namespace {

constexpr std::uint64_t kCapacity = 64;
constexpr const char* kUnshare = "/usr/bin/unshare";

// The namespace of `kind` ("pid", "mnt", "user") this process is in, as the
// kernel names it ("pid:[4026531836]").
std::string namespace_of(const char* kind) {
  char link[PATH_MAX] = {};
  const std::string path = std::string("/proc/self/ns/") + kind;
  const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
  return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : std::string("?");
}

// This process's PID as the host sees it: /proc is the host's (no
// --mount-proc), so /proc/self names the host PID even inside a PID
// namespace, where getpid() is 1.
std::string host_pid() {
  char link[64] = {};
  const ssize_t n = ::readlink("/proc/self", link, sizeof link - 1);
  return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : std::string("?");
}

std::string read_value(sharedmem_segment* segment) {
  char buffer[kCapacity] = {};
  std::uint64_t size = 0;
  if (sharedmem_read(segment, buffer, sizeof buffer, &size) != SHAREDMEM_OK) return "(error)";
  return std::string(buffer, static_cast<std::size_t>(size));
}

// Opens segment args[0], writes args[1] if not empty, reports
// "ready <host pid> <getpid()> <pid ns> <mount ns>", then answers each
// "read" with "value:<value>" until stdin closes.
SHAREDMEM_CHILD_ROLE(ct_holder) {
  sharedmem_segment* segment = nullptr;
  if (const sharedmem_error e = sharedmem_open(args.at(0).c_str(), kCapacity, 0, &segment)) {
    report(code_line(e));
    return 1;
  }
  const std::string& value = args.at(1);
  if (!value.empty() && sharedmem_write(segment, value.data(), value.size()) != SHAREDMEM_OK)
    return 2;
  report("ready " + host_pid() + " " + std::to_string(::getpid()) + " " + namespace_of("pid") +
         " " + namespace_of("mnt"));
  while (await_parent() == "read") report("value:" + read_value(segment));
  sharedmem_close(segment);
  return 0;
}

// Makes this process's /dev/shm a fresh 1 MiB tmpfs in a mount namespace of
// its own (what a container with its own IPC namespace gets).
bool mount_private_dev_shm() {
  return ::unshare(CLONE_NEWNS) == 0 &&
         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         ::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") == 0;
}

// Reports how many entries /dev/shm holds, as "entries:<n>".
void report_dev_shm_entries() {
  int entries = 0;
  if (DIR* directory = ::opendir("/dev/shm")) {
    while (const dirent* entry = ::readdir(directory))
      entries += entry->d_name[0] != '.';
    ::closedir(directory);
  }
  report("entries:" + std::to_string(entries));
}

// With a private /dev/shm, opens segment args[0] there, writes args[1] and
// reports "ready", then waits for stdin to close.
SHAREDMEM_CHILD_ROLE(ct_private_shm_holder) {
  if (!mount_private_dev_shm()) {
    report("error:mount");
    return 1;
  }
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), kCapacity, 0, &segment) != SHAREDMEM_OK) return 2;
  if (sharedmem_write(segment, args.at(1).data(), args.at(1).size()) != SHAREDMEM_OK) return 3;
  report(std::string("ready created:") + std::to_string(sharedmem_created(segment)));
  (void)await_parent();
  sharedmem_close(segment);
  return 0;
}

// With a private 1 MiB /dev/shm, opens segment args[0] with 4 MiB and
// reports "code:<n>", then what /dev/shm holds.
SHAREDMEM_CHILD_ROLE(ct_small_shm_open) {
  if (!mount_private_dev_shm()) {
    report("error:mount");
    return 1;
  }
  sharedmem_segment* segment = nullptr;
  report(code_line(sharedmem_open(args.at(0).c_str(), 4u << 20, 0, &segment)));
  report_dev_shm_entries();
  sharedmem_close(segment);
  return 0;
}

// Enters a user namespace of its own and reports "unshared pid:<pid>", then waits for
// the parent to write its uid and gid maps ("go"), becomes the namespace's
// uid 0, reports "uid:<euid in the namespace>", opens segment args[0] (OPEN_ONLY) and
// reports "code:<n> value:<value>".
SHAREDMEM_CHILD_ROLE(ct_userns_opener) {
  if (::unshare(CLONE_NEWUSER) != 0) {
    report("error:unshare");
    return 1;
  }
  report("unshared pid:" + std::to_string(::getpid()));
  if (await_parent() != "go") return 2;
  // Become the namespace's uid and gid 0, which the maps tie to a host
  // user: until then this process keeps the host uid it came with.
  if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
    report("error:setresuid");
    return 3;
  }
  report("uid:" + std::to_string(::geteuid()));
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e =
      sharedmem_open(args.at(0).c_str(), kCapacity, SHAREDMEM_OPEN_ONLY, &segment);
  report(code_line(e) + " value:" + (segment ? read_value(segment) : std::string()));
  sharedmem_close(segment);
  return 0;
}

bool root_with_unshare() { return ::geteuid() == 0 && ::access(kUnshare, X_OK) == 0; }

// Whether this system lets us make a user namespace (a container may not).
bool user_namespaces_allowed() {
  if (::geteuid() != 0) return false;
  const pid_t child = ::fork();
  if (child == 0) _exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  int status = 0;
  return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

constexpr Condition kRootWithUnshare{root_with_unshare,
                                     "namespaces need root and unshare(1) (util-linux)"};
constexpr Condition kUserNamespaces{
    user_namespaces_allowed, "needs root and a kernel that lets it create user namespaces"};

// SIGKILLs host process `pid` (not our child: a process inside a namespace
// that unshare started) and waits until it is gone.
void kill_and_wait(const std::string& pid) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(pid), 0));
  BOOST_TEST_REQUIRE(pidfd >= 0, "pidfd_open of " << pid);
  BOOST_TEST_REQUIRE(::kill(std::stoi(pid), SIGKILL) == 0);
  pollfd exited{pidfd, POLLIN, 0};
  const int ready = ::poll(&exited, 1, static_cast<int>(line_timeout().count()));
  ::close(pidfd);
  BOOST_TEST_REQUIRE(ready == 1, "process " << pid << " died in time");
}

struct Holder {
  ChildProcess process;
  std::string host_pid, pid, pid_namespace, mount_namespace;
};

// Starts ct_holder under `unshare <options> --fork --kill-child` (killing
// unshare kills the holder too, so nothing outlives a failed test).
Holder start_holder(const std::vector<std::string>& options, const std::string& name,
                    const std::string& value) {
  std::vector<std::string> args = options;
  for (const char* arg : {"--fork", "--kill-child"}) args.emplace_back(arg);
  for (const std::string& arg : {self_path(), std::string("--child"), std::string("ct_holder"),
                                 name, value})
    args.push_back(arg);
  Holder holder{ChildProcess(kUnshare, args), {}, {}, {}, {}};
  const std::string line = expect_line(holder.process);
  char host[32] = {}, pid[32] = {}, pid_ns[64] = {}, mount_ns[64] = {};
  BOOST_TEST_REQUIRE(std::sscanf(line.c_str(), "ready %31s %31s %63s %63s", host, pid, pid_ns,
                                 mount_ns) == 4,
                     line);
  holder.host_pid = host;
  holder.pid = pid;
  holder.pid_namespace = pid_ns;
  holder.mount_namespace = mount_ns;
  return holder;
}

std::string ask_value(Holder& holder) {
  holder.process.write_line("read");
  return expect_line(holder.process);
}

// Two holders, each in namespaces of its own made by `options`: they share
// the segment; killing one leaves it to the other; killing both leaves it to
// nobody (the next opener starts from an empty segment).
void check_lifetime_across(const std::vector<std::string>& options) {
  const std::string name = unique_name("ns");
  Holder first = start_holder(options, name, "from-first");
  Holder second = start_holder(options, name, "");
  if (options.front() == "--pid") {
    BOOST_TEST((first.pid == "1" && second.pid == "1"), "each holder is PID 1 of its own");
    BOOST_TEST(first.pid_namespace != second.pid_namespace);
    BOOST_TEST(first.pid_namespace != namespace_of("pid"));
  } else {
    BOOST_TEST(first.mount_namespace != second.mount_namespace);
    BOOST_TEST(first.mount_namespace != namespace_of("mnt"));
  }
  BOOST_TEST(ask_value(second) == "value:from-first", "the second holder joined the first's");

  kill_and_wait(first.host_pid);
  BOOST_TEST(ask_value(second) == "value:from-first", "the survivor keeps it");
  sharedmem_segment* joined = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), kCapacity, SHAREDMEM_OPEN_ONLY, &joined) ==
                     SHAREDMEM_OK);
  BOOST_TEST(read_value(joined) == "from-first", "a newcomer on the host joins it");
  sharedmem_close(joined);

  kill_and_wait(second.host_pid);
  sharedmem_segment* after = nullptr;
  BOOST_TEST(sharedmem_open(name.c_str(), kCapacity, SHAREDMEM_OPEN_ONLY, &after) ==
                 SHAREDMEM_E_NOT_FOUND,
             "with both holders killed nobody holds it");
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), kCapacity, 0, &after) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(after) == 1);
  BOOST_TEST(read_value(after).empty(), "the next user starts from zero");
  sharedmem_close(after);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  BOOST_TEST_REQUIRE(!file.fail(), "writing " << path);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(containers)

// Tests two holders that are each PID 1 of a PID namespace of their own (two
// containers sharing the host's /dev/shm, as with --ipc=host): they share a
// segment, and the lifetime holds across them.
BOOST_AUTO_TEST_CASE(pid_namespaces_share_a_segment_and_its_lifetime,
                     only_if(kRootWithUnshare)) {
  check_lifetime_across({"--pid"});
}

// Tests two holders in mount namespaces of their own that still mount the
// host's /dev/shm (a bind of it, as --ipc=host or a shared emptyDir would
// give): the segment and its lifetime are shared.
BOOST_AUTO_TEST_CASE(mount_namespaces_with_the_same_dev_shm_share_a_segment,
                     only_if(kRootWithUnshare)) {
  check_lifetime_across({"--mount"});
}

// Tests that a process with a /dev/shm of its own (a container's default
// private IPC namespace and tmpfs) never meets the host's segment of the
// same name: each side gets its own.
BOOST_AUTO_TEST_CASE(a_private_dev_shm_is_a_world_apart, only_if(kRootWithUnshare)) {
  const std::string name = unique_name("privshm");
  ChildProcess inside = start_role("ct_private_shm_holder", {name, "inside"});
  BOOST_TEST_REQUIRE(expect_line(inside) == "ready created:1");
  sharedmem_segment* host = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), kCapacity, 0, &host) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(host) == 1, "the host's open made its own segment");
  BOOST_TEST(read_value(host).empty());
  sharedmem_close(host);
  inside.close_stdin();
  BOOST_TEST(expect_exit(inside) == 0);
}

// Tests that a segment larger than what /dev/shm can hold (a container's
// small default tmpfs) fails at open with NO_MEMORY and leaves nothing,
// rather than faulting (SIGBUS) on first touch of a page tmpfs cannot back.
BOOST_AUTO_TEST_CASE(a_dev_shm_too_small_gives_no_memory_at_open, only_if(kRootWithUnshare)) {
  ChildProcess child = start_role("ct_small_shm_open", {unique_name("big")});
  BOOST_TEST(expect_line(child) == code_line(SHAREDMEM_E_NO_MEMORY));
  BOOST_TEST(expect_line(child) == "entries:0", "the refused open left nothing in /dev/shm");
  BOOST_TEST(expect_exit(child) == 0);
}

// Tests user namespaces: a process whose namespace maps its uid to this
// (host) user is this user and joins the segment; one whose uid 0 is
// another host user is refused (NOT_OWNER) and changes nothing, though it is
// "root" and its private name is the same.
BOOST_AUTO_TEST_CASE(user_namespaces_same_host_uid_joins_another_is_refused,
                     only_if(kUserNamespaces)) {
  const std::string name = unique_name("userns");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), kCapacity, 0, &segment) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(segment, "host", 4) == SHAREDMEM_OK);

  for (const unsigned host_id : {0u, 65534u}) {
    ChildProcess opener = start_role("ct_userns_opener", {name});
    const std::string unshared = expect_line(opener);
    BOOST_TEST_REQUIRE(unshared.rfind("unshared pid:", 0) == 0u, unshared);
    const std::string proc = "/proc/" + unshared.substr(sizeof "unshared pid:" - 1);
    const std::string map = "0 " + std::to_string(host_id) + " 1\n";
    write_file(proc + "/uid_map", map);
    write_file(proc + "/setgroups", "deny");
    write_file(proc + "/gid_map", map);
    opener.write_line("go");
    BOOST_TEST(expect_line(opener) == "uid:0");
    const std::string result = expect_line(opener);
    if (host_id == 0)
      BOOST_TEST(result == code_line(SHAREDMEM_OK) + " value:host", "the same host user joins");
    else
      BOOST_TEST(result == code_line(SHAREDMEM_E_NOT_OWNER) + " value:",
                 "another host user is refused, even as root of its namespace");
    BOOST_TEST(expect_exit(opener) == 0);
  }
  BOOST_TEST(read_value(segment) == "host", "the refused opener changed nothing");
  BOOST_TEST(sharedmem_version(segment) == 1u);
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
