// SPDX-License-Identifier: MIT
// Windows test support: CreateProcessW with anonymous pipes for stdin and
// stdout, a reader thread per child for read timeouts, WaitForSingleObject
// for exits, TerminateProcess for kills, NtSuspendProcess for suspension.
#include <windows.h>

#include <atomic>
#include <condition_variable>
#include <cwchar>
#include <cwctype>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "process.hpp"

namespace sharedmem_test {
namespace {

// The exit code of a killed child, as SIGKILL reports on POSIX (128 + 9).
constexpr UINT kKilledExitCode = 137;

std::wstring to_wide(const std::string& text) {
  if (text.empty()) return {};
  const int n = ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                                      nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), n);
  return out;
}

std::string to_utf8(const std::wstring& text) {
  if (text.empty()) return {};
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                                      nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

// Quotes one argument so that the child's CRT (CommandLineToArgvW rules)
// gives it back unchanged.
void append_quoted(std::wstring& line, const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    line += arg;
    return;
  }
  line += L'"';
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    // Backslashes are literal unless they precede a quote.
    line.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    line += c;
  }
  line.append(backslashes * 2, L'\\');
  line += L'"';
}

bool same_variable(const std::wstring& entry, const std::wstring& key) {
  if (entry.size() <= key.size() || entry[key.size()] != L'=') return false;
  for (std::size_t i = 0; i < key.size(); ++i)  // names are case-insensitive
    if (std::towupper(entry[i]) != std::towupper(key[i])) return false;
  return true;
}

// The parent's environment with `extra` replacing variables of the same name.
std::wstring environment_block(const Environment& extra) {
  std::vector<std::wstring> entries;
  if (wchar_t* block = ::GetEnvironmentStringsW()) {
    for (const wchar_t* e = block; *e; e += std::wcslen(e) + 1) {
      const std::wstring entry = e;
      bool overridden = false;
      for (const auto& [key, value] : extra)
        overridden = overridden || same_variable(entry, to_wide(key));
      if (!overridden) entries.push_back(entry);
    }
    ::FreeEnvironmentStringsW(block);
  }
  for (const auto& [key, value] : extra) entries.push_back(to_wide(key) + L"=" + to_wide(value));
  std::wstring out;
  for (const std::wstring& entry : entries) {
    out += entry;
    out += L'\0';
  }
  out += L'\0';
  return out;
}

// Children must inherit only their own pipe ends: while one child's
// inheritable ends exist, no other child may be created, or it would keep
// the first one's pipes open (and its parent would never see end of output).
std::mutex& spawn_mutex() {
  static std::mutex instance;
  return instance;
}

// A job that kills every child when the test process ends, however it
// ends: a test that aborts must not leave writers looping forever, holding
// ctest's output pipe open (ctest would wait for them until its timeout).
// Created once, closed by the system at exit (the point).
HANDLE children_job() {
  static const HANDLE job = [] {
    HANDLE created = ::CreateJobObjectW(nullptr, nullptr);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (created != nullptr &&
        !::SetInformationJobObject(created, JobObjectExtendedLimitInformation, &limits,
                                   sizeof limits)) {
      ::CloseHandle(created);
      created = nullptr;
    }
    return created;
  }();
  return job;
}

void close_handle(HANDLE& handle) {
  if (handle != nullptr && handle != INVALID_HANDLE_VALUE) ::CloseHandle(handle);
  handle = nullptr;
}

}  // namespace

struct ChildProcess::Impl {
  HANDLE process = nullptr;
  HANDLE thread = nullptr;
  HANDLE to_child = nullptr;
  HANDLE from_child = nullptr;
  std::thread reader;
  std::mutex mutex;
  std::condition_variable readable;
  std::string buffered;  // guarded by mutex
  bool end_of_output = false;  // guarded by mutex
  std::optional<int> exit_code;

  // Kills the child, waits for the reader and closes our handles. In the
  // destructor, so that a ChildProcess assigned over (a replaced writer)
  // cleans up too: a joinable reader destroyed unjoined would terminate.
  ~Impl() {
    kill();
    close_handle(to_child);
    // The child is gone, so its stdout is closed and the reader has ended
    // or is about to.
    if (reader.joinable()) reader.join();
    close_handle(from_child);
    close_handle(thread);
    close_handle(process);
  }

  void kill() {
    if (process == nullptr || exit_code) return;
    ::TerminateProcess(process, kKilledExitCode);
    // TerminateProcess is asynchronous; the process is gone, with its
    // handles closed, once its object is signalled.
    reap(static_cast<DWORD>(scaled(std::chrono::seconds(20)).count()));
  }

  // Moves the child's output into `buffered` until it closes its stdout.
  void read_output() {
    char chunk[4096];
    DWORD n = 0;
    while (::ReadFile(from_child, chunk, sizeof chunk, &n, nullptr) && n > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      buffered.append(chunk, n);
      readable.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex);
    end_of_output = true;
    readable.notify_all();
  }

  bool reap(DWORD timeout_ms) {
    if (exit_code) return true;
    if (::WaitForSingleObject(process, timeout_ms) != WAIT_OBJECT_0) return false;
    DWORD code = 0;
    ::GetExitCodeProcess(process, &code);
    exit_code = static_cast<int>(code);
    return true;
  }
};

