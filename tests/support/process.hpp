// SPDX-License-Identifier: MIT
// Test support: start helper processes, talk to them over pipes, wait for them
// with timeouts, and kill them hard. One implementation per OS
// (process_posix.cpp, process_windows.cpp); the tests are shared.
#ifndef SHAREDMEM_TESTS_SUPPORT_PROCESS_HPP
#define SHAREDMEM_TESTS_SUPPORT_PROCESS_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sharedmem_test {

// `base` scaled by SHAREDMEM_TEST_TIMEOUT_MULTIPLIER (default 1): Wine starts
// processes far more slowly than Linux.
std::chrono::milliseconds scaled(std::chrono::milliseconds base);

// The running test executable, for re-running it in a child role.
std::string self_path();

using Environment = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  // Starts `program` with `args`, the parent's environment plus `extra_env`,
  // and its stdin and stdout connected to this object. Throws on failure.
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const Environment& extra_env = {});
  ~ChildProcess();  // kills the child if it still runs
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;

  // The next line the child printed (without the newline), or nullopt on
  // timeout or end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Sends one line to the child's stdin.
  bool write_line(const std::string& line);
  void close_stdin();
  // The exit code, or nullopt if the child did not exit in time. A child
  // killed by a signal (POSIX) reports 128 + the signal number.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGKILL / TerminateProcess, then reaps the child.
  void kill();
  // Stops / resumes every thread of the child (SIGSTOP / SIGCONT).
  void suspend();
  void resume();
#if !defined(_WIN32)
  // Whether the child stopped itself (SIGSTOP) within `timeout`.
  bool wait_stopped(std::chrono::milliseconds timeout);
#endif

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Starts this executable in `role` (see roles.hpp).
ChildProcess start_role(const std::string& role, const std::vector<std::string>& args = {},
                        const Environment& extra_env = {});

// A name no other test, process or earlier run uses.
std::string unique_name(const std::string& tag);

// The dl probe: a program not linked to sharedmem that loads this
// executable's libraries by path (dlopen / LoadLibraryW), uses them, unloads
// them and checks that they are gone (support/dl_probe.c,
// support/dl_probe_windows.cpp: same usage and output). It exits 0 when every
// call worked.
enum class LibraryProbe {
  core,    // opens segment `segment` through the core library, writes `text`,
           // reads it back and closes it, unloads it: "wrote:<read>", "unloaded"
  setget,  // the Set/Get library on its default segment (named by the
           // environment; `segment` unused): "initial:<Get>", Set(`text`),
           // unloads it and the core ("unloaded"), loads it again:
           // "reloaded:<Get>"
};
// Starts the dl probe, with the parent's environment plus `extra_env`
// (one implementation per OS: where the probe and the libraries are).
// A library still in memory after unloading is reported "still-loaded:<path>".
ChildProcess start_library_probe(LibraryProbe probe, const std::string& segment,
                                 const std::string& text, const Environment& extra_env = {});

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_PROCESS_HPP
