// SPDX-License-Identifier: MIT
// POSIX robustness: what the library does when processes leave without
// closing, fork, run out of memory in a cgroup, meet squatters or damaged
// shared state, write from signal handlers, or die and leave objects behind.
//
// The tests that damage a live segment's writer mutex do it through their
// own mapping of its object (support/os_object.hpp): the POSIX backend keeps
// the mutex in the last 64 bytes of the object. Damage to the header, the
// same on every OS, is tested in hostile_test.cpp.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "platform/linux/object_linux.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

// glibc's bit in a robust or PI mutex's futex word: its owner died.
constexpr int kFutexOwnerDied = 0x40000000;

constexpr uid_t kOtherUid = 65534;  // nobody
constexpr gid_t kOtherGid = 65534;

// Whether a mapping of a segment's object has the header and room for the
// writer mutex after it.
bool has_header_and_lock(const OsObjectView& view) {
  return view.has_header() && view.size() >= sharedmem::detail::kHeaderBytes + kLockBytes;
}

bool running_as_root() { return ::geteuid() == 0; }

// ---------------------------------------------------------------------------
// Child roles.

// Opens segment args[1] (capacity kChildCapacity), writes args[2], reports
// "written", waits for the parent, and then leaves without closing, the way
// args[0] says:
//   c_return:   C handle; returns from main, so exit() runs
//   c_exit:     C handle; std::exit(0) from inside the role
//   cpp_auto:   a local sharedmem::segment whose destructor std::exit skips
//   cpp_static: a function-local static sharedmem::segment, destroyed by exit
//   cpp_leaked: a static pointer to a sharedmem::segment that is never deleted
SHAREDMEM_CHILD_ROLE(rb_exit_without_close) {
  const std::string& how = args.at(0);
  const std::string& name = args.at(1);
  const std::string& value = args.at(2);
  const std::uint64_t capacity = std::stoull(kChildCapacity);
  if (how == "c_return" || how == "c_exit") {
    sharedmem_segment* segment = nullptr;
    sharedmem_error e = sharedmem_open(name.c_str(), capacity, 0, &segment);
    if (e == SHAREDMEM_OK) e = sharedmem_write(segment, value.data(), value.size());
    report(e == SHAREDMEM_OK ? "written" : code_line(e));
    await_parent();
    if (how == "c_exit") std::exit(0);
    return 0;  // `segment` is never closed
  }
  std::error_code ec;
  if (how == "cpp_auto") {
    sharedmem::segment segment = sharedmem::segment::open(name, capacity, ec);
    if (!ec) segment.write(value.data(), value.size(), ec);
    report(ec ? "error:" + ec.message() : "written");
    await_parent();
    std::exit(0);  // the destructor of `segment` never runs
  }
  if (how == "cpp_static") {
    static sharedmem::segment segment = sharedmem::segment::open(name, capacity, ec);
    if (!ec) segment.write(value.data(), value.size(), ec);
    report(ec ? "error:" + ec.message() : "written");
    await_parent();
    std::exit(0);
  }
  if (how == "cpp_leaked") {
    static sharedmem::segment* segment =
        new sharedmem::segment(sharedmem::segment::open(name, capacity, ec));
    if (!ec) segment->write(value.data(), value.size(), ec);
    report(ec ? "error:" + ec.message() : "written");
    await_parent();
    std::exit(0);
  }
  report("error:unknown mode " + how);
  return 2;
}

// Opens segment args[0] (capacity kChildCapacity) with the C API, writes
// "parent", forks without exec, and leaves the child to carry on:
// - the parent reports "forked:<child pid>" and returns without closing;
// - the child, on the same stdin/stdout, answers "write:<v>" with
//   "code:<error>", "cloexec" with "cloexec:<how many of its descriptors of
//   /dev/shm objects an exec would keep>", and exits without closing on
//   anything else.
// How many of this process's descriptors of objects in /dev/shm lack
// FD_CLOEXEC (an exec would hand them, and the locks on them, to the new
// program).
int shm_descriptors_without_cloexec() {
  int count = 0;
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return -1;
  while (const dirent* entry = ::readdir(directory)) {
    char target[4096] = {};
    const std::string link = std::string("/proc/self/fd/") + entry->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) <= 0) continue;
    if (std::strncmp(target, "/dev/shm/", 9) != 0) continue;
    const int flags = ::fcntl(std::atoi(entry->d_name), F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) ++count;
  }
  ::closedir(directory);
  return count;
}

// The start the fork roles share: reports `prepared` when it is an error,
// else forks and, in the parent, reports "forked:<child pid>". Returns
// fork's result (0 in the child), or -1 once a failure is reported.
pid_t fork_once_prepared(sharedmem_error prepared) {
  if (prepared != SHAREDMEM_OK) {
    report(code_line(prepared));
    return -1;
  }
  const pid_t child = ::fork();
  if (child < 0)
    report("error:fork");
  else if (child > 0)
    report("forked:" + std::to_string(child));
  return child;
}

SHAREDMEM_CHILD_ROLE(rb_fork_user) {
  sharedmem_segment* segment = nullptr;
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), std::stoull(kChildCapacity), 0, &segment);
  if (e == SHAREDMEM_OK) e = sharedmem_write(segment, "parent", 6);
  const pid_t child = fork_once_prepared(e);
  if (child < 0) return 1;
  if (child > 0) return 0;  // the parent leaves without closing
  // The forked child is single-threaded: it may use the library and stdio.
  for (std::string command = await_parent();; command = await_parent()) {
    if (command.rfind("write:", 0) == 0) {
      report(code_line(sharedmem_write(segment, command.data() + 6, command.size() - 6)));
    } else if (command == "cloexec") {
      report("cloexec:" + std::to_string(shm_descriptors_without_cloexec()));
    } else {
      break;
    }
  }
  return 0;  // the child leaves without closing too
}

// Opens raw segment args[0] (4096 bytes) and forks a child that stays, as
// in rb_fork_user, answering "lock" with "lock:<code of a 1 s sharedmem_lock
// and, if taken, its unlock>" until "exit"; the parent reports
// "forked:<child pid>", takes the lock, reports "locked" and waits, holding
// it, to be killed.
SHAREDMEM_CHILD_ROLE(rb_fork_then_lock) {
  sharedmem_segment* segment = nullptr;
  const pid_t child =
      fork_once_prepared(sharedmem_open(args.at(0).c_str(), 4096, SHAREDMEM_RAW, &segment));
  if (child < 0) return 1;
  if (child > 0) {
    report(sharedmem_lock(segment, 0) == SHAREDMEM_OK ? "locked" : "error:lock");
    for (;;) ::pause();  // the forked child alone reads the parent's stdin
  }
  for (std::string command = await_parent(); command == "lock"; command = await_parent()) {
    sharedmem_error locked = sharedmem_lock(segment, 1000);
    if (locked == SHAREDMEM_OK || locked == SHAREDMEM_E_OWNER_DIED) {
      const sharedmem_error unlocked = sharedmem_unlock(segment);
      if (unlocked != SHAREDMEM_OK) locked = unlocked;
    }
    report("lock:" + code_line(locked));
  }
  return 0;
}

// Reports "pid:<pid>", then for each "open:<capacity>" opens segment args[0]
// with that capacity, closes it and reports "code:<error of the open>";
// exits on anything else.
SHAREDMEM_CHILD_ROLE(rb_open_on_command) {
  report("pid:" + std::to_string(::getpid()));
  for (std::string command = await_parent(); command.rfind("open:", 0) == 0;
       command = await_parent()) {
    sharedmem_segment* segment = nullptr;
    const sharedmem_error e =
        sharedmem_open(args.at(0).c_str(), std::stoull(command.substr(5)), 0, &segment);
    sharedmem_close(segment);  // before the report, so that the parent sees it gone
    report(code_line(e));
  }
  return 0;
}

// Opens segment args[0] with capacity args[1], writes "x" and reports
// "code:<error of the write>" (or of the open).
SHAREDMEM_CHILD_ROLE(rb_write_code) {
  sharedmem_segment* segment = nullptr;
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), std::stoull(args.at(1)), 0, &segment);
  if (e == SHAREDMEM_OK) e = sharedmem_write(segment, "x", 1);
  report(code_line(e));
  sharedmem_close(segment);
  return 0;
}

// What a SIGALRM handler's sharedmem_write returned, counted.
sharedmem_segment* g_signal_segment = nullptr;
std::atomic<long> g_handled{0};
std::atomic<long> g_would_deadlock{0};
std::atomic<long> g_handler_ok{0};
std::atomic<long> g_handler_other{0};
std::atomic<int> g_last_handler_error{0};
static_assert(std::atomic<long>::is_always_lock_free);

