// SPDX-License-Identifier: MIT
// POSIX test support: fork/exec with pipes, poll-based timeouts, SIGKILL.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <stdexcept>
#include <thread>

#include "process.hpp"

extern char** environ;

namespace sharedmem_test {

struct ChildProcess::Impl {
  pid_t pid = -1;
  int pidfd = -1;  // becomes readable when the child exits
  int to_child = -1;
  int from_child = -1;
  std::string buffered;
  bool reaped = false;
  int exit_code = -1;

  // Kills and reaps the child and closes our ends. In the destructor, so
  // that a ChildProcess assigned over (a replaced writer) cleans up too.
  ~Impl() {
    kill();
    if (to_child >= 0) ::close(to_child);
    if (from_child >= 0) ::close(from_child);
    if (pidfd >= 0) ::close(pidfd);
  }

  void kill() {
    if (reaped || pid <= 0) return;
    ::kill(pid, SIGKILL);
    try_reap(true);
  }

  bool try_reap(bool block) {
    if (reaped) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (r != pid) return false;
    reaped = true;
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
};

std::string self_path() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const Environment& extra_env)
    : impl_(std::make_unique<Impl>()) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool overridden = false;
    for (const auto& extra : extra_env)
      overridden = overridden || entry.rfind(extra.first + "=", 0) == 0;
    if (!overridden) env_storage.push_back(entry);
  }
  for (const auto& [key, value] : extra_env) env_storage.push_back(key + "=" + value);
  std::vector<char*> envp, argv;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_storage{program};
  arg_storage.insert(arg_storage.end(), args.begin(), args.end());
  for (auto& a : arg_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  const int error = ::posix_spawn(&impl_->pid, program.c_str(), &actions, nullptr, argv.data(),
                                  envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  impl_->to_child = in_pipe[1];
  impl_->from_child = out_pipe[0];
  if (error == 0) impl_->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, impl_->pid, 0));
  if (error != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    throw std::runtime_error("posix_spawn failed for " + program);
  }
}

ChildProcess::~ChildProcess() = default;

ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&&) noexcept = default;

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto newline = impl_->buffered.find('\n');
    if (newline != std::string::npos) {
      std::string line = impl_->buffered.substr(0, newline);
      impl_->buffered.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{impl_->from_child, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[4096];
    const ssize_t n = ::read(impl_->from_child, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // end of output
    impl_->buffered.append(chunk, static_cast<std::size_t>(n));
  }
}

bool ChildProcess::write_line(const std::string& line) {
  const std::string data = line + "\n";
  return impl_->to_child >= 0 &&
         ::write(impl_->to_child, data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

void ChildProcess::close_stdin() {
  if (impl_->to_child >= 0) ::close(impl_->to_child);
  impl_->to_child = -1;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  // A pidfd turns the exit into an event to poll for, with no wake-ups
  // before it: a parent that woke every few microseconds would change how
  // the child's threads are scheduled. Without one (kernels before 5.3),
  // check with a growing pause.
  if (!impl_->reaped && impl_->pidfd >= 0) {
    pollfd exited{impl_->pidfd, POLLIN, 0};
    int ready;
    while ((ready = ::poll(&exited, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    if (ready == 0) return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::chrono::microseconds pause{100};
  while (!impl_->try_reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(5)) pause *= 2;
  }
  return impl_->exit_code;
}

void ChildProcess::kill() { impl_->kill(); }

bool ChildProcess::wait_stopped(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::chrono::microseconds pause{100};
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(impl_->pid, &status, WUNTRACED | WNOHANG);
    if (r == impl_->pid && WIFSTOPPED(status)) return true;
    if (r == impl_->pid) {  // it exited instead
      impl_->reaped = true;
      impl_->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(5)) pause *= 2;
  }
}

void ChildProcess::suspend() { ::kill(impl_->pid, SIGSTOP); }
void ChildProcess::resume() { ::kill(impl_->pid, SIGCONT); }

std::string unique_name(const std::string& tag) {
  static std::atomic<unsigned> counter{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + tag;
}

ChildProcess start_library_probe(LibraryProbe probe, const std::string& segment,
                                 const std::string& text, const Environment& extra_env) {
  // The libraries this executable links, by path (CMake's compile definitions).
  if (probe == LibraryProbe::core)
    return ChildProcess(SHAREDMEM_DL_PROBE, {"core", SHAREDMEM_CORE_LIBRARY_FILE, segment, text},
                        extra_env);
  return ChildProcess(SHAREDMEM_DL_PROBE,
                      {"setget", SHAREDMEM_SETGET_LIBRARY_FILE, SHAREDMEM_CORE_LIBRARY_FILE, text},
                      extra_env);
}

}  // namespace sharedmem_test
