// SPDX-License-Identifier: MIT
// The sharedmem command's exit statuses, and which one each of the
// library's errors gives. The errors are walked from the library's own
// table, so a code added there is listed here (and in docs/cli.md, which a
// test compares with `sharedmem help exit-status`) without being typed again.
#ifndef SHAREDMEM_TOOLS_EXIT_STATUS_HPP
#define SHAREDMEM_TOOLS_EXIT_STATUS_HPP

#include <cstdio>
#include <string>
#include <vector>

#include "help.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem_cli {

enum Exit : int { kOk = 0, kError = 1, kUsage = 2, kNotFound = 3, kTimeout = 4, kRemoved = 5 };

inline std::vector<ExitStatusDoc> exit_status_docs() {
  return {
      {kOk, "success"},
      {kError, "an error: the library refused or failed (the message says why)"},
      {kUsage, "a usage error: an unknown command or option, a bad name, count, duration or "
               "capacity"},
      {kNotFound, "not found: no live segment of that name"},
      {kTimeout, "timed out: --timeout passed with no change"},
      {kRemoved, "removed: the segment's name was removed under its holders (docs/lifetime.md)"},
  };
}

// The exit status a library error gives when a command stops on it.
inline int exit_status(sharedmem_error e) {
  switch (e) {
    case SHAREDMEM_OK:
    case SHAREDMEM_E_OWNER_DIED:  // a success: the lock is held
      return kOk;
    case SHAREDMEM_E_INVALID_NAME:  // the user typed the name
    case SHAREDMEM_E_INVALID_SIZE:  // and the capacity
      return kUsage;
    case SHAREDMEM_E_NOT_FOUND:
      return kNotFound;
    case SHAREDMEM_E_TIMEOUT:
      return kTimeout;
    case SHAREDMEM_E_REMOVED:
      return kRemoved;
    default:
      return kError;
  }
}

// Every error of the library, its name and the exit status it gives.
struct ErrorExit {
  int code;
  const char* name;
  int status;
};

// SHAREDMEM_OK first, then the library's table (which holds errors only).
inline std::vector<ErrorExit> error_exits() {
  std::vector<ErrorExit> rows{{SHAREDMEM_OK, sharedmem_error_name(SHAREDMEM_OK), kOk}};
#define SHAREDMEM_CLI_ERROR_ROW(name, value, message)                              \
  rows.push_back({value, sharedmem_error_name(static_cast<sharedmem_error>(value)), \
                  exit_status(static_cast<sharedmem_error>(value))});
  SHAREDMEM_ERRORS(SHAREDMEM_CLI_ERROR_ROW)
#undef SHAREDMEM_CLI_ERROR_ROW
  return rows;
}

inline std::string error_exit_table() {
  std::string out = "  code  error                 exit status\n";
  for (const ErrorExit& row : error_exits()) {
    char line[96];
    std::snprintf(line, sizeof line, "  %4d  %-20s  %d\n", row.code, row.name, row.status);
    out += line;
  }
  return out;
}

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_EXIT_STATUS_HPP
