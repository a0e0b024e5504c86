// SPDX-License-Identifier: MIT
// Makes N calls of one operation after the same setup, so that counting the
// system calls of a run (strace -f -c) with N calls and with none gives the
// system calls per call. bench/report.py runs it; usage:
//   sharedmem_syscall_probe {none|set|get|write|read|open_close|create_close|write_waiter} N
// create_close: each call creates a segment under a name nobody uses and
// closes it (its only user, so the close removes it).
// SHAREDMEM_DEFAULT_SEGMENT must name a private default segment.
//
// write_waiter: a child process (forked, so `strace` without -f does not
// count it) waits for every version with sharedmem_wait while this process
// makes N 4 KiB writes, pausing 200 us before each (clock_nanosleep, one
// system call of its own) so that the child is asleep in its wait by then.
// The child reports on a pipe how many of the N writes woke it one by one.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

int main(int argc, char** argv) {
  const char* segment_name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  if (argc != 3 || segment_name == nullptr || *segment_name == '\0') {
    std::fprintf(stderr,
                 "usage: SHAREDMEM_DEFAULT_SEGMENT=name %s {none|set|get|write|read|open_close|create_close|write_waiter} N\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const long calls = std::strtol(argv[2], nullptr, 10);
  if (sharedmem_default_status() != SHAREDMEM_OK) return 3;

  const std::string name = "sharedmem_probe." + std::to_string(::getpid());
  sharedmem_segment* segment = nullptr;
  if (sharedmem_open(name.c_str(), 4096, 0, &segment) != SHAREDMEM_OK) return 3;
  std::vector<unsigned char> bytes(4096, 1);
  std::vector<wchar_t> text(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1, L'x');
  text.back() = L'\0';
  std::vector<wchar_t> out(text.size());
  sharedmem_write(segment, bytes.data(), bytes.size());
  SetSharedMem(text.data());

  int woken_pipe[2] = {-1, -1};
  pid_t waiter = -1;
  if (mode == "write_waiter") {
    if (::pipe(woken_pipe) != 0) return 3;
    const std::uint64_t start = sharedmem_version(segment);
    waiter = ::fork();
    if (waiter < 0) return 3;
    if (waiter == 0) {
      // The child: its own handle, one wait per version until the last.
      ::close(woken_pipe[0]);
      sharedmem_segment* own = nullptr;
      if (sharedmem_open(name.c_str(), 4096, SHAREDMEM_OPEN_ONLY, &own) != SHAREDMEM_OK) _exit(3);
      const char ready = 'r';
      if (::write(woken_pipe[1], &ready, 1) != 1) _exit(3);
      std::uint64_t seen = start;
      long one_by_one = 0;
      while (seen < start + static_cast<std::uint64_t>(calls)) {
        std::uint64_t now = seen;
        if (sharedmem_wait(own, seen, 10'000, &now) != SHAREDMEM_OK) _exit(4);
        if (now == seen + 1) ++one_by_one;
        seen = now;
      }
      sharedmem_close(own);
      if (::write(woken_pipe[1], &one_by_one, sizeof one_by_one) != sizeof one_by_one) _exit(3);
      _exit(0);
    }
    ::close(woken_pipe[1]);
    char ready = 0;
    if (::read(woken_pipe[0], &ready, 1) != 1) return 4;
  }

  unsigned long long check = 0;
  for (long i = 0; i < calls; ++i) {
    if (mode == "set") {
      SetSharedMem(text.data());
    } else if (mode == "get") {
      GetSharedMem(out.data(), static_cast<std::uint32_t>(out.size()));
      check += static_cast<unsigned long long>(out[0]);
    } else if (mode == "write") {
      check += sharedmem_write(segment, bytes.data(), bytes.size());
    } else if (mode == "write_waiter") {
      struct timespec pause {0, 200'000};
      ::clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, nullptr);
      check += sharedmem_write(segment, bytes.data(), bytes.size());
    } else if (mode == "read") {
      std::uint64_t size = 0;
      sharedmem_read(segment, bytes.data(), bytes.size(), &size);
      check += size;
    } else if (mode == "open_close") {
      sharedmem_segment* other = nullptr;
      if (sharedmem_open(name.c_str(), 4096, 0, &other) != SHAREDMEM_OK) return 4;
      sharedmem_close(other);
    } else if (mode == "create_close") {
      // A name nobody uses: created, then removed by its last (only) user.
      const std::string fresh = name + ".c" + std::to_string(i);
      sharedmem_segment* created = nullptr;
      if (sharedmem_open(fresh.c_str(), 4096, SHAREDMEM_CREATE_ONLY, &created) != SHAREDMEM_OK)
        return 4;
      sharedmem_close(created);
    } else if (mode != "none") {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  }
  if (waiter > 0) {
    long one_by_one = -1;
    const bool reported = ::read(woken_pipe[0], &one_by_one, sizeof one_by_one) ==
                          static_cast<ssize_t>(sizeof one_by_one);
    int status = 0;
    ::waitpid(waiter, &status, 0);
    if (!reported || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 5;
    std::printf("woken one by one: %ld of %ld\n", one_by_one, calls);
  }
  sharedmem_close(segment);
  std::printf("%s x %ld done (%llu)\n", mode.c_str(), calls, check);
  return 0;
}
