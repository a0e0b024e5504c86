// SPDX-License-Identifier: MIT
// Header-only C++17 layer over the C API in sharedmem.h: an RAII segment,
// std::error_code integration, and exceptions or error codes as the caller
// prefers. No C++ type crosses the library boundary.
#ifndef SHAREDMEM_SHAREDMEM_HPP
#define SHAREDMEM_SHAREDMEM_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
#if __cplusplus >= 202002L || (defined(_MSVC_LANG) && _MSVC_LANG >= 202002L)
#include <span>
#endif

#include "sharedmem/sharedmem.h"

namespace sharedmem {

namespace detail {
// How many codes the error table (SHAREDMEM_ERRORS) has: they run from 1.
#define SHAREDMEM_COUNT_ROW_(name, value, message) +1
inline constexpr int kErrorCodes = 0 SHAREDMEM_ERRORS(SHAREDMEM_COUNT_ROW_);
#undef SHAREDMEM_COUNT_ROW_
}  // namespace detail

// sharedmem's error codes for std::error_code: one per row of the C table
// SHAREDMEM_ERRORS, named as the C code in lower case without its prefix
// (errc::timeout is SHAREDMEM_E_TIMEOUT). Messages come from the library.
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
  exists = SHAREDMEM_E_EXISTS,
  not_found = SHAREDMEM_E_NOT_FOUND,
  conflict = SHAREDMEM_E_CONFLICT,
  // **A success, not a failure**: the raw lock WAS acquired (its previous
  // holder died holding it). raw_segment's lock() and try_lock*() do not
  // throw it; the error_code form of lock() returns it with the lock held.
  owner_died = SHAREDMEM_E_OWNER_DIED,
  would_deadlock = SHAREDMEM_E_WOULD_DEADLOCK,
  corrupted = SHAREDMEM_E_CORRUPTED,
  not_held = SHAREDMEM_E_NOT_HELD,
  wrong_kind = SHAREDMEM_E_WRONG_KIND,
  removed = SHAREDMEM_E_REMOVED,
  read_only = SHAREDMEM_E_READ_ONLY,
  unknown_principal = SHAREDMEM_E_UNKNOWN_PRINCIPAL,
};
// A code added to the table needs its errc here (in table order): until
// then this fails to compile.
static_assert(static_cast<int>(errc::unknown_principal) == detail::kErrorCodes,
              "sharedmem::errc must name every code of SHAREDMEM_ERRORS, the last one last");

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

