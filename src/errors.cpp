// SPDX-License-Identifier: MIT
// Error messages and names, the OS error behind a call's failure
// (sharedmem_last_system_error), and the library's identification (version,
// backend), for the public C API.
#include "platform.hpp"
#include "segment.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem::detail {
namespace {

// sharedmem_last_system_error: the OS error behind this thread's last failure.
SHAREDMEM_SIGNAL_SAFE_TLS thread_local int t_last_system_error = 0;

}  // namespace

sharedmem_error finish_call(sharedmem_error result) noexcept {
  const int code = platform::take_os_error();
  if (result != SHAREDMEM_OK) t_last_system_error = code;
  return result;
}

int last_system_error() noexcept { return t_last_system_error; }

}  // namespace sharedmem::detail

// Both are generated from the one table, SHAREDMEM_ERRORS in sharedmem.h.
extern "C" const char* SHAREDMEM_CALL sharedmem_strerror(sharedmem_error error) {
  switch (error) {
    case SHAREDMEM_OK:
      return "success";
#define SHAREDMEM_MESSAGE_CASE_(name, value, message) \
  case SHAREDMEM_E_##name:                            \
    return message;
    SHAREDMEM_ERRORS(SHAREDMEM_MESSAGE_CASE_)
#undef SHAREDMEM_MESSAGE_CASE_
    case SHAREDMEM_E_RESERVED_MAX:
      break;
  }
  return "unknown sharedmem error code";
}

extern "C" const char* SHAREDMEM_CALL sharedmem_error_name(sharedmem_error error) {
  switch (error) {
    case SHAREDMEM_OK:
      return "OK";
#define SHAREDMEM_NAME_CASE_(name, value, message) \
  case SHAREDMEM_E_##name:                         \
    return #name;
    SHAREDMEM_ERRORS(SHAREDMEM_NAME_CASE_)
#undef SHAREDMEM_NAME_CASE_
    case SHAREDMEM_E_RESERVED_MAX:
      break;
  }
  return "UNKNOWN";
}

extern "C" const char* SHAREDMEM_CALL sharedmem_backend(void) {
  return sharedmem::platform::backend_name();
}

extern "C" unsigned SHAREDMEM_CALL sharedmem_library_version(void) {
  return SHAREDMEM_VERSION_HEX;
}

extern "C" const char* SHAREDMEM_CALL sharedmem_library_version_string(void) {
  return SHAREDMEM_VERSION_STRING;
}