void write_from_signal_handler(int) {
  const int saved_errno = errno;
  const sharedmem_error e = sharedmem_write(g_signal_segment, "h", 1);
  if (e == SHAREDMEM_E_WOULD_DEADLOCK) {
    ++g_would_deadlock;
  } else if (e == SHAREDMEM_OK) {
    ++g_handler_ok;
  } else {
    ++g_handler_other;
    g_last_handler_error = static_cast<int>(e);
  }
  ++g_handled;
  errno = saved_errno;
}

bool install_write_handler() {
  struct sigaction action {};
  action.sa_handler = write_from_signal_handler;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(SIGALRM, &action, nullptr) == 0;
}

// Opens segment args[0] with capacity args[1] and installs a SIGALRM handler
// that writes "h" to it. Reports "pid:<pid>", waits for "go", writes a
// value of the full capacity once (so that a fault point can stop it inside
// the write) and reports "main:<error> handler:<error of the last handler
// write or none>".
SHAREDMEM_CHILD_ROLE(rb_signal_once) {
  const std::uint64_t capacity = std::stoull(args.at(1));
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), capacity, 0, &g_signal_segment);
  if (e != SHAREDMEM_OK || !install_write_handler()) {
    report("error:" + code_line(e));
    return 1;
  }
  report("pid:" + std::to_string(::getpid()));
  if (await_parent() != "go") return 2;
  const std::string value(static_cast<std::size_t>(capacity), 'm');
  e = sharedmem_write(g_signal_segment, value.data(), value.size());
  std::string handler = "none";
  if (g_would_deadlock.load() > 0) handler = code_line(SHAREDMEM_E_WOULD_DEADLOCK);
  if (g_handler_ok.load() > 0) handler = code_line(SHAREDMEM_OK);
  if (g_handler_other.load() > 0) handler = code_line(static_cast<sharedmem_error>(g_last_handler_error.load()));
  report("main:" + code_line(e) + " handler:" + handler);
  sharedmem_close(g_signal_segment);
  return 0;
}

// Opens segment args[0] with capacity args[1] and writes in a loop (values
// of the full capacity and of one byte) while an interval timer (100 us)
// raises SIGALRM, whose handler writes to the same segment, until args[2]
// signals were handled. Then reports "handled:<n> would_deadlock:<n> ok:<n>
// other:<n> writes:<n> write_errors:<n> intact:<0|1>" (intact: the final
// value is one of those written) and exits.
SHAREDMEM_CHILD_ROLE(rb_signal_storm) {
  const std::uint64_t capacity = std::stoull(args.at(1));
  const long signals = std::stol(args.at(2));
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), capacity, 0, &g_signal_segment);
  if (e != SHAREDMEM_OK || !install_write_handler()) {
    report("error:" + code_line(e));
    return 1;
  }
  const std::string value(static_cast<std::size_t>(capacity), 'm');
  const std::string small = "m";
  itimerval timer{};
  timer.it_interval.tv_usec = 100;
  timer.it_value.tv_usec = 100;
  if (::setitimer(ITIMER_REAL, &timer, nullptr) != 0) {
    report("error:setitimer");
    return 1;
  }
  long writes = 0;
  long write_errors = 0;
  // One large write (signals land inside the lock), then small ones for a
  // while (signals land in and around the lock's own code), over and over.
  const auto write = [&](const std::string& bytes) {
    if (sharedmem_write(g_signal_segment, bytes.data(), bytes.size()) != SHAREDMEM_OK)
      ++write_errors;
    ++writes;
  };
  while (g_handled.load() < signals) {
    write(value);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < until)
      for (int i = 0; i < 64; ++i) write(small);
  }
  const itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::signal(SIGALRM, SIG_IGN);
  std::string final_value(static_cast<std::size_t>(capacity), '\0');
  std::uint64_t size = 0;
  e = sharedmem_read(g_signal_segment, final_value.data(), final_value.size(), &size);
  final_value.resize(e == SHAREDMEM_OK ? static_cast<std::size_t>(size) : 0);
  const bool intact =
      e == SHAREDMEM_OK && (final_value == "h" || final_value == small || final_value == value);
  report("handled:" + std::to_string(g_handled.load()) +
         " would_deadlock:" + std::to_string(g_would_deadlock.load()) +
         " ok:" + std::to_string(g_handler_ok.load()) +
         " other:" + std::to_string(g_handler_other.load()) + " writes:" + std::to_string(writes) +
         " write_errors:" + std::to_string(write_errors) + " intact:" + (intact ? "1" : "0"));
  sharedmem_close(g_signal_segment);
  return 0;
}

// The first-write storm's timer and its SIGALRM handler. While
// g_first_write_begun, each signal's handler writes as
// write_from_signal_handler does; after kBurstSignals of them it stops the
// timer: signals every few microseconds leave the interrupted thread little
// or no time to run between them, so a burst lands where it began and then
// lets the thread go on.
constexpr long kBurstSignals = 400;
timer_t g_burst_timer{};
std::atomic<long> g_burst_seen{0};
std::atomic<bool> g_first_write_begun{false};
void write_in_a_burst(int signal) {
  if (!g_first_write_begun.load()) return;
  write_from_signal_handler(signal);
  if (++g_burst_seen >= kBurstSignals) {
    const itimerspec off{};
    ::timer_settime(g_burst_timer, 0, &off, nullptr);
  }
}

// Opens segment args[0] (capacity 4096) without writing, installs the
// SIGALRM handler write_in_a_burst, then forks args[1] children one after
// another. Each child is a process whose first sharedmem_write is still to
// come: it arms a timer that fires first 200 ns + 10 ns x (its index modulo
// 400) later, then every 5 us, and writes at once, so that the burst of
// handler writes lands at another point of that first write in each child.
// The child exits 0 when its write and every handler write returned OK or
// WOULD_DEADLOCK. Reports "children:<n> clean:<n> failed:<n> last:<status>
// interrupted:<n>" (a child that aborted counts as failed, with 128 + its
// signal; interrupted: the children whose write a handler found holding the
// lock).
SHAREDMEM_CHILD_ROLE(rb_signal_first_writes) {
  sharedmem_error e = sharedmem_open(args.at(0).c_str(), 4096, 0, &g_signal_segment);
  struct sigaction action {};
  action.sa_handler = write_in_a_burst;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (e != SHAREDMEM_OK || ::sigaction(SIGALRM, &action, nullptr) != 0) {
    report("error:" + code_line(e));
    return 1;
  }
  const long children = std::stol(args.at(1));
  long clean = 0;
  long failed = 0;
  long interrupted = 0;
  int last = 0;
  for (long i = 0; i < children; ++i) {
    const pid_t child = ::fork();
    if (child < 0) {
      report("error:fork");
      return 1;
    }
    if (child == 0) {
      sigevent event{};
      event.sigev_notify = SIGEV_SIGNAL;
      event.sigev_signo = SIGALRM;
      itimerspec timer{};
      timer.it_value.tv_nsec = 200 + 10 * (i % 400);
      timer.it_interval.tv_nsec = 5'000;
      if (::timer_create(CLOCK_MONOTONIC, &event, &g_burst_timer) != 0) ::_exit(3);
      g_first_write_begun = true;
      if (::timer_settime(g_burst_timer, 0, &timer, nullptr) != 0) ::_exit(3);
      const sharedmem_error first = sharedmem_write(g_signal_segment, "f", 1);
      const itimerspec off{};
      ::timer_settime(g_burst_timer, 0, &off, nullptr);
      if (first != SHAREDMEM_OK || g_handler_other.load() != 0) ::_exit(4);
      ::_exit(g_would_deadlock.load() > 0 ? 10 : 0);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    last = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (last == 10) {
      ++interrupted;
      last = 0;
    }
    if (last == 0)
      ++clean;
    else
      ++failed;
  }
  report("children:" + std::to_string(children) + " clean:" + std::to_string(clean) +
         " failed:" + std::to_string(failed) + " last:" + std::to_string(last) +
         " interrupted:" + std::to_string(interrupted));
  sharedmem_close(g_signal_segment);
  return 0;
}

// Keeps one CPU busy until killed: load beside a test that must hold on a
// loaded machine.
SHAREDMEM_CHILD_ROLE(rb_cpu_hog) {
  report("hogging");
  for (volatile std::uint64_t spins = 0;; spins = spins + 1) {
  }
}

// Opens segment args[0] (capacity 64), reports "open", then answers
// "check" with "check:<code of sharedmem_check>" and "wait" with
// "wait:<code of a 100 ms sharedmem_wait on the current version>", until
// anything else.
SHAREDMEM_CHILD_ROLE(rb_name_holder) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(args.at(0).c_str(), 64, 0, &segment);
  if (e != SHAREDMEM_OK) {
    report("error:" + code_line(e));
    return 1;
  }
  report("open");
  for (std::string command = await_parent();; command = await_parent()) {
    if (command == "check") {
      report("check:" + code_line(sharedmem_check(segment)));
    } else if (command == "wait") {
      std::uint64_t version = 0;
      report("wait:" + code_line(sharedmem_wait(segment, sharedmem_version(segment), 100,
                                                 &version)));
    } else {
      break;
    }
  }
  sharedmem_close(segment);
  return 0;
}

