// SPDX-License-Identifier: MIT
// What the sharedmem command needs from the OS beyond the library: binary
// standard streams and waiting for a request to stop. One implementation
// per OS (process_control_posix.cpp, process_control_windows.cpp).
#ifndef SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP
#define SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP

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

// Call before any thread starts: from then on the stop requests that
// wait_for_stop waits for are held for it rather than ending the process.
void prepare_stop_requests();

// Blocks until a stop request: SIGINT, SIGTERM or SIGHUP (POSIX), Ctrl+C,
// Ctrl+Break or the console closing (Windows), and, when `stdin_closes`,
// end of standard input. Returns the signal number (0 for stdin).
int wait_for_stop(bool stdin_closes);

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_PROCESS_CONTROL_HPP
