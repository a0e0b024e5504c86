// SPDX-License-Identifier: MIT
// Windows: stop requests are console control events (a handler sets an
// event) and, when asked, end of stdin (a reader thread sets it too).
#include <windows.h>
#include <shellapi.h>
#include <fcntl.h>
#include <io.h>

#include <cstdio>
#include <thread>

#include "process_control.hpp"

namespace sharedmem_cli {
namespace {

HANDLE g_stop = nullptr;

BOOL WINAPI on_console_event(DWORD) {
  ::SetEvent(g_stop);
  return TRUE;
}

}  // namespace

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  int count = 0;
  LPWSTR* wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr) return std::vector<std::string>(argv, argv + argc);
  std::vector<std::string> arguments;
  for (int i = 0; i < count; ++i) {
    const int bytes = ::WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, nullptr, 0, nullptr, nullptr);
    std::string argument(bytes > 0 ? static_cast<std::size_t>(bytes) : 1, '\0');
    if (bytes > 0)
      ::WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, argument.data(), bytes, nullptr, nullptr);
    argument.resize(argument.size() - 1);  // the terminator
    arguments.push_back(argument);
  }
  ::LocalFree(wide);
  return arguments;
}

void use_binary_stdio() {
  (void)::_setmode(::_fileno(stdin), _O_BINARY);
  (void)::_setmode(::_fileno(stdout), _O_BINARY);
}

void prepare_stop_requests(bool stdin_closes) {
  g_stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  ::SetConsoleCtrlHandler(on_console_event, TRUE);
  if (stdin_closes) {
    std::thread([] {
      HANDLE input = ::GetStdHandle(STD_INPUT_HANDLE);
      char buffer[4096];
      DWORD n = 0;
      while (::ReadFile(input, buffer, sizeof buffer, &n, nullptr) && n != 0) {
      }
      ::SetEvent(g_stop);
    }).detach();
  }
}

bool wait_for_stop(std::optional<std::chrono::milliseconds> timeout) {
  const DWORD ms = timeout ? static_cast<DWORD>(timeout->count()) : INFINITE;
  return ::WaitForSingleObject(g_stop, ms) != WAIT_TIMEOUT;
}

}  // namespace sharedmem_cli
