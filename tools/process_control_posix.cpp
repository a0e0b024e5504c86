// SPDX-License-Identifier: MIT
// POSIX: stop requests are signals, blocked in every thread and taken with
// sigwait; end of stdin is turned into one by a reader thread.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
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

void prepare_stop_requests(bool stdin_closes) {
  const sigset_t set = stop_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (stdin_closes) {
    std::thread([] {  // inherits the blocked signals
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      ::kill(::getpid(), SIGTERM);  // taken by wait_for_stop
    }).detach();
  }
}

bool wait_for_stop(std::optional<std::chrono::milliseconds> timeout) {
  const sigset_t set = stop_signals();
  for (;;) {
    int taken = -1;
    if (timeout) {
      const auto ms = timeout->count();
      const timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
      taken = ::sigtimedwait(&set, nullptr, &wait);
      if (taken < 0 && errno == EAGAIN) return false;
    } else {
      int signal = 0;
      if (::sigwait(&set, &signal) == 0) taken = signal;
    }
    if (taken > 0) return true;
  }
}

}  // namespace sharedmem_cli
