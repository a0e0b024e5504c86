// SPDX-License-Identifier: MIT
// POSIX: stop requests are signals, blocked in every thread and taken with
// sigwait; end of stdin is turned into one by a reader thread.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "process_control.hpp"

namespace sharedmem_cli {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);  // bytes as the shell passed them
}

void use_binary_stdio() {}

void prepare_stop_requests() {
  const sigset_t set = stop_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop(bool stdin_closes) {
  if (stdin_closes) {
    std::thread([] {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      ::kill(::getpid(), SIGTERM);  // taken by the sigwait below
    }).detach();
  }
  const sigset_t set = stop_signals();
  int signal = 0;
  while (::sigwait(&set, &signal) != 0) {
  }
  return stdin_closes && signal == SIGTERM ? 0 : signal;
}

}  // namespace sharedmem_cli
