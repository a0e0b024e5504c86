// SPDX-License-Identifier: MIT
// The seed's parent process, portably: writes a string to the default shared
// segment, starts the child program given on the command line, and stays
// alive (keeping the segment alive) until the child exits.
#include <cstdio>
#include <cstdlib>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

#if defined(_WIN32)
#include <process.h>
#else
#include <spawn.h>
#include <sys/wait.h>
extern char** environ;
#endif

namespace {

// Runs `program` with no arguments and returns its exit code, or -1.
int run_and_wait(const char* program) {
#if defined(_WIN32)
  const char* argv[] = {program, nullptr};
  return static_cast<int>(_spawnv(_P_WAIT, program, argv));
#else
  char* argv[] = {const_cast<char*>(program), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, program, nullptr, nullptr, argv, environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <path-to-seed_child>\n", argv[0]);
    return 2;
  }
  if (sharedmem_error status = sharedmem_default_status()) {
    std::fprintf(stderr, "shared memory unavailable: %s\n", sharedmem_strerror(status));
    return 1;
  }
  std::printf("\nProcess is writing to shared memory...\n\n");
  std::fflush(stdout);
  SetSharedMem(L"This is a test string");

  const int child_status = run_and_wait(argv[1]);
  if (child_status != 0) {
    std::fprintf(stderr, "child process failed (status %d)\n", child_status);
    return 1;
  }
  return 0;
}