// An in-place write of a segment's next value (sharedmem_write_begin), made
// by segment::write_in_place: fill data()[0, size()), then commit() publishes
// it atomically. Destroyed or assigned over while still open, it aborts: the
// value stays as it was. While open it holds the segment's writer lock, on
// the thread that made it: keep it short, end it on that thread, and do not
// write the segment otherwise from that thread meanwhile (errc::would_deadlock).
// Movable, not copyable; the segment must outlive it.
class in_place_writer {
 public:
  in_place_writer() noexcept = default;
  in_place_writer(in_place_writer&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  in_place_writer& operator=(in_place_writer&& other) noexcept {
    if (this != &other) {
      abort();
      handle_ = std::exchange(other.handle_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  in_place_writer(const in_place_writer&) = delete;
  in_place_writer& operator=(const in_place_writer&) = delete;
  ~in_place_writer() { abort(); }

  // True while the write is open (not yet committed or aborted).
  explicit operator bool() const noexcept { return handle_ != nullptr; }
  // The value's bytes to fill (unspecified until written); null once ended.
  std::byte* data() const noexcept { return static_cast<std::byte*>(data_); }
  std::size_t size() const noexcept { return size_; }

  // Publishes the bytes as the new value and returns the new version. The
  // write is over afterwards, even if the commit failed. Throws
  // sharedmem::error (errc::not_held if it is not open).
  std::uint64_t commit() {
    std::uint64_t version = 0;
    const sharedmem_error e = commit_impl(&version);
    if (e != SHAREDMEM_OK)
      throw error(e, "sharedmem: commit of an in-place write", sharedmem_last_system_error());
    return version;
  }
  // Non-throwing form; *new_version (may be null) gets the version after it.
  std::error_code commit(std::uint64_t* new_version, std::error_code& ec) noexcept {
    return ec = to_error_code(commit_impl(new_version));
  }
  // Gives the write up: the value stays as it was. Does nothing once ended.
  void abort() noexcept {
    if (handle_ != nullptr) sharedmem_write_abort(handle_);
    end();
  }

 private:
  friend class segment;
  in_place_writer(sharedmem_segment* handle, void* data, std::size_t size) noexcept
      : handle_(handle), data_(data), size_(size) {}
  sharedmem_error commit_impl(std::uint64_t* new_version) noexcept {
    if (handle_ == nullptr) return SHAREDMEM_E_NOT_HELD;
    const sharedmem_error e = sharedmem_write_commit(handle_, new_version);
    end();
    return e;
  }
  void end() noexcept {
    handle_ = nullptr;
    data_ = nullptr;
    size_ = 0;
  }
  sharedmem_segment* handle_ = nullptr;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// Segment options for segment::open.
enum class scope : std::uint32_t { local = 0, global = SHAREDMEM_SCOPE_GLOBAL };

// Open modes for segment::open (see SHAREDMEM_CREATE_ONLY, SHAREDMEM_OPEN_ONLY).
enum class mode : std::uint32_t {
  open_or_create = 0,
  create_only = SHAREDMEM_CREATE_ONLY,  // errc::exists if a live process holds it
  open_only = SHAREDMEM_OPEN_ONLY,      // errc::not_found if none does; capacity 0: any
};

// Read-only openers (SHAREDMEM_READ_ONLY): pass sharedmem::read_only to
// segment::open, raw_segment::open or open_shared. The mapping is read-only
// in the OS; reads, versions and waits work, writes, lock() and notify()
// fail with errc::read_only. A read-only open never creates: it is
// mode::open_only (errc::not_found unless a live process holds the segment;
// capacity 0 accepts any), and combining it with mode::create_only is
// errc::invalid_argument.
enum class access_mode : std::uint32_t {
  read_write = 0,
  read_only = SHAREDMEM_READ_ONLY,
};
inline constexpr access_mode read_only = access_mode::read_only;

// Who may open a shared segment (segment::open_shared; the C struct
// sharedmem_access). Principals are text: "user:NAME", "group:NAME",
// "uid:N", "gid:N" on Linux; "user:NAME", "group:NAME" (DOMAIN\name
// allowed) and "sid:S-1-..." on Windows. The current user always has
// read-write access; `creators` are who else may have created it.
struct access {
  std::vector<std::string> read_write;
  std::vector<std::string> read_only;
  std::vector<std::string> creators;
  bool low_integrity = false;  // SHAREDMEM_ACCESS_LOW_INTEGRITY (Windows)

  // The C form. It points into the access it was made from, which must
  // outlive it unchanged.
  class native {
   public:
    explicit native(const access& from)
        : read_write_(pointers(from.read_write)),
          read_only_(pointers(from.read_only)),
          creators_(pointers(from.creators)),
          flags_(from.low_integrity ? SHAREDMEM_ACCESS_LOW_INTEGRITY : 0u) {}
    // Valid while this object lives.
    sharedmem_access get() const noexcept {
      sharedmem_access c = SHAREDMEM_ACCESS_INIT;
      c.flags = flags_;
      c.read_write = read_write_.data();
      c.read_only = read_only_.data();
      c.creators = creators_.data();
      return c;
    }

   private:
    // A NULL-terminated list of the strings' characters.
    static std::vector<const char*> pointers(const std::vector<std::string>& list) {
      std::vector<const char*> out;
      out.reserve(list.size() + 1);
      for (const std::string& principal : list) out.push_back(principal.c_str());
      out.push_back(nullptr);
      return out;
    }
    std::vector<const char*> read_write_;
    std::vector<const char*> read_only_;
    std::vector<const char*> creators_;
    std::uint32_t flags_;
  };
  native to_native() const { return native(*this); }
};

namespace detail {

// The options segment::open_shared (and the read-only opens) take, in any
// order: each is flag bits of sharedmem_open.
template <typename T>
struct is_open_option
    : std::bool_constant<std::is_same_v<T, mode> || std::is_same_v<T, scope> ||
                         std::is_same_v<T, access_mode>> {};
template <typename... Options>
inline constexpr bool are_open_options = (is_open_option<Options>::value && ...);
template <typename... Options>
inline constexpr bool has_access_mode = (std::is_same_v<Options, access_mode> || ...);
template <typename... Options>
constexpr std::uint32_t flags_of(Options... options) noexcept {
  return (0u | ... | static_cast<std::uint32_t>(options));
}

// "<what>", with ": <sharedmem_last_error_detail()>" when the last failed
// open of this thread left one (who was refused, which principal).
inline std::string with_detail(std::string what) {
  const char* detail = sharedmem_last_error_detail();
  if (detail != nullptr && *detail != '\0') what += std::string(": ") + detail;
  return what;
}

// sharedmem_open (sharedmem_open_shared when `shared` is not null) for a
// name given as a string_view: *out gets the handle, `ec` the error, and
// `system_error` the OS error behind a failure of the open (0 for failures
// found before calling it).
inline void open_handle(std::string_view name, std::uint64_t capacity, std::uint32_t flags,
                        sharedmem_segment** out, std::error_code& ec, int& system_error,
                        const access* shared = nullptr) noexcept {
  std::string owned;
  try {
    owned.assign(name.data(), name.size());
  } catch (...) {
    ec = to_error_code(SHAREDMEM_E_NO_MEMORY);
    return;
  }
  // A name with an embedded NUL would be silently cut by the C API.
  if (owned.find('\0') != std::string::npos) {
    ec = to_error_code(SHAREDMEM_E_INVALID_NAME);
    return;
  }
  sharedmem_error e = SHAREDMEM_OK;
  if (shared == nullptr) {
    e = sharedmem_open(owned.c_str(), capacity, flags, out);
  } else {
    try {
      const access::native lists(*shared);
      const sharedmem_access c = lists.get();
      e = sharedmem_open_shared(owned.c_str(), capacity, flags, &c, out);
    } catch (...) {
      ec = to_error_code(SHAREDMEM_E_NO_MEMORY);
      return;
    }
  }
  if (e != SHAREDMEM_OK) system_error = sharedmem_last_system_error();
  ec = to_error_code(e);
}

}  // namespace detail

// An open handle to a named segment; closing (destruction) gives up this
// handle's share of the segment's lifetime. Movable, not copyable. Not safe
// to destroy while another thread uses it; all other members are thread-safe.
class segment {
 public:
  segment() noexcept = default;

  // Opens or creates `name` with `capacity` bytes; throws sharedmem::error.
  static segment open(std::string_view name, std::uint64_t capacity,
                      scope where = scope::local) {
    return open(name, capacity, mode::open_or_create, where);
  }

  // Non-throwing form: on failure returns an empty segment and sets `ec`.
  static segment open(std::string_view name, std::uint64_t capacity, std::error_code& ec,
                      scope where = scope::local) noexcept {
    return open(name, capacity, mode::open_or_create, ec, where);
  }

  // Opens `name` in open mode `how`; throws sharedmem::error.
  static segment open(std::string_view name, std::uint64_t capacity, mode how,
                      scope where = scope::local) {
    std::error_code ec;
    int system_error = 0;
    segment s = open_impl(name, capacity, flags(how, where), ec, system_error);
    if (ec) {
      throw open_error(name, ec, system_error);
    }
    return s;
  }
  static segment open(std::string_view name, std::uint64_t capacity, mode how,
                      std::error_code& ec, scope where = scope::local) noexcept {
    int system_error = 0;
    return open_impl(name, capacity, flags(how, where), ec, system_error);
  }

  // Opens `name` with options (mode, scope, access_mode) in any order, one
  // of them sharedmem::read_only; throws sharedmem::error.
  //   auto frames = sharedmem::segment::open("frames", 0, sharedmem::read_only);
  template <typename... Options, typename = std::enable_if_t<detail::are_open_options<Options...> &&
                                                             detail::has_access_mode<Options...>>>
  static segment open(std::string_view name, std::uint64_t capacity, Options... options) {
    std::error_code ec;
    int system_error = 0;
    segment s = open_impl(name, capacity, detail::flags_of(options...), ec, system_error);
    if (ec) throw open_error(name, ec, system_error);
    return s;
  }
  // Non-throwing form: on failure returns an empty segment and sets `ec`.
  template <typename... Options, typename = std::enable_if_t<detail::are_open_options<Options...> &&
                                                             detail::has_access_mode<Options...>>>
  static segment open(std::string_view name, std::uint64_t capacity, std::error_code& ec,
                      Options... options) noexcept {
    int system_error = 0;
    return open_impl(name, capacity, detail::flags_of(options...), ec, system_error);
  }

  // Opens or creates the shared segment `name` (sharedmem_open_shared), in
  // the namespace apart from the private one, with exactly the access `who`;
  // options (mode, scope, access_mode) in any order. Throws sharedmem::error,
  // whose message says why an existing object was refused or which
  // principal is unknown.
  template <typename... Options,
            typename = std::enable_if_t<detail::are_open_options<Options...>>>
  static segment open_shared(std::string_view name, std::uint64_t capacity, const access& who,
                             Options... options) {
    std::error_code ec;
    int system_error = 0;
    segment s = open_impl(name, capacity, detail::flags_of(options...), ec, system_error, &who);
    if (ec) throw open_error(name, ec, system_error);
    return s;
  }
  // Non-throwing form: on failure returns an empty segment and sets `ec`.
  template <typename... Options,
            typename = std::enable_if_t<detail::are_open_options<Options...>>>
  static segment open_shared(std::string_view name, std::uint64_t capacity, const access& who,
                             std::error_code& ec, Options... options) noexcept {
    int system_error = 0;
    return open_impl(name, capacity, detail::flags_of(options...), ec, system_error, &who);
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
  // The version: 0 at creation, +1 per completed write.
  std::uint64_t version() const noexcept { return sharedmem_version(handle_); }
  // Whether the open that gave this handle created the segment.
  bool created() const noexcept { return sharedmem_created(handle_) != 0; }
  sharedmem_segment* native_handle() const noexcept { return handle_; }

  // Replaces the value atomically; throws sharedmem::error.
  void write(const void* data, std::size_t size) {
    check(sharedmem_write(handle_, data, size), "write");
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  std::error_code write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    return ec = to_error_code(sharedmem_write(handle_, data, size));
  }

  // Writes only if the version is still `expected`: true if written, false
  // on a conflict (nothing written). *new_version, if given, gets the
  // version after the call either way. Throws sharedmem::error otherwise.
  bool write_if(const void* data, std::size_t size, std::uint64_t expected,
                std::uint64_t* new_version = nullptr) {
    const sharedmem_error e = sharedmem_write_if(handle_, data, size, expected, new_version);
    if (e == SHAREDMEM_E_CONFLICT) return false;
    check(e, "write_if");
    return true;
  }
  bool write_if(std::string_view bytes, std::uint64_t expected,
                std::uint64_t* new_version = nullptr) {
    return write_if(bytes.data(), bytes.size(), expected, new_version);
  }
  // Non-throwing form: a conflict is errc::conflict.
  std::error_code write_if(const void* data, std::size_t size, std::uint64_t expected,
                           std::uint64_t* new_version, std::error_code& ec) noexcept {
    return ec = to_error_code(sharedmem_write_if(handle_, data, size, expected, new_version));
  }

  // Begins an in-place write of a `size`-byte value (see in_place_writer):
  // waits for other writers like write(). Throws sharedmem::error.
  in_place_writer write_in_place(std::size_t size) {
    std::error_code ec;
    in_place_writer writer = write_in_place(size, ec);
    if (ec) throw error(static_cast<sharedmem_error>(ec.value()), "sharedmem: write_in_place",
                        sharedmem_last_system_error());
    return writer;
  }
  // Non-throwing form: on failure returns a writer that is not open.
  in_place_writer write_in_place(std::size_t size, std::error_code& ec) noexcept {
    void* data = nullptr;
    ec = to_error_code(sharedmem_write_begin(handle_, size, &data));
    if (ec) return {};
    return in_place_writer(handle_, data, size);
  }

  // Copies up to `size` bytes of a consistent snapshot into `buffer`, which
  // is all it touches (no allocation), and returns the value's full size
  // (larger than `size` when truncated).
  std::uint64_t read(void* buffer, std::size_t size) const {
    std::uint64_t value_size = 0;
    check(sharedmem_read(handle_, buffer, size, &value_size), "read");
    return value_size;
  }
  // The same, and `version` gets the version of that snapshot.
  std::uint64_t read_versioned(void* buffer, std::size_t size, std::uint64_t& version) const {
    std::uint64_t value_size = 0;
    check(sharedmem_read_versioned(handle_, buffer, size, &value_size, &version),
          "read_versioned");
    return value_size;
  }

  // Returns a consistent snapshot of the whole value, in a string sized by
  // the value (not the capacity): a value larger than a first small read is
  // read again at its size.
  std::string read() const {
    std::uint64_t version = 0;
    return read(version);
  }
  // The same, and `version` gets the version of that snapshot.
  std::string read(std::uint64_t& version) const {
    std::string value(kFirstRead, '\0');
    for (;;) {
      const std::uint64_t size = read_versioned(value.data(), value.size(), version);
      const bool whole = size <= value.size();
      value.resize(static_cast<std::size_t>(size));
      if (whole) return value;
      // Truncated: again with room for it (a value that grew meanwhile loops).
    }
  }

  // Waits until the version differs from `seen` (a write completed in any
  // process) and returns the version found; returns at once if it differs
  // already. Read (read_versioned, read(version)), then wait with the version
  // read: no write can slip between. Throws sharedmem::error.
  std::uint64_t wait(std::uint64_t seen) const {
    std::uint64_t version = seen;
    check(sharedmem_wait(handle_, seen, SHAREDMEM_WAIT_FOREVER, &version), "wait");
    return version;
  }
  // The same with a timeout: std::nullopt when `timeout` passes with the
  // version still `seen`. A timeout of 2^32 - 1 ms (about 49.7 days) or more
  // is that bound, not "forever"; zero or negative only looks.
  std::optional<std::uint64_t> wait(std::uint64_t seen, std::chrono::milliseconds timeout) const {
    std::uint64_t version = seen;
    const sharedmem_error e = sharedmem_wait(handle_, seen, timeout_ms(timeout), &version);
    if (e == SHAREDMEM_E_TIMEOUT) return std::nullopt;
    check(e, "wait");
    return version;
  }
  // Non-throwing form: errc::timeout when `timeout` passes; `version` gets
  // the version found (the unchanged one on a timeout).
  std::error_code wait(std::uint64_t seen, std::chrono::milliseconds timeout,
                       std::uint64_t& version, std::error_code& ec) const noexcept {
    return ec = to_error_code(sharedmem_wait(handle_, seen, timeout_ms(timeout), &version));
  }
  // Waits for the next write after the version now and returns its version.
  // A write that completed before this call is not waited for: in a loop,
  // prefer wait(seen) with the version of what you last read.
  std::uint64_t wait() const { return wait(version()); }

#if __cplusplus >= 202002L || (defined(_MSVC_LANG) && _MSVC_LANG >= 202002L)
  // C++20: the buffer forms over a span (no allocation).
  void write(std::span<const std::byte> bytes) { write(bytes.data(), bytes.size()); }
  std::uint64_t read(std::span<std::byte> buffer) const {
    return read(buffer.data(), buffer.size());
  }
  std::uint64_t read_versioned(std::span<std::byte> buffer, std::uint64_t& version) const {
    return read_versioned(buffer.data(), buffer.size(), version);
  }
#endif

  // Stores `value`'s bytes. errc::value_too_large if sizeof(T) exceeds the
  // capacity. Throws sharedmem::error.
  template <typename T>
  void write_value(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>, "write_value needs a trivially copyable T");
    write(&value, sizeof(T));
  }
  // Reads a T that write_value<T> stored; `version`, if given, gets its
  // version. errc::value_too_large if sizeof(T) exceeds the capacity, and
  // errc::size_mismatch if the stored value is not sizeof(T) bytes (another
  // type, or nothing written yet). Throws sharedmem::error.
  template <typename T>
  T read_value(std::uint64_t* version = nullptr) const {
    static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>,
                  "read_value needs a trivially copyable, default-constructible T");
    if (handle_ != nullptr && sizeof(T) > capacity())
      throw error(SHAREDMEM_E_VALUE_TOO_LARGE,
                  "sharedmem: read_value: the type is larger than the segment", 0);
    unsigned char bytes[sizeof(T)];
    std::uint64_t snapshot = 0;
    const std::uint64_t size = read_versioned(bytes, sizeof bytes, snapshot);
    if (size != sizeof(T))
      throw error(SHAREDMEM_E_SIZE_MISMATCH,
                  "sharedmem: read_value: the stored value is " + std::to_string(size) +
                      " bytes, not " + std::to_string(sizeof(T)),
                  0);
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    if (version) *version = snapshot;
    return value;
  }

 private:
  // The room of read()'s first attempt.
  static constexpr std::size_t kFirstRead = 256;

  static std::uint32_t timeout_ms(std::chrono::milliseconds timeout) noexcept {
    if (timeout.count() <= 0) return 0;
    constexpr auto kLongest =
        static_cast<std::chrono::milliseconds::rep>(SHAREDMEM_WAIT_FOREVER - 1);
    return timeout.count() >= kLongest ? SHAREDMEM_WAIT_FOREVER - 1
                                       : static_cast<std::uint32_t>(timeout.count());
  }

  static std::uint32_t flags(mode how, scope where) noexcept {
    return static_cast<std::uint32_t>(how) | static_cast<std::uint32_t>(where);
  }

  static void check(sharedmem_error e, const char* what) {
    if (e != SHAREDMEM_OK)
      throw error(e, std::string("sharedmem: ") + what, sharedmem_last_system_error());
  }

  // sharedmem_open; `system_error` gets the OS error behind a failure of it
  // (0 for failures found before calling it).
  static segment open_impl(std::string_view name, std::uint64_t capacity, std::uint32_t open_flags,
                           std::error_code& ec, int& system_error,
                           const access* shared = nullptr) noexcept {
    segment s;
    detail::open_handle(name, capacity, open_flags, &s.handle_, ec, system_error, shared);
    return s;
  }

  // The exception for a failed open, right after it (it reads the detail).
  static error open_error(std::string_view name, const std::error_code& ec, int system_error) {
    std::string what = "sharedmem: cannot open segment '" + std::string(name) + "'";
    if (ec.value() == SHAREDMEM_E_WRONG_KIND)
      what += ": it is a raw segment (open it with sharedmem::raw_segment)";
    return error(static_cast<sharedmem_error>(ec.value()), detail::with_detail(what),
                 system_error);
  }
  sharedmem_segment* handle_ = nullptr;
};

// Inspection: what stands under `name`, seen from outside (sharedmem_inspect;
// never joins its lifetime). nullopt when nothing has the name; throws
// sharedmem::error on other failures (a bad name, an OS error).
inline std::optional<sharedmem_info> inspect(std::string_view name, scope where = scope::local) {
  const std::string owned(name);
  if (owned.find('\0') != std::string::npos)
    throw error(SHAREDMEM_E_INVALID_NAME, "sharedmem: cannot inspect '" + owned + "'", 0);
  sharedmem_info info = SHAREDMEM_INFO_INIT;
  const sharedmem_error e =
      sharedmem_inspect(owned.c_str(), static_cast<std::uint32_t>(where), &info);
  if (e == SHAREDMEM_E_NOT_FOUND) return std::nullopt;
  if (e != SHAREDMEM_OK)
    throw error(e, "sharedmem: cannot inspect '" + owned + "'", sharedmem_last_system_error());
  return info;
}

namespace detail {

// A copy of the library's `info` with only what both this header and the
// library know: min(both sizes) bytes, the rest zero, and that size as its
// struct_size.
inline sharedmem_info copy_known(const sharedmem_info& info) noexcept {
  sharedmem_info copy = SHAREDMEM_INFO_INIT;
  const std::size_t known = info.struct_size < sizeof copy ? info.struct_size : sizeof copy;
  std::memcpy(&copy, &info, known);
  copy.struct_size = static_cast<std::uint32_t>(known);
  return copy;
}

}  // namespace detail

// Every object of the naming scheme in `where` (sharedmem_list), in no
// particular order; throws sharedmem::error if the namespace cannot be read.
inline std::vector<sharedmem_info> list(scope where = scope::local) {
  std::vector<sharedmem_info> all;
  // No exception may cross the C library: the callback catches its own and
  // stops the listing, and it is thrown again here.
  struct Collect {
    std::vector<sharedmem_info>* all;
    std::exception_ptr failure;
  } collect{&all, nullptr};
  const sharedmem_error e = sharedmem_list(
      static_cast<std::uint32_t>(where),
      [](const sharedmem_info* info, void* context) noexcept -> int {
        auto* c = static_cast<Collect*>(context);
        try {
          c->all->push_back(detail::copy_known(*info));
          return 0;
        } catch (...) {
          c->failure = std::current_exception();
          return 1;
        }
      },
      &collect);
  if (collect.failure) std::rethrow_exception(collect.failure);
  if (e != SHAREDMEM_OK)
    throw error(e, "sharedmem: cannot list segments", sharedmem_last_system_error());
  return all;
}

// An open handle to a raw segment (SHAREDMEM_RAW): a zero-filled buffer of
// size() bytes shared in place, with one robust cross-process lock and
// change notification. RAII like segment (destruction closes the handle,
// releasing the lock if the destroying thread holds it). Movable while
// nobody uses it, not copyable.
//
// The segment itself is the lock's Lockable (and TimedLockable), so the
// standard guards hold it:
//   std::scoped_lock lock(frames);            // waits as long as it takes
//   std::unique_lock lock(frames, 50ms);      // try_lock_for; lock.owns_lock()
//   if (frames.owner_died()) rebuild(frames.data());
// A lock acquired from a holder that died (or whose thread ended) holding
// it is held all the same: lock() does not throw then, so no guard leaks
// the lock; owner_died() tells the thread that got it (until its next
// acquisition), and the error_code form of lock() returns errc::owner_died.
// lock() throws sharedmem::error for the rest (errc::would_deadlock when
// this thread holds it already, errc::corrupted, ...).
class raw_segment {
 public:
  raw_segment() noexcept = default;

  // Opens or creates the raw segment `name` of `size` bytes (mode::open_only
  // with size 0: whatever size it has); throws sharedmem::error, whose
  // message says when the name lives as a value segment.
  static raw_segment open(std::string_view name, std::uint64_t size,
                          mode how = mode::open_or_create, scope where = scope::local) {
    std::error_code ec;
    int system_error = 0;
    raw_segment s = open_impl(name, size, flags_of(how, where), ec, system_error);
    if (ec) throw open_error(name, ec, system_error);
    return s;
  }
  // Non-throwing form: on failure returns an empty raw_segment and sets `ec`.
  static raw_segment open(std::string_view name, std::uint64_t size, std::error_code& ec,
                          mode how = mode::open_or_create, scope where = scope::local) noexcept {
    int system_error = 0;
    return open_impl(name, size, flags_of(how, where), ec, system_error);
  }

  // Opens `name` with options (mode, scope, access_mode) in any order, one
  // of them sharedmem::read_only: data() is then readable only (a write
  // through it faults), lock() and notify() fail with errc::read_only.
  template <typename... Options, typename = std::enable_if_t<detail::are_open_options<Options...> &&
                                                             detail::has_access_mode<Options...>>>
  static raw_segment open(std::string_view name, std::uint64_t size, Options... options) {
    std::error_code ec;
    int system_error = 0;
    raw_segment s = open_impl(name, size, detail::flags_of(options...), ec, system_error);
    if (ec) throw open_error(name, ec, system_error);
    return s;
  }
  template <typename... Options, typename = std::enable_if_t<detail::are_open_options<Options...> &&
                                                             detail::has_access_mode<Options...>>>
  static raw_segment open(std::string_view name, std::uint64_t size, std::error_code& ec,
                          Options... options) noexcept {
    int system_error = 0;
    return open_impl(name, size, detail::flags_of(options...), ec, system_error);
  }

  // The raw form of segment::open_shared.
  template <typename... Options,
            typename = std::enable_if_t<detail::are_open_options<Options...>>>
  static raw_segment open_shared(std::string_view name, std::uint64_t size, const access& who,
                                 Options... options) {
    std::error_code ec;
    int system_error = 0;
    raw_segment s = open_impl(name, size, detail::flags_of(options...), ec, system_error, &who);
    if (ec) throw open_error(name, ec, system_error);
    return s;
  }
  template <typename... Options,
            typename = std::enable_if_t<detail::are_open_options<Options...>>>
  static raw_segment open_shared(std::string_view name, std::uint64_t size, const access& who,
                                 std::error_code& ec, Options... options) noexcept {
    int system_error = 0;
    return open_impl(name, size, detail::flags_of(options...), ec, system_error, &who);
  }

  raw_segment(raw_segment&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)),
        owner_died_(other.owner_died_.load(std::memory_order_relaxed)) {}
  raw_segment& operator=(raw_segment&& other) noexcept {
    if (this != &other) {
      sharedmem_close(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
      owner_died_.store(other.owner_died_.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
    }
    return *this;
  }
  raw_segment(const raw_segment&) = delete;
  raw_segment& operator=(const raw_segment&) = delete;
  ~raw_segment() { sharedmem_close(handle_); }

  explicit operator bool() const noexcept { return handle_ != nullptr; }
  // The buffer (page-aligned) and its size in bytes; null and 0 when empty.
  std::byte* data() const noexcept { return static_cast<std::byte*>(sharedmem_data(handle_)); }
  std::uint64_t size() const noexcept { return sharedmem_capacity(handle_); }
  // The version: 0 at creation, +1 per notify().
  std::uint64_t version() const noexcept { return sharedmem_version(handle_); }
  bool created() const noexcept { return sharedmem_created(handle_) != 0; }
  sharedmem_segment* native_handle() const noexcept { return handle_; }

  // Lockable: waits until this thread holds the lock (see above).
  void lock() {
    const sharedmem_error e = acquire(SHAREDMEM_WAIT_FOREVER);
    if (e != SHAREDMEM_E_OWNER_DIED) check(e, "lock");
  }
  // The same without exceptions: errc::owner_died means acquired.
  std::error_code lock(std::error_code& ec) noexcept {
    return ec = to_error_code(acquire(SHAREDMEM_WAIT_FOREVER));
  }
  // TimedLockable: true when acquired (owner_died() may then be true),
  // false on a timeout; throws sharedmem::error for the rest.
  bool try_lock() { return try_lock_for(std::chrono::milliseconds(0)); }
  template <typename Rep, typename Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    const sharedmem_error e = acquire(milliseconds_of(timeout));
    if (e == SHAREDMEM_E_TIMEOUT) return false;
    if (e != SHAREDMEM_E_OWNER_DIED) check(e, "try_lock");
    return true;
  }
  template <typename Clock, typename Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return try_lock_for(deadline - Clock::now());
  }
  // Releases the lock this thread took through this handle; throws
  // errc::not_held if it holds none.
  void unlock() { check(sharedmem_unlock(handle_), "unlock"); }
  // Whether this handle's last acquisition found its previous holder dead
  // (the data may be half-updated). Meaningful to the thread holding the lock.
  bool owner_died() const noexcept { return owner_died_.load(std::memory_order_relaxed); }

  // Advances the version and wakes wait() callers everywhere; returns the
  // new version. Call it after changing the data (under the lock or not).
  std::uint64_t notify() {
    std::uint64_t version = 0;
    check(sharedmem_notify(handle_, &version), "notify");
    return version;
  }
  // Waits until the version differs from `seen`: true, and *version (if
  // given) gets the version found; false when `timeout` passed first.
  template <typename Rep, typename Period>
  bool wait(std::uint64_t seen, const std::chrono::duration<Rep, Period>& timeout,
            std::uint64_t* version = nullptr) const {
    std::uint64_t found = 0;
    const sharedmem_error e = sharedmem_wait(handle_, seen, milliseconds_of(timeout), &found);
    if (e == SHAREDMEM_E_TIMEOUT) return false;
    check(e, "wait");
    if (version) *version = found;
    return true;
  }
  // Waits as long as it takes; returns the new version.
  std::uint64_t wait(std::uint64_t seen) const {
    std::uint64_t found = 0;
    check(sharedmem_wait(handle_, seen, SHAREDMEM_WAIT_FOREVER, &found), "wait");
    return found;
  }

 private:
  static void check(sharedmem_error e, const char* what) {
    if (e != SHAREDMEM_OK)
      throw error(e, std::string("sharedmem: ") + what, sharedmem_last_system_error());
  }

  // A timeout in whole milliseconds for the C API, rounded up (never a wait
  // shorter than asked), negative as 0, and below SHAREDMEM_WAIT_FOREVER.
  template <typename Rep, typename Period>
  static std::uint32_t milliseconds_of(const std::chrono::duration<Rep, Period>& timeout) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    if (ms <= 0) return 0;
    constexpr auto kLongest = static_cast<long long>(SHAREDMEM_WAIT_FOREVER - 1);
    return static_cast<std::uint32_t>(static_cast<long long>(ms) < kLongest ? ms : kLongest);
  }

  sharedmem_error acquire(std::uint32_t timeout_ms) noexcept {
    const sharedmem_error e = sharedmem_lock(handle_, timeout_ms);
    if (e == SHAREDMEM_OK || e == SHAREDMEM_E_OWNER_DIED)
      owner_died_.store(e == SHAREDMEM_E_OWNER_DIED, std::memory_order_relaxed);
    return e;
  }

  static std::uint32_t flags_of(mode how, scope where) noexcept {
    return detail::flags_of(how, where);
  }

  static raw_segment open_impl(std::string_view name, std::uint64_t size, std::uint32_t flags,
                               std::error_code& ec, int& system_error,
                               const access* shared = nullptr) noexcept {
    raw_segment s;
    detail::open_handle(name, size, SHAREDMEM_RAW | flags, &s.handle_, ec, system_error, shared);
    return s;
  }

  static error open_error(std::string_view name, const std::error_code& ec, int system_error) {
    std::string what = "sharedmem: cannot open raw segment '" + std::string(name) + "'";
    if (ec.value() == SHAREDMEM_E_WRONG_KIND)
      what += ": it is a value segment (open it with sharedmem::segment)";
    return error(static_cast<sharedmem_error>(ec.value()), detail::with_detail(what),
                 system_error);
  }

  sharedmem_segment* handle_ = nullptr;
  std::atomic<bool> owner_died_{false};
};

}  // namespace sharedmem

namespace std {
template <>
struct is_error_code_enum<sharedmem::errc> : true_type {};
}  // namespace std

#endif  // SHAREDMEM_SHAREDMEM_HPP