// Mounts a private 1 MiB tmpfs on /dev/shm in a mount namespace of its own
// (root only: reports "skip:<reason>" otherwise). Then: creates a small
// segment (its open uses up this process's once-a-second sweep), forks a
// child that creates segment args[0] of 400 KiB (two slots: about 800 KiB)
// and dies by SIGKILL, and creates segment args[1] of 300 KiB (about 600
// KiB), which only fits once the dead object is gone. Reports
// "created:<code> dead_left:<0|1>".
SHAREDMEM_CHILD_ROLE(rb_full_private_shm) {
  if (::unshare(CLONE_NEWNS) != 0) {
    report(std::string("skip:unshare: ") + std::strerror(errno));
    return 0;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") != 0) {
    report(std::string("skip:mount: ") + std::strerror(errno));
    return 0;
  }
  sharedmem_segment* warm = nullptr;
  sharedmem_error e = sharedmem_open((args.at(0) + ".warm").c_str(), 16, 0, &warm);
  if (e != SHAREDMEM_OK) {
    report("error:warm " + code_line(e));
    return 1;
  }
  const pid_t child = ::fork();
  if (child == 0) {
    sharedmem_segment* doomed = nullptr;
    if (sharedmem_open(args.at(0).c_str(), 400u << 10, 0, &doomed) != SHAREDMEM_OK) ::_exit(3);
    ::raise(SIGKILL);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFSIGNALED(status) || !os_object_exists(args.at(0))) {
    report("error:the doomed child did not leave a dead object");
    return 1;
  }
  sharedmem_segment* big = nullptr;
  e = sharedmem_open(args.at(1).c_str(), 300u << 10, 0, &big);
  report("created:" + code_line(e) +
         " dead_left:" + (os_object_exists(args.at(0)) ? "1" : "0"));
  sharedmem_close(big);
  sharedmem_close(warm);
  return 0;
}

// Lowers its descriptor limit to args[2] (plus what it inherited beyond
// stdin, stdout and stderr), opens args[1] segments named
// args[0].<i> (capacity 64), and forks. The child reports "child:ready" and
// holds them until the parent of the test says "done" (or closes stdin),
// then closes them and reports "child:closed". The parent exits at once
// after the fork (a normal exit: its exit detach runs), exit code 0, or
// reports "error:<...>" and exits 1.
SHAREDMEM_CHILD_ROLE(rb_fork_at_descriptor_limit) {
  const int count = std::stoi(args.at(1));
  // Descriptors this process inherited beyond stdin, stdout and stderr (a
  // test runner's) raise the limit by as many, so that the segments meet it
  // as in a process that has only those three.
  int inherited = 0;
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(fds))
      if (entry->d_name[0] != '.') ++inherited;
    ::closedir(fds);
    inherited -= 4;  // 0, 1, 2 and the directory's own
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::stoul(args.at(2)) + static_cast<rlim_t>(inherited > 0 ? inherited : 0);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    report("error:setrlimit");
    return 1;
  }
  std::vector<sharedmem_segment*> segments;
  for (int i = 0; i < count; ++i) {
    sharedmem_segment* segment = nullptr;
    const std::string name = args.at(0) + "." + std::to_string(i);
    const sharedmem_error e = sharedmem_open(name.c_str(), 64, 0, &segment);
    if (e != SHAREDMEM_OK) {
      report("error:open " + name + " " + code_line(e));
      return 1;
    }
    segments.push_back(segment);
  }
  const pid_t child = ::fork();
  if (child < 0) {
    report("error:fork");
    return 1;
  }
  if (child == 0) {
    // A segment whose description the child still shares with the parent
    // has no owner slot of its own to write with: SYSTEM, with EMFILE.
    int written = 0, refused = 0, other = 0;
    for (sharedmem_segment* segment : segments) {
      const sharedmem_error e = sharedmem_write(segment, "child", 5);
      const bool says_why = e == SHAREDMEM_E_SYSTEM && sharedmem_last_system_error() == EMFILE;
      (e == SHAREDMEM_OK ? written : says_why ? refused : other) += 1;
    }
    report("child:ready written:" + std::to_string(written) + " refused:" +
           std::to_string(refused) + " other:" + std::to_string(other));
    (void)await_parent();
    for (sharedmem_segment* segment : segments) sharedmem_close(segment);
    report("child:closed");
    std::fflush(stdout);
    ::_exit(0);
  }
  std::exit(0);
}

// Switches to user 65534 when run as root (so that the user's own files can
// refuse it), then opens segment args[0] (capacity 64, flags args[1]) and
// reports "code:<error>".
SHAREDMEM_CHILD_ROLE(rb_open_code_as_user) {
  if (::geteuid() == 0 && (::setresgid(kOtherGid, kOtherGid, kOtherGid) != 0 ||
                           ::setresuid(kOtherUid, kOtherUid, kOtherUid) != 0)) {
    report("error:setresuid");
    return 1;
  }
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e =
      sharedmem_open(args.at(0).c_str(), 64, static_cast<std::uint32_t>(std::stoul(args.at(1))),
                     &segment);
  report(code_line(e));
  sharedmem_close(segment);
  return 0;
}

// ---------------------------------------------------------------------------
// Helpers for the tests.

// A process that is not our child (a grandchild), watched through a pidfd;
// killed on destruction if it still runs.
class Grandchild {
 public:
  explicit Grandchild(pid_t pid) : pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
  ~Grandchild() {
    if (pidfd_ < 0) return;
    if (!exited(std::chrono::milliseconds(0)))
      ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    ::close(pidfd_);
  }
  Grandchild(const Grandchild&) = delete;
  Grandchild& operator=(const Grandchild&) = delete;

  bool valid() const { return pidfd_ >= 0; }
  // Whether it exited within `timeout`.
  bool exited(std::chrono::milliseconds timeout) const {
    pollfd fd{pidfd_, POLLIN, 0};
    int ready;
    while ((ready = ::poll(&fd, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    return ready > 0;
  }

 private:
  int pidfd_;
};

// While a thread opens and closes segment args[0] in a loop (each open and
// close registers and unregisters its writer lock in the process's
// registry) and two threads write segment args[0].hot through two handles
// (a contended locker looks at that registry), forks args[1] children, each of which opens and closes a
// segment of its own and exits. Reports "children:<n> hung:<m>" (it stops at
// the first child that had not exited within a line timeout, killed: as a
// child does that inherits a registry taken by a thread it does not have).
SHAREDMEM_CHILD_ROLE(rb_fork_while_closing) {
  std::atomic<bool> stop{false};
  std::thread churner([&] {
    while (!stop.load()) {
      sharedmem_segment* segment = nullptr;
      if (sharedmem_open(args.at(0).c_str(), 64, 0, &segment) == SHAREDMEM_OK)
        sharedmem_close(segment);
    }
  });
  // Two writers through two handles of one segment: a contended locker
  // looks at the registry while it spins.
  sharedmem_segment* hot[2] = {nullptr, nullptr};
  for (sharedmem_segment*& handle : hot)
    if (sharedmem_open((args.at(0) + ".hot").c_str(), 64, 0, &handle) != SHAREDMEM_OK) return 1;
  std::vector<std::thread> writers;
  for (sharedmem_segment* handle : hot)
    writers.emplace_back([&stop, handle] {
      while (!stop.load()) (void)sharedmem_write(handle, "contended", 9);
    });
  const int children = std::stoi(args.at(1));
  int hung = 0;
  for (int i = 0; i < children; ++i) {
    const std::string own = args.at(0) + ".child" + std::to_string(i);
    const pid_t child = ::fork();
    if (child == 0) {
      sharedmem_segment* segment = nullptr;
      if (sharedmem_open(own.c_str(), 64, 0, &segment) == SHAREDMEM_OK) sharedmem_close(segment);
      ::_exit(0);
    }
    if (child < 0) break;
    {
      Grandchild watched(child);
      if (!watched.exited(line_timeout())) ++hung;  // killed by ~Grandchild
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (hung > 0) break;  // one is proof enough
  }
  stop.store(true);
  churner.join();
  for (std::thread& writer : writers) writer.join();
  for (sharedmem_segment* handle : hot) sharedmem_close(handle);
  report("children:" + std::to_string(children) + " hung:" + std::to_string(hung));
  return 0;
}

bool write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  return n == static_cast<ssize_t>(text.size());
}

int pin_object(const std::string& name);

// Makes `count` dead objects, named unique_name(tag) into `names`: segments
// of `capacity` whose only holder was SIGKILLed. Each is pinned (pin_object)
// so that no sweep by another process (another test run) removes it before
// the test looks; closing the returned descriptors unpins them.
std::vector<int> pinned_dead_objects(const std::string& tag, int count,
                                     const std::string& capacity,
                                     std::vector<std::string>& names) {
  std::vector<ChildProcess> doomed;
  for (int i = 0; i < count; ++i) {
    names.push_back(unique_name(tag));
    doomed.push_back(start_role("segment_hold", {names.back(), capacity, "doomed"}));
    BOOST_TEST_REQUIRE(expect_line(doomed.back()) == "open");
  }
  std::vector<int> pins;
  for (const std::string& name : names) {
    pins.push_back(pin_object(name));
    BOOST_TEST_REQUIRE(pins.back() >= 0, "pinning " << name);
  }
  for (ChildProcess& child : doomed) child.kill();
  return pins;
}

// Creates `path` (which must not exist), mode 0600, holding `text`.
bool create_file(const std::string& path, const std::string& text) {
  return plant_whole_file(path, text, 0600);
}

// Whether a child process may mount a tmpfs of its own on /dev/shm in a
// private mount namespace.
bool private_tmpfs_mountable() {
  const pid_t child = ::fork();
  if (child == 0) {
    const bool mounted =
        ::unshare(CLONE_NEWNS) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") == 0;
    ::_exit(mounted ? 0 : 1);
  }
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
constexpr Condition kPrivateTmpfs{private_tmpfs_mountable,
                                  "needs a private mount namespace with its own /dev/shm (root)"};
constexpr Condition kRootToPlant{running_as_root, "planting another user's files needs root"};

// A child memory cgroup of this process's own, limited to `limit` bytes;
// removed on destruction (its processes must have exited by then).
class MemoryCgroup {
 public:
  explicit MemoryCgroup(std::uint64_t limit) {
    std::FILE* file = std::fopen("/proc/self/cgroup", "r");
    if (!file) return;
    std::string v1_parent, v2_parent;
    char line[4096];
    while (std::fgets(line, sizeof line, file)) {
      std::string text = line;
      if (!text.empty() && text.back() == '\n') text.pop_back();
      const auto first = text.find(':');
      const auto second = first == std::string::npos ? first : text.find(':', first + 1);
      if (second == std::string::npos) continue;
      const std::string id = text.substr(0, first);
      const std::string controllers = "," + text.substr(first + 1, second - first - 1) + ",";
      const std::string path = text.substr(second + 1);
      if (controllers.find(",memory,") != std::string::npos)
        v1_parent = "/sys/fs/cgroup/memory" + path;
      else if (id == "0" && controllers == ",,")
        v2_parent = "/sys/fs/cgroup" + path;
    }
    std::fclose(file);
    static std::atomic<unsigned> counter{0};
    const std::string leaf =
        "/sharedmem_robustness_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    if (!v1_parent.empty()) {
      make(v1_parent + leaf, "memory.limit_in_bytes", limit);
    } else if (!v2_parent.empty() && ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
      make(v2_parent + leaf, "memory.max", limit);
    }
  }
  ~MemoryCgroup() {
    if (!directory_.empty()) ::rmdir(directory_.c_str());
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return limited_; }
  const std::string& directory() const { return directory_; }
  bool add(const std::string& pid) { return write_file(directory_ + "/cgroup.procs", pid); }

 private:
  void make(const std::string& directory, const char* limit_file, std::uint64_t limit) {
    if (::mkdir(directory.c_str(), 0755) != 0) return;
    directory_ = directory;
    limited_ = write_file(directory + "/" + limit_file, std::to_string(limit));
  }

  std::string directory_;
  bool limited_ = false;
};

// Whether this process may make a limited memory cgroup and move a process
// into it: a forked child moves itself into a probe cgroup.
bool memory_cgroups_usable() {
  MemoryCgroup probe(1ull << 30);
  if (!probe.ok()) return false;
  const pid_t child = ::fork();
  if (child == 0) {
    const std::string procs = probe.directory() + "/cgroup.procs";
    std::FILE* file = std::fopen(procs.c_str(), "w");
    const bool moved = file && std::fprintf(file, "%d", static_cast<int>(::getpid())) > 0 &&
                       std::fclose(file) == 0;
    ::_exit(moved ? 0 : 1);
  }
  int status = 0;
  return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}
constexpr Condition kMemoryCgroups{
    memory_cgroups_usable, "cannot make a limited memory cgroup and move a process into it"};

// What stands at a path, as lstat sees it, for "left untouched" checks.
struct Identity {
  bool exists = false;
  mode_t type = 0;
  ino_t inode = 0;
  uid_t uid = 0;
  std::string link_target;
  bool operator==(const Identity& other) const {
    return exists == other.exists && type == other.type && inode == other.inode &&
           uid == other.uid && link_target == other.link_target;
  }
};

Identity identity_of(const std::string& path) {
  Identity identity;
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return identity;
  identity.exists = true;
  identity.type = status.st_mode & S_IFMT;
  identity.inode = status.st_ino;
  identity.uid = status.st_uid;
  if (S_ISLNK(status.st_mode)) {
    char target[4096];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n > 0) identity.link_target.assign(target, static_cast<std::size_t>(n));
  }
  return identity;
}

std::ostream& operator<<(std::ostream& out, const Identity& identity) {
  return out << "{exists " << identity.exists << " type " << std::oct << identity.type << std::dec
             << " inode " << identity.inode << " uid " << identity.uid << " link '"
             << identity.link_target << "'}";
}

enum class SquatKind { directory, symlink, fifo, socket };

const char* squat_kind_name(SquatKind kind) {
  switch (kind) {
    case SquatKind::directory: return "directory";
    case SquatKind::symlink: return "symlink";
    case SquatKind::fifo: return "fifo";
    case SquatKind::socket: return "socket";
  }
  return "?";
}

// Plants a `kind` at `path`, mode 0600 where it has one, owned by `uid`.
bool plant_squat(const std::string& path, SquatKind kind, const std::string& link_target,
                 uid_t uid, gid_t gid) {
  switch (kind) {
    case SquatKind::directory:
      if (::mkdir(path.c_str(), 0700) != 0) return false;
      break;
    case SquatKind::symlink:
      if (::symlink(link_target.c_str(), path.c_str()) != 0) return false;
      return ::lchown(path.c_str(), uid, gid) == 0;
    case SquatKind::fifo:
      if (::mkfifo(path.c_str(), 0600) != 0) return false;
      break;
    case SquatKind::socket: {
      const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return false;
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      if (path.size() >= sizeof address.sun_path) {
        ::close(fd);
        return false;
      }
      std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
      const bool bound =
          ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
      ::close(fd);  // the socket file stays
      if (!bound) return false;
      break;
    }
  }
  return ::chmod(path.c_str(), kind == SquatKind::directory ? 0700 : 0600) == 0 &&
         ::chown(path.c_str(), uid, gid) == 0;
}

void remove_squat(const std::string& path, SquatKind kind) {
  if (kind == SquatKind::directory)
    ::rmdir(path.c_str());
  else
    ::unlink(path.c_str());
}

sharedmem_error try_open(const std::string& name, std::uint64_t capacity) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, 0, &segment);
  sharedmem_close(segment);
  return e;
}

