// SPDX-License-Identifier: MIT
// What the sharedmem command needs from the OS beyond the library: binary
// standard streams and waiting for a request to stop. One implementation
// per OS (process_control_posix.cpp, process_control_windows.cpp).
#ifndef SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP
#define SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sharedmem_cli {

// The command line's arguments in UTF-8 (Windows passes main() arguments in
// the ANSI code page, which cannot hold every character: they are read
// again as UTF-16 there).
std::vector<std::string> utf8_arguments(int argc, char** argv);

// Makes stdin and stdout carry bytes unchanged (Windows translates line
// ends in text mode; POSIX streams are binary already).
void use_binary_stdio();

// Call once, before any other thread starts: from then on the stop requests
// that wait_for_stop waits for are held for it rather than ending the
// process. A stop request is SIGINT, SIGTERM or SIGHUP (POSIX), Ctrl+C,
// Ctrl+Break or the console closing (Windows), and, when `stdin_closes`,
// the end of standard input.
void prepare_stop_requests(bool stdin_closes);

// Blocks until a stop request or, if given, `timeout` passes: true for a
// stop request, false for the timeout.
bool wait_for_stop(std::optional<std::chrono::milliseconds> timeout);

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP
