// SPDX-License-Identifier: MIT
// Header-only C++17 layer over the C API in sharedmem.h: an RAII segment,
// std::error_code integration, and exceptions or error codes as the caller
// prefers. No C++ type crosses the library boundary.
#ifndef SHAREDMEM_SHAREDMEM_HPP
#define SHAREDMEM_SHAREDMEM_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "sharedmem/sharedmem.h"

namespace sharedmem {

enum class errc {
  invalid_argument = SHAREDMEM_E_INVALID_ARGUMENT,
  invalid_name = SHAREDMEM_E_INVALID_NAME,
  invalid_size = SHAREDMEM_E_INVALID_SIZE,
  value_too_large = SHAREDMEM_E_VALUE_TOO_LARGE,
  size_mismatch = SHAREDMEM_E_SIZE_MISMATCH,
  incompatible = SHAREDMEM_E_INCOMPATIBLE,
  not_owner = SHAREDMEM_E_NOT_OWNER,
  access_denied = SHAREDMEM_E_ACCESS_DENIED,
  no_memory = SHAREDMEM_E_NO_MEMORY,
  timeout = SHAREDMEM_E_TIMEOUT,
  unsupported = SHAREDMEM_E_UNSUPPORTED,
  system = SHAREDMEM_E_SYSTEM,
  not_attached = SHAREDMEM_E_NOT_ATTACHED,
};

// The category of sharedmem's error codes; messages come from sharedmem_strerror.
inline const std::error_category& category() noexcept {
  struct category_impl final : std::error_category {
    const char* name() const noexcept override { return "sharedmem"; }
    std::string message(int value) const override {
      return sharedmem_strerror(static_cast<sharedmem_error>(value));
    }
  };
  static const category_impl instance;
  return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

inline std::error_code to_error_code(sharedmem_error e) noexcept {
  return {static_cast<int>(e), category()};
}

// Thrown by the throwing overloads; code() tells which error, and
// system_error() the OS error code behind it (errno, GetLastError; 0 if none),
// which what() then names too.
class error : public std::system_error {
 public:
  // `system_error`: sharedmem_last_system_error() right after the failed call.
  error(sharedmem_error e, const std::string& what, int system_error)
      : std::system_error(to_error_code(e), with_system_error(what, system_error)),
        system_error_(system_error) {}
  int system_error() const noexcept { return system_error_; }

 private:
  static std::string with_system_error(const std::string& what, int system_error) {
    if (system_error == 0) return what;
    return what + " (system error " + std::to_string(system_error) + ")";
  }
  int system_error_ = 0;
};

// Segment options for segment::open.
enum class scope : std::uint32_t { local = 0, global = SHAREDMEM_SCOPE_GLOBAL };

// An open handle to a named segment; closing (destruction) gives up this
// handle's share of the segment's lifetime. Movable, not copyable. Not safe
// to destroy while another thread uses it; all other members are thread-safe.
class segment {
 public:
  segment() noexcept = default;

  // Opens or creates `name` with `capacity` bytes; throws sharedmem::error.
  static segment open(std::string_view name, std::uint64_t capacity,
                      scope where = scope::local) {
    std::error_code ec;
    int system_error = 0;
    segment s = open_impl(name, capacity, static_cast<std::uint32_t>(where), ec, system_error);
    if (ec) throw error(static_cast<sharedmem_error>(ec.value()),
                        "sharedmem: cannot open segment '" + std::string(name) + "'",
                        system_error);
    return s;
  }

  // Non-throwing form: on failure returns an empty segment and sets `ec`.
  static segment open(std::string_view name, std::uint64_t capacity, std::error_code& ec,
                      scope where = scope::local) noexcept {
    int system_error = 0;
    return open_impl(name, capacity, static_cast<std::uint32_t>(where), ec, system_error);
  }

  segment(segment&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  segment& operator=(segment&& other) noexcept {
    if (this != &other) {
      sharedmem_close(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment() { sharedmem_close(handle_); }

  explicit operator bool() const noexcept { return handle_ != nullptr; }
  std::uint64_t capacity() const noexcept { return sharedmem_capacity(handle_); }
  sharedmem_segment* native_handle() const noexcept { return handle_; }

  // Replaces the value atomically; throws sharedmem::error.
  void write(const void* data, std::size_t size) {
    check(sharedmem_write(handle_, data, size), "write");
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  std::error_code write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    return ec = to_error_code(sharedmem_write(handle_, data, size));
  }

  // Copies up to `size` bytes of a consistent snapshot into `buffer` and
  // returns the value's full size (larger than `size` when truncated).
  std::uint64_t read(void* buffer, std::size_t size) const {
    std::uint64_t value_size = 0;
    check(sharedmem_read(handle_, buffer, size, &value_size), "read");
    return value_size;
  }

  // Returns a consistent snapshot of the whole value.
  std::string read() const {
    std::string value(static_cast<std::size_t>(capacity()), '\0');
    value.resize(static_cast<std::size_t>(read(value.data(), value.size())));
    return value;
  }

 private:
  static void check(sharedmem_error e, const char* what) {
    if (e != SHAREDMEM_OK)
      throw error(e, std::string("sharedmem: ") + what, sharedmem_last_system_error());
  }

  // sharedmem_open; `system_error` gets the OS error behind a failure of it
  // (0 for failures found before calling it).
  static segment open_impl(std::string_view name, std::uint64_t capacity, std::uint32_t flags,
                           std::error_code& ec, int& system_error) noexcept {
    segment s;
    std::string owned;
    try {
      owned.assign(name.data(), name.size());
    } catch (...) {
      ec = to_error_code(SHAREDMEM_E_NO_MEMORY);
      return s;
    }
    // A name with an embedded NUL would be silently cut by the C API.
    if (owned.find('\0') != std::string::npos) {
      ec = to_error_code(SHAREDMEM_E_INVALID_NAME);
      return s;
    }
    const sharedmem_error e = sharedmem_open(owned.c_str(), capacity, flags, &s.handle_);
    if (e != SHAREDMEM_OK) system_error = sharedmem_last_system_error();
    ec = to_error_code(e);
    return s;
  }
  sharedmem_segment* handle_ = nullptr;
};

}  // namespace sharedmem

namespace std {
template <>
struct is_error_code_enum<sharedmem::errc> : true_type {};
}  // namespace std

#endif  // SHAREDMEM_SHAREDMEM_HPP