// Takes a shared OFD lock on the user byte of segment `name`'s object, the
// lock each user of a segment holds (platform/linux/object_linux.hpp), so that no
// sweep by another process can remove the object meanwhile. -1 on failure.
int pin_object(const std::string& name) {
  const int fd = ::open(os_object_path(name).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = sharedmem::platform::posix::kUserByte;
  lock.l_len = 1;
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(robustness)

// Tests that a process that exits normally without closing its segment (C
// handle, a C++ handle whose destructor std::exit skips, a static one, a
// leaked one) still gives up its share: the object is gone and the next
// reader starts empty.
BOOST_AUTO_TEST_CASE(normal_exit_without_close_leaves_nothing) {
  for (const std::string how : {"c_return", "c_exit", "cpp_auto", "cpp_static", "cpp_leaked"}) {
    BOOST_TEST_CONTEXT("mode " << how) {
      const std::string name = unique_name("exit_" + how);
      ChildProcess child = start_role("rb_exit_without_close", {how, name, "left " + how});
      BOOST_TEST_REQUIRE(expect_line(child) == "written");
      BOOST_TEST(read_in_child(name) == "value:left " + how, "the segment lives while it runs");
      child.write_line("go");
      BOOST_TEST(expect_exit(child) == 0);
      BOOST_TEST(!os_object_exists(name), "the exiting process removed the object");
      BOOST_TEST(read_in_child(name) == "value:");
      BOOST_TEST(!os_object_exists(name));
    }
  }
}

// Tests that a child forked without exec is a user of its own: the segment
// outlives the parent's exit (without closing) while the child holds it, the
// child's writes reach others, and the child's exit (without closing) frees it.
BOOST_AUTO_TEST_CASE(forked_child_is_a_user_of_its_own) {
  const std::string name = unique_name("forkuser");
  ChildProcess parent = start_role("rb_fork_user", {name});
  const std::string forked = expect_line(parent);
  BOOST_TEST_REQUIRE(forked.rfind("forked:", 0) == 0u, forked);
  Grandchild child(static_cast<pid_t>(std::stol(forked.substr(7))));
  BOOST_TEST_REQUIRE(child.valid(), "pidfd_open of the forked child");
  BOOST_TEST(expect_exit(parent) == 0);

  BOOST_TEST(os_object_exists(name), "the forked child keeps the object");
  BOOST_TEST(read_in_child(name) == "value:parent");
  parent.write_line("write:child");  // the forked child shares the parent's stdin
  BOOST_TEST(expect_line(parent) == code_line(SHAREDMEM_OK));
  BOOST_TEST(read_in_child(name) == "value:child");
  parent.write_line("cloexec");  // its own descriptions must not pass through an exec
  BOOST_TEST(expect_line(parent) == "cloexec:0");

  parent.write_line("exit");
  BOOST_TEST_REQUIRE(child.exited(line_timeout()), "the forked child exited");
  BOOST_TEST(!os_object_exists(name), "the forked child's exit removed the object");
  BOOST_TEST(read_in_child(name) == "value:");
}

// Tests that a process killed while it holds the writer lock hands the lock
// over (OWNER_DIED) while a child it forked without exec lives on: the
// child's inherited mapping must not keep the dead parent's open file
// description, and with it the parent's owner-slot token and share, alive.
// The child, a user of its own, can take the lock after that; the segment
// counts two holders, the child and this process.
BOOST_AUTO_TEST_CASE(a_killed_holder_hands_the_lock_over_while_its_forked_child_lives) {
  const std::string name = unique_name("forkdeath");
  ChildProcess parent = start_role("rb_fork_then_lock", {name});
  const std::string forked = expect_line(parent);
  BOOST_TEST_REQUIRE(forked.rfind("forked:", 0) == 0u, forked);
  Grandchild child(static_cast<pid_t>(std::stol(forked.substr(7))));
  BOOST_TEST_REQUIRE(child.valid(), "pidfd_open of the forked child");
  BOOST_TEST_REQUIRE(expect_line(parent) == "locked");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 4096, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY,
                                    &segment) == SHAREDMEM_OK);
  parent.kill();
  const auto waiting = static_cast<std::uint32_t>(line_timeout().count());
  BOOST_TEST(sharedmem_lock(segment, waiting) == SHAREDMEM_E_OWNER_DIED,
             "the killed parent's lock was handed over");
  BOOST_TEST(sharedmem_unlock(segment) == SHAREDMEM_OK);
  sharedmem_info info{};
  info.struct_size = sizeof info;
  BOOST_TEST(sharedmem_inspect(name.c_str(), 0, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.holders == 2u, "the forked child and this process");
  parent.write_line("lock");  // the forked child shares the parent's stdin
  BOOST_TEST(expect_line(parent) == "lock:" + code_line(SHAREDMEM_OK));
  parent.write_line("exit");
  BOOST_TEST(child.exited(line_timeout()), "the forked child exited");
  sharedmem_close(segment);
}

// Tests that a fork while another thread opens and closes segments hands the
// child a usable library: no child hangs in its own open or close. (Not
// under AddressSanitizer: GCC 12's runtime does not hold its allocator's
// lock across fork, so a child can hang in its own malloc.)
BOOST_AUTO_TEST_CASE(fork_while_another_thread_opens_and_closes,
                     only_if(kWithoutAddressSanitizer)) {
  ChildProcess forker = start_role("rb_fork_while_closing", {unique_name("forkchurn"), "300"});
  const std::optional<std::string> line = forker.read_line(10 * line_timeout());
  BOOST_TEST(line.value_or("<no line in time>") == "children:300 hung:0");
  BOOST_TEST(expect_exit(forker) == 0);
}

// Tests that in a memory cgroup too small for a segment, opening it fails
// with NO_MEMORY and creates nothing, instead of the process being OOM-killed
// (while a segment that fits still opens).
BOOST_AUTO_TEST_CASE(cgroup_limit_gives_no_memory_not_oom, only_if(kMemoryCgroups)) {
  const std::uint64_t limit = 128ull << 20;
  MemoryCgroup cgroup(limit);  // declared first: removed after the child is gone
  BOOST_TEST_REQUIRE(cgroup.ok(), "made " << cgroup.directory());
  const std::string name = unique_name("cgroup");
  ChildProcess child = start_role("rb_open_on_command", {name});
  const std::string pid = expect_line(child);
  BOOST_TEST_REQUIRE(pid.rfind("pid:", 0) == 0u, pid);
  BOOST_TEST_REQUIRE(cgroup.add(pid.substr(4)), "moved the child into " << cgroup.directory());
  child.write_line("open:" + std::to_string(16ull << 20));  // 32 MiB of object: fits
  BOOST_TEST(expect_line(child) == code_line(SHAREDMEM_OK));
  BOOST_TEST(!os_object_exists(name));
  child.write_line("open:" + std::to_string(100ull << 20));  // 200 MiB of object: does not
  const std::optional<std::string> large = child.read_line(line_timeout());
  BOOST_TEST(large.value_or("<no line: killed?>") == code_line(SHAREDMEM_E_NO_MEMORY));
  BOOST_TEST(!os_object_exists(name), "a failed open created nothing");
  child.write_line("exit");
  BOOST_TEST(expect_exit(child) == 0, "the child exited normally (137: OOM-killed)");
  if (os_object_exists(name)) ::shm_unlink(os_object_name(name).c_str());  // only after a failure
}

// Tests that a directory, a symlink, a FIFO or a socket under a segment's
// object name is refused, INCOMPATIBLE when it is ours and NOT_OWNER when it
// is another user's, and left exactly as it was.
BOOST_AUTO_TEST_CASE(squats_give_not_owner_or_incompatible) {
  char target[] = "/tmp/sharedmem_robustness_targetXXXXXX";
  const int target_fd = ::mkstemp(target);
  BOOST_TEST_REQUIRE(target_fd >= 0);
  BOOST_TEST_REQUIRE(::write(target_fd, "target", 6) == 6);
  ::close(target_fd);

  struct Owner {
    uid_t uid;
    gid_t gid;
    sharedmem_error expected;
  };
  std::vector<Owner> owners{{::geteuid(), ::getegid(), SHAREDMEM_E_INCOMPATIBLE}};
  if (running_as_root()) owners.push_back({kOtherUid, kOtherGid, SHAREDMEM_E_NOT_OWNER});
  for (const Owner& owner : owners) {
    for (SquatKind kind :
         {SquatKind::directory, SquatKind::symlink, SquatKind::fifo, SquatKind::socket}) {
      BOOST_TEST_CONTEXT(squat_kind_name(kind) << " of uid " << owner.uid) {
        const std::string name = unique_name("squat");
        const std::string path = os_object_path(name);
        BOOST_TEST_REQUIRE(plant_squat(path, kind, target, owner.uid, owner.gid),
                           "planting: " << std::strerror(errno));
        const Identity before = identity_of(path);
        BOOST_TEST(try_open(name, 64) == owner.expected);
        BOOST_TEST(try_open(name, 1 << 20) == owner.expected);
        BOOST_TEST(identity_of(path) == before, "the squat is untouched");
        remove_squat(path, kind);
      }
    }
  }
  char content[16] = {};
  const int fd = ::open(target, O_RDONLY | O_CLOEXEC);
  BOOST_TEST(::read(fd, content, sizeof content) == 6);
  ::close(fd);
  BOOST_TEST(std::string(content) == "target", "the symlinks' target is untouched");
  ::unlink(target);
}

// Tests that a writer lock area overwritten with what a glibc mutex library
// would leave there (a non-robust priority-inheritance mutex whose owner
// died) or with random bytes makes a write fail (CORRUPTED for the former)
// or succeed, never crash the writer, and never wait longer than the
// library's bounded lock wait.
BOOST_AUTO_TEST_CASE(corrupt_writer_lock_gives_an_error_not_an_abort) {
  struct Case {
    std::string what;
    std::vector<unsigned char> bytes;  // kLockBytes
    std::optional<sharedmem_error> expected;
  };
  std::vector<Case> cases;

  alignas(64) unsigned char pi_mutex[kLockBytes] = {};
  {
    pthread_mutexattr_t attributes;
    BOOST_TEST_REQUIRE(::pthread_mutexattr_init(&attributes) == 0);
    BOOST_TEST_REQUIRE(::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED) == 0);
    BOOST_TEST_REQUIRE(::pthread_mutexattr_setprotocol(&attributes, PTHREAD_PRIO_INHERIT) == 0);
    auto* mutex = reinterpret_cast<pthread_mutex_t*>(pi_mutex);
    BOOST_TEST_REQUIRE(::pthread_mutex_init(mutex, &attributes) == 0);
    ::pthread_mutexattr_destroy(&attributes);
#if defined(__GLIBC__)
    mutex->__data.__lock |= kFutexOwnerDied;
#endif
  }
  cases.push_back({"non-robust PI mutex, owner died",
                   std::vector<unsigned char>(pi_mutex, pi_mutex + kLockBytes),
                   SHAREDMEM_E_CORRUPTED});
  for (unsigned seed = 1; seed <= 5; ++seed) {
    std::mt19937 random(seed);
    std::vector<unsigned char> bytes(kLockBytes);
    for (auto& byte : bytes) byte = static_cast<unsigned char>(random() & 0xff);
    cases.push_back({"random bytes, seed " + std::to_string(seed), bytes, std::nullopt});
  }

  std::vector<sharedmem::segment> segments;
  // One segment per case, so that the writers (each waiting at most the
  // library's 10 s for a lock that looks held) run side by side.
  std::vector<ChildProcess> writers;
  for (const Case& c : cases) {
    const std::string name = unique_name("badlock");
    segments.push_back(sharedmem::segment::open(name, 512));
    segments.back().write("before");
    OsObjectView view(name);
    BOOST_TEST_REQUIRE(has_header_and_lock(view));
    std::memcpy(writer_lock(view), c.bytes.data(), kLockBytes);
    writers.push_back(start_role("rb_write_code", {name, "512"}));
  }
  const auto bounded = scaled(std::chrono::seconds(40));  // the 10 s lock wait, and then some
  for (std::size_t i = 0; i < cases.size(); ++i) {
    BOOST_TEST_CONTEXT(cases[i].what) {
      const std::optional<std::string> line = writers[i].read_line(bounded);
      const std::optional<int> code = writers[i].wait(bounded);
      BOOST_TEST(code.has_value(), "the writer returned in time");
      BOOST_TEST(code.value_or(-1) == 0, "the writer exited normally (134: SIGABRT, 139: SIGSEGV)");
      BOOST_TEST(line.has_value(), "the writer reported");
      if (!line) continue;
      BOOST_TEST_MESSAGE(cases[i].what << ": " << *line);
      if (cases[i].expected) BOOST_TEST(*line == code_line(*cases[i].expected));
      else BOOST_TEST(line->rfind("code:", 0) == 0u, *line);
    }
  }
}