std::string self_path() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD n = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (n == 0) throw std::runtime_error("GetModuleFileNameW failed");
    if (n < path.size()) {
      path.resize(n);
      return to_utf8(path);
    }
    path.resize(path.size() * 2);
  }
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const Environment& extra_env)
    : impl_(std::make_unique<Impl>()) {
  std::wstring command_line;
  append_quoted(command_line, to_wide(program));
  for (const std::string& arg : args) {
    command_line += L' ';
    append_quoted(command_line, to_wide(arg));
  }
  std::wstring environment = environment_block(extra_env);

  std::lock_guard<std::mutex> lock(spawn_mutex());
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE child_stdin = nullptr, child_stdout = nullptr, child_stderr = nullptr;
  if (!::CreatePipe(&child_stdin, &impl_->to_child, &inheritable, 0)) {
    throw std::runtime_error("CreatePipe failed");
  }
  if (!::CreatePipe(&impl_->from_child, &child_stdout, &inheritable, 0)) {
    close_handle(child_stdin);
    close_handle(impl_->to_child);
    throw std::runtime_error("CreatePipe failed");
  }
  // The parent's ends stay here.
  ::SetHandleInformation(impl_->to_child, HANDLE_FLAG_INHERIT, 0);
  ::SetHandleInformation(impl_->from_child, HANDLE_FLAG_INHERIT, 0);
  // The child's stderr is ours, so its complaints reach the test log.
  ::DuplicateHandle(::GetCurrentProcess(), ::GetStdHandle(STD_ERROR_HANDLE),
                    ::GetCurrentProcess(), &child_stderr, 0, TRUE, DUPLICATE_SAME_ACCESS);

  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = child_stdin;
  startup.hStdOutput = child_stdout;
  startup.hStdError = child_stderr ? child_stderr : child_stdout;
  PROCESS_INFORMATION info{};
  const std::wstring application = to_wide(program);
  const BOOL created = ::CreateProcessW(
      application.c_str(), command_line.data(), nullptr, nullptr, TRUE,
      CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW | CREATE_SUSPENDED, environment.data(),
      nullptr, &startup, &info);
  close_handle(child_stdin);
  close_handle(child_stdout);
  close_handle(child_stderr);
  if (!created) {
    const DWORD error = ::GetLastError();
    close_handle(impl_->to_child);
    close_handle(impl_->from_child);
    throw std::runtime_error("CreateProcessW failed for " + program + " (error " +
                             std::to_string(error) + ")");
  }
  impl_->process = info.hProcess;
  impl_->thread = info.hThread;
  // Joined before it runs, so that nothing it starts escapes the job. A
  // system without jobs only loses the clean-up after an aborted test.
  if (HANDLE job = children_job()) ::AssignProcessToJobObject(job, info.hProcess);
  ::ResumeThread(info.hThread);
  Impl* impl = impl_.get();
  impl_->reader = std::thread([impl] { impl->read_output(); });
}

ChildProcess::~ChildProcess() = default;

ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&&) noexcept = default;

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  std::size_t newline = std::string::npos;
  impl_->readable.wait_for(lock, timeout, [&] {
    newline = impl_->buffered.find('\n');
    return newline != std::string::npos || impl_->end_of_output;
  });
  if (newline == std::string::npos) return std::nullopt;  // timeout or end of output
  std::string line = impl_->buffered.substr(0, newline);
  impl_->buffered.erase(0, newline + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // text-mode stdout
  return line;
}

bool ChildProcess::write_line(const std::string& line) {
  const std::string data = line + "\n";
  DWORD written = 0;
  return impl_->to_child != nullptr &&
         ::WriteFile(impl_->to_child, data.data(), static_cast<DWORD>(data.size()), &written,
                     nullptr) &&
         written == data.size();
}

void ChildProcess::close_stdin() { close_handle(impl_->to_child); }

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  const DWORD wait_ms = ms <= 0 ? 0 : ms >= INFINITE ? INFINITE - 1 : static_cast<DWORD>(ms);
  if (!impl_->reap(wait_ms)) return std::nullopt;
  return impl_->exit_code;
}

void ChildProcess::kill() { impl_->kill(); }

namespace {

using NtProcessFunction = LONG(NTAPI*)(HANDLE);

NtProcessFunction ntdll_function(const char* name) {
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll ? reinterpret_cast<NtProcessFunction>(
                     reinterpret_cast<void*>(::GetProcAddress(ntdll, name)))
               : nullptr;
}

}  // namespace

void ChildProcess::suspend() {
  static const NtProcessFunction suspend_process = ntdll_function("NtSuspendProcess");
  if (suspend_process == nullptr || suspend_process(impl_->process) < 0)
    throw std::runtime_error("NtSuspendProcess failed");
}

void ChildProcess::resume() {
  static const NtProcessFunction resume_process = ntdll_function("NtResumeProcess");
  if (resume_process == nullptr || resume_process(impl_->process) < 0)
    throw std::runtime_error("NtResumeProcess failed");
}

std::string unique_name(const std::string& tag) {
  static std::atomic<unsigned> counter{0};
  return "t" + std::to_string(::GetCurrentProcessId()) + "_" + std::to_string(counter++) + "_" +
         tag;
}

ChildProcess start_library_probe(LibraryProbe probe, const std::string& segment,
                                 const std::string& text, const Environment& extra_env) {
  // The probe and the DLLs this executable links sit next to it (CMake's
  // compile definitions give their file names).
  const std::string self = self_path();
  const std::string directory = self.substr(0, self.find_last_of("\\/") + 1);
  const std::string program = directory + SHAREDMEM_DL_PROBE_NAME;
  const std::string core = directory + SHAREDMEM_CORE_LIBRARY_NAME;
  if (probe == LibraryProbe::core)
    return ChildProcess(program, {"core", core, segment, text}, extra_env);
  return ChildProcess(program, {"setget", directory + SHAREDMEM_SETGET_LIBRARY_NAME, core, text},
                      extra_env);
}

}  // namespace sharedmem_test
