// SPDX-License-Identifier: MIT
// Error messages and backend identification for the public C API.
#include "platform.hpp"
#include "sharedmem/sharedmem.h"

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