// Tests that a signal handler writing to a segment while its thread holds
// the writer lock of the same segment gets WOULD_DEADLOCK at once, at a
// forced point inside the locked write.
#if defined(SHAREDMEM_FAULT_INJECTION)
BOOST_AUTO_TEST_CASE(signal_handler_write_inside_a_locked_write_would_deadlock,
                     *boost::unit_test::label("fault_injection")) {
  // The writer stops itself while it holds the lock; a SIGALRM sent while
  // it is stopped runs its handler as soon as it resumes, inside the lock.
  const std::string name = unique_name("sigonce");
  ChildProcess writer = start_role("rb_signal_once", {name, "4096"},
                                   {{"SHAREDMEM_TEST_FAULT", "write_locked@1:stop"}});
  const std::string pid = expect_line(writer);
  BOOST_TEST_REQUIRE(pid.rfind("pid:", 0) == 0u, pid);
  writer.write_line("go");
  BOOST_TEST_REQUIRE(writer.wait_stopped(line_timeout()), "the writer stopped holding the lock");
  BOOST_TEST_REQUIRE(::kill(static_cast<pid_t>(std::stol(pid.substr(4))), SIGALRM) == 0);
  writer.resume();
  BOOST_TEST(expect_line(writer) == "main:" + code_line(SHAREDMEM_OK) +
                                        " handler:" + code_line(SHAREDMEM_E_WOULD_DEADLOCK));
  BOOST_TEST(expect_exit(writer) == 0);
}
#endif

// Tests that writes from a signal handler under a storm of timer signals,
// interrupting writes of the same segment, never deadlock or fail otherwise:
// each returns OK or WOULD_DEADLOCK, and the value stays intact.
// Not under ThreadSanitizer: it delivers signals only at its own safe points
// and makes each 64 MiB copy crawl, so the storm would measure TSan.
BOOST_AUTO_TEST_CASE(set_in_a_signal_handler_does_not_deadlock,
                     only_if(kWithoutThreadSanitizer)) {
  const std::string name = unique_name("sigstorm");
  const long signals = 2000;
  ChildProcess writer =
      start_role("rb_signal_storm", {name, std::to_string(64ull << 20), std::to_string(signals)});
  const std::optional<std::string> line = writer.read_line(scaled(std::chrono::seconds(60)));
  BOOST_TEST_REQUIRE(line.has_value(), "the writer reported in time (no deadlock)");
  BOOST_TEST_MESSAGE("signal storm: " << *line);
  BOOST_TEST(field(*line, "handled") >= signals, *line);
  BOOST_TEST(field(*line, "would_deadlock") + field(*line, "ok") == field(*line, "handled"), *line);
  BOOST_TEST(field(*line, "other") == 0, *line);
  BOOST_TEST(field(*line, "write_errors") == 0, *line);
  BOOST_TEST(field(*line, "intact") == 1, *line);
  BOOST_TEST(expect_exit(writer) == 0);
}

// Tests that a signal handler's write that interrupts a process's very first
// write (where anything computed on first use would be initialised) returns
// OK or WOULD_DEADLOCK and never aborts the process, with two CPU hogs
// beside it so that the signals land at ever other points of that write.
BOOST_AUTO_TEST_CASE(a_signal_storm_on_the_first_write_never_aborts,
                     only_if(kWithoutThreadSanitizer)) {
  ChildProcess hog1 = start_role("rb_cpu_hog");
  ChildProcess hog2 = start_role("rb_cpu_hog");
  BOOST_TEST_REQUIRE(expect_line(hog1) == "hogging");
  BOOST_TEST_REQUIRE(expect_line(hog2) == "hogging");
  const std::string name = unique_name("sigfirst");
  ChildProcess writer = start_role("rb_signal_first_writes", {name, "400"});
  const std::optional<std::string> line = writer.read_line(scaled(std::chrono::seconds(120)));
  hog1.kill();
  hog2.kill();
  BOOST_TEST_REQUIRE(line.has_value(), "the forking writer reported in time");
  BOOST_TEST_MESSAGE("first writes under signals: " << *line);
  BOOST_TEST(field(*line, "clean") == 400, *line);
  BOOST_TEST(field(*line, "failed") == 0, *line);
  BOOST_TEST(expect_exit(writer) == 0);
}

// Tests that the objects of segments whose every user was SIGKILLed are
// removed by the next process that creates a segment, even of another name,
// while a segment that is still in use is kept with its value.
BOOST_AUTO_TEST_CASE(dead_objects_are_swept_by_an_unrelated_open) {
  const std::string live_name = unique_name("sweeplive");
  ChildProcess live = hold_in_child(live_name, "alive");
  std::vector<std::string> dead_names;
  const std::vector<int> pins = pinned_dead_objects("sweepdead", 3, "1048576", dead_names);
  for (const std::string& name : dead_names)
    BOOST_TEST(os_object_exists(name), "SIGKILL left " << name << " behind");
  for (int pin : pins) ::close(pin);

  // A fresh process (its once-a-second sweep not used yet) creates a segment.
  const std::string unrelated = unique_name("sweeper");
  BOOST_TEST(read_in_child(unrelated) == "value:");
  for (const std::string& name : dead_names)
    BOOST_TEST(!os_object_exists(name), name << " was swept");
  BOOST_TEST(os_object_exists(live_name), "the live segment was kept");
  live.write_line("read");
  BOOST_TEST(expect_line(live) == "value:alive");
  release(live);
  BOOST_TEST(!os_object_exists(live_name));
  BOOST_TEST(!os_object_exists(unrelated));
}

// Tests that a segment's name removed from /dev/shm under two holders (as
// systemd-logind's RemoveIPC or an admin's rm does) is reported to both by
// their very next sharedmem_check, and by a sharedmem_wait that times out;
// while the name stands, both calls say so.
BOOST_AUTO_TEST_CASE(a_name_removed_under_its_holders_is_reported) {
  const std::string name = unique_name("removed");
  ChildProcess first = start_role("rb_name_holder", {name});
  ChildProcess second = start_role("rb_name_holder", {name});
  BOOST_TEST_REQUIRE(expect_line(first) == "open");
  BOOST_TEST_REQUIRE(expect_line(second) == "open");
  for (ChildProcess* holder : {&first, &second}) {
    holder->write_line("check");
    BOOST_TEST(expect_line(*holder) == "check:" + code_line(SHAREDMEM_OK));
    holder->write_line("wait");
    BOOST_TEST(expect_line(*holder) == "wait:" + code_line(SHAREDMEM_E_TIMEOUT));
  }
  BOOST_TEST_REQUIRE(::unlink(os_object_path(name).c_str()) == 0);
  for (ChildProcess* holder : {&first, &second}) {
    holder->write_line("check");
    BOOST_TEST(expect_line(*holder) == "check:" + code_line(SHAREDMEM_E_REMOVED));
    holder->write_line("wait");
    BOOST_TEST(expect_line(*holder) == "wait:" + code_line(SHAREDMEM_E_REMOVED));
  }
  // A newcomer makes a new segment under the name: the old holders' name
  // now leads elsewhere, which they are told too.
  sharedmem_segment* newcomer = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, 0, &newcomer) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(newcomer) == 1);
  BOOST_TEST(sharedmem_check(newcomer) == SHAREDMEM_OK);
  first.write_line("check");
  BOOST_TEST(expect_line(first) == "check:" + code_line(SHAREDMEM_E_REMOVED));
  sharedmem_close(newcomer);
  release(first);
  release(second);
  BOOST_TEST(sharedmem_check(nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
}

// Tests that sharedmem_prune removes, now, the object of a 1 MiB segment
// whose every holder was SIGKILLed, and reports it, while a live segment and
// a foreign file of the user's own beside it stay untouched.
BOOST_AUTO_TEST_CASE(prune_removes_dead_objects_only) {
  const std::string live_name = unique_name("prunelive");
  const std::string foreign_name = unique_name("pruneforeign");
  ChildProcess live = hold_in_child(live_name, "alive");
  BOOST_TEST_REQUIRE(create_file(os_object_path(foreign_name), "not a segment of ours"));
  BOOST_TEST_REQUIRE(::chmod(os_object_path(foreign_name).c_str(), 0600) == 0);
  // The dead object is pinned until just before the prune, but a test
  // running in parallel may still sweep it in that instant: then prune has
  // nothing to count, and the scenario is played again under a new name.
  bool pruned_by_prune = false;
  for (int attempt = 0; attempt < 5 && !pruned_by_prune; ++attempt) {
    const std::string dead_name = unique_name("prunedead");
    ChildProcess doomed = start_role("segment_hold", {dead_name, "1048576", "doomed"});
    BOOST_TEST_REQUIRE(expect_line(doomed) == "open");
    const int pin = pin_object(dead_name);
    BOOST_TEST_REQUIRE(pin >= 0);
    doomed.kill();
    BOOST_TEST_REQUIRE(os_object_exists(dead_name), "SIGKILL left the object behind");
    ::close(pin);
    std::uint32_t removed = 0;
    BOOST_TEST(sharedmem_prune(0, &removed) == SHAREDMEM_OK);
    BOOST_TEST(!os_object_exists(dead_name), "the dead object was removed");
    pruned_by_prune = removed >= 1u;
  }
  BOOST_TEST(pruned_by_prune, "prune counted a dead object it removed, in one of 5 attempts");
  BOOST_TEST(os_object_exists(live_name), "the live segment was kept");
  BOOST_TEST(os_object_exists(foreign_name), "the foreign file was kept");
  live.write_line("read");
  BOOST_TEST(expect_line(live) == "value:alive");
  release(live);
  ::unlink(os_object_path(foreign_name).c_str());
  BOOST_TEST(sharedmem_prune(0, nullptr) == SHAREDMEM_OK);
  std::uint32_t removed = 0;
  BOOST_TEST(sharedmem_prune(SHAREDMEM_SCOPE_GLOBAL, &removed) == SHAREDMEM_E_UNSUPPORTED);
  BOOST_TEST(sharedmem_prune(0x80u, &removed) == SHAREDMEM_E_INVALID_ARGUMENT);
}

// Tests that a creation the free space of /dev/shm cannot back sweeps the
// user's dead objects first, even within the second after its last sweep:
// on a private 1 MiB tmpfs holding a dead object of about 800 KiB, one of
// about 600 KiB is created and the dead object is gone.
BOOST_AUTO_TEST_CASE(a_create_short_of_space_sweeps_dead_objects_first,
                     only_if(kPrivateTmpfs)) {
  ChildProcess child = start_role("rb_full_private_shm",
                                  {unique_name("fulldead"), unique_name("fullnew")});
  const std::string line = expect_line(child);
  BOOST_TEST(expect_exit(child) == 0);
  BOOST_TEST(line == "created:" + code_line(SHAREDMEM_OK) + " dead_left:0");
}

// Tests that another user's files planted under this user's prefix never
// stall the sweep: with 20 dead objects of ours and 300 newer files of
// another user named sharedmem.<our uid>.*, one creation sweeps all 20.
BOOST_AUTO_TEST_CASE(planted_files_of_another_user_never_stall_the_sweep,
                     only_if(kRootToPlant)) {
  std::vector<std::string> dead_names;
  const std::vector<int> pins = pinned_dead_objects("stalldead", 20, "64", dead_names);
  std::vector<std::string> planted;
  for (int i = 0; i < 300; ++i) {
    planted.push_back(os_object_path(unique_name("planted")));
    BOOST_TEST_REQUIRE(create_file(planted.back(), "planted"));
    BOOST_TEST_REQUIRE(::chown(planted.back().c_str(), kOtherUid, kOtherGid) == 0);
    BOOST_TEST_REQUIRE(::chmod(planted.back().c_str(), 0600) == 0);
  }
  for (int pin : pins) ::close(pin);
  // A fresh process (its once-a-second sweep not used yet) creates a segment.
  const std::string sweeper = unique_name("stallsweeper");
  BOOST_TEST(read_in_child(sweeper) == "value:");
  int left = 0;
  for (const std::string& name : dead_names) left += os_object_exists(name) ? 1 : 0;
  BOOST_TEST(left == 0, left << " of 20 dead objects stayed");
  int planted_left = 0;
  for (const std::string& path : planted) {
    struct stat status {};
    planted_left += ::lstat(path.c_str(), &status) == 0 ? 1 : 0;
    ::unlink(path.c_str());
  }
  BOOST_TEST(planted_left == 300, "another user's files are never touched");
}

// Has a process open `count` segments at descriptor limit `limit` and fork
// a child that lives on after the parent's normal exit: the child writes
// each segment (`lent` of them refused with SYSTEM and EMFILE, those whose
// description it still shares with the parent, having no owner slot), a
// newcomer still finds each of them, and none is left once the child closed
// them and dead objects are pruned.
void check_fork_at_descriptor_limit(int count, int limit, int lent) {
  const std::string prefix = unique_name("fdlimit");
  ChildProcess parent = start_role("rb_fork_at_descriptor_limit",
                                   {prefix, std::to_string(count), std::to_string(limit)});
  BOOST_TEST_REQUIRE(expect_exit(parent) == 0, count << " at " << limit);
  const std::string ready = expect_line(parent);
  BOOST_TEST_MESSAGE(count << " at " << limit << ": " << ready);
  int written = -1, refused = -1, other = -1;
  BOOST_TEST_REQUIRE(std::sscanf(ready.c_str(), "child:ready written:%d refused:%d other:%d",
                                 &written, &refused, &other) == 3, ready);
  BOOST_TEST(other == 0, "a write failed otherwise than SYSTEM (EMFILE): " << ready);
  BOOST_TEST(refused == lent, ready);
  BOOST_TEST(written + refused == count);
  int missing = 0;
  for (int i = 0; i < count; ++i) {
    sharedmem_segment* segment = nullptr;
    const std::string name = prefix + "." + std::to_string(i);
    if (sharedmem_open(name.c_str(), 0, SHAREDMEM_OPEN_ONLY, &segment) != SHAREDMEM_OK)
      ++missing;
    sharedmem_close(segment);
  }
  BOOST_TEST(missing == 0, missing << " of " << count << " segments lost at ulimit -n " << limit);
  parent.write_line("done");
  BOOST_TEST(expect_line(parent) == "child:closed");
  BOOST_TEST(sharedmem_prune(0, nullptr) == SHAREDMEM_OK);
  int left = 0;
  for (int i = 0; i < count; ++i)
    left += os_object_exists(prefix + "." + std::to_string(i)) ? 1 : 0;
  BOOST_TEST(left == 0, left << " objects left after the child closed and a prune");
}

// Tests that a child forked without exec near the descriptor limit stays a
// user of every segment it inherited, with descriptions of its own, made
// one at a time with one descriptor to spare: 600 segments at ulimit -n
// 1024, 250 at 256.
BOOST_AUTO_TEST_CASE(a_child_forked_at_the_descriptor_limit_keeps_every_segment) {
  check_fork_at_descriptor_limit(600, 1024, 0);
  check_fork_at_descriptor_limit(250, 256, 0);
}

// Tests that a child forked with not one descriptor to spare (253 segments
// at ulimit -n 256) keeps the parent's descriptions: still a user of every
// segment, which it cannot write. (UBSan's vptr check needs descriptors of
// its own: without any, it reports every virtual call as an error.)
BOOST_AUTO_TEST_CASE(a_child_forked_with_no_descriptor_to_spare_shares_the_parents,
                     only_if(kWithoutAddressSanitizer)) {
  check_fork_at_descriptor_limit(253, 256, 253);
}

// Tests that the error codes of open agree with inspection and the docs:
// the user's own read-only file under a segment's name is INCOMPATIBLE
// (inspection: FOREIGN), not NOT_OWNER, for both open modes; the user's own
// file of unknown bytes is INCOMPATIBLE for an OPEN_ONLY open too, not
// NOT_FOUND. (Running out of descriptors: posix_last_system_error_names_the_errno.)
BOOST_AUTO_TEST_CASE(open_error_codes_agree_with_inspection) {
  const std::string readonly_name = unique_name("readonly");
  const unsigned user = running_as_root() ? kOtherUid : ::geteuid();
  const std::string readonly_path = "/dev/shm" + os_object_name(readonly_name, user);
  BOOST_TEST_REQUIRE(create_file(readonly_path, "read-only bytes"));
  BOOST_TEST_REQUIRE(::chown(readonly_path.c_str(), user, running_as_root() ? kOtherGid : ::getegid()) == 0);
  BOOST_TEST_REQUIRE(::chmod(readonly_path.c_str(), 0400) == 0);
  for (const char* flags : {"0", "2"}) {  // 2: SHAREDMEM_OPEN_ONLY
    ChildProcess opener = start_role("rb_open_code_as_user", {readonly_name, flags});
    BOOST_TEST(expect_line(opener) == code_line(SHAREDMEM_E_INCOMPATIBLE), "flags " << flags);
    BOOST_TEST(expect_exit(opener) == 0);
  }
  ::unlink(readonly_path.c_str());

  const std::string garbage_name = unique_name("garbage");
  BOOST_TEST_REQUIRE(create_file(os_object_path(garbage_name), std::string(4096, 'g')));
  BOOST_TEST_REQUIRE(::chmod(os_object_path(garbage_name).c_str(), 0600) == 0);
  sharedmem_segment* segment = nullptr;
  BOOST_TEST(sharedmem_open(garbage_name.c_str(), 64, SHAREDMEM_OPEN_ONLY, &segment) ==
             SHAREDMEM_E_INCOMPATIBLE);
  sharedmem_info info{};
  info.struct_size = sizeof info;
  BOOST_TEST(sharedmem_inspect(garbage_name.c_str(), 0, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_FOREIGN);
  BOOST_TEST(os_object_exists(garbage_name), "left untouched");
  ::unlink(os_object_path(garbage_name).c_str());
}

// ---------------------------------------------------------------------------
// The library's own writer lock across PID namespaces (its scribbling test
// is portable: hostile_test.cpp).

namespace {

// Reports "pid:<pid>", then locks raw segment args[0] args[1] times, each
// time incrementing the counter in its data with a pause between the load
// and the store (a lost update if two writers overlap), and reports
// "done:<lock failures>:<would deadlock>".
SHAREDMEM_CHILD_ROLE(rb_pidns_writer) {
  report("pid:" + std::to_string(::getpid()));
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(args.at(0).c_str(), 64, SHAREDMEM_RAW | SHAREDMEM_OPEN_ONLY, &segment) !=
      SHAREDMEM_OK)
    return 3;
  (void)await_parent();  // both writers start together
  const long rounds = std::stol(args.at(1));
  long failures = 0;
  long would_deadlock = 0;
  auto* counter = static_cast<volatile std::uint32_t*>(sharedmem_data(segment));
  for (long i = 0; i < rounds; ++i) {
    const sharedmem_error e = sharedmem_lock(segment, 10'000);
    if (e == SHAREDMEM_E_WOULD_DEADLOCK) ++would_deadlock;
    if (e != SHAREDMEM_OK) {
      ++failures;
      continue;
    }
    const std::uint32_t seen = *counter;
    if (i % 8 == 0) std::this_thread::yield();
    *counter = seen + 1;
    if (sharedmem_unlock(segment) != SHAREDMEM_OK) ++failures;
  }
  sharedmem_close(segment);
  report("done:" + std::to_string(failures) + ":" + std::to_string(would_deadlock));
  return 0;
}

}  // namespace

// Tests two writers that are each PID 1 of a PID namespace of their own
// (the same TID, 1, in both): the lock keeps them apart (no lost update of
// a counter both increment under it) and neither is refused as re-entering
// (WOULD_DEADLOCK). Needs root for unshare(1); skipped otherwise.
static bool root_with_unshare() { return ::geteuid() == 0 && ::access("/usr/bin/unshare", X_OK) == 0; }
constexpr Condition kRootWithUnshare{root_with_unshare,
                                     "PID namespaces need root and unshare(1) (util-linux)"};

BOOST_AUTO_TEST_CASE(writers_in_separate_pid_namespaces_exclude_each_other,
                     only_if(kRootWithUnshare)) {
  const std::string name = unique_name("pidns");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, SHAREDMEM_RAW, &segment) == SHAREDMEM_OK);
  constexpr long kRounds = 20'000;
  std::vector<ChildProcess> writers;
  for (int i = 0; i < 2; ++i)
    writers.emplace_back("/usr/bin/unshare",
                         std::vector<std::string>{"--pid", "--fork", self_path(), "--child",
                                                  "rb_pidns_writer", name,
                                                  std::to_string(kRounds)});
  for (ChildProcess& writer : writers) {
    const std::optional<std::string> pid = writer.read_line(line_timeout());
    BOOST_TEST_REQUIRE(pid.has_value(), "unshare --pid --fork started the writer");
    BOOST_TEST_REQUIRE(*pid == "pid:1", *pid);
  }
  for (ChildProcess& writer : writers) writer.write_line("go");
  for (ChildProcess& writer : writers) {
    const std::optional<std::string> done = writer.read_line(scaled(std::chrono::seconds(120)));
    BOOST_TEST_REQUIRE(done.has_value());
    BOOST_TEST(*done == "done:0:0", "lock failures and WOULD_DEADLOCK: " << *done);
    BOOST_TEST(writer.wait(line_timeout()).value_or(-1) == 0);
  }
  BOOST_TEST(*static_cast<volatile std::uint32_t*>(sharedmem_data(segment)) == 2 * kRounds,
             "no lost update: the writers never overlapped");
  sharedmem_close(segment);
}

BOOST_AUTO_TEST_SUITE_END()
