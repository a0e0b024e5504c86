// SPDX-License-Identifier: MIT
// The sharedmem command: list, inspect, read, write, watch and hold named
// segments from a shell. Built on the public C API only (sharedmem.h),
// arguments parsed by CLI11; help, man page and completions are rendered
// from the same definitions (help.hpp).
//
// Errors go to stderr as one line, "sharedmem: <command> '<name>':
// <message>"; exit statuses are listed by `sharedmem help exit-status`.
// Durations are seconds, as decimal numbers.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "exit_status.hpp"
#include "help.hpp"
#include "json.hpp"
#include "process_control.hpp"
#include "sharedmem/sharedmem.h"
#include "text.hpp"

namespace sharedmem_cli {
namespace {

// The Set/Get library's default segment, whose value is a wide string.
constexpr const char* kClassicDefaultSegment = "dllmemfilemap";

// Everything a subcommand may be given. Numbers the user types are kept as
// text and checked by the subcommand, so that a bad one gets a sentence
// naming the option and its range, not a parser's message.
struct Options {
  std::string command;
  std::string name;
  bool json = false;
  bool all = false;
  bool global = false;
  bool wide = false;
  bool bytes = false;
  std::string value;
  std::optional<std::string> initial_value;
  std::optional<std::string> capacity;
  bool raw = false;
  bool until_stdin_closes = false;
  std::optional<std::string> count;
  std::optional<std::string> timeout;
  std::string topic;
  bool man = false;
  std::string shell;
};

std::uint32_t scope_flags(const Options& o) { return o.global ? SHAREDMEM_SCOPE_GLOBAL : 0u; }

// One line on stderr: "sharedmem: <command> '<name>': <message>", the
// command and name left out where there are none.
void complain(const std::string& command, const std::string& name, const std::string& message) {
  std::string line = "sharedmem: ";
  if (!command.empty()) line += command + (name.empty() ? "" : " '" + name + "'") + ": ";
  std::fprintf(stderr, "%s%s\n", line.c_str(), message.c_str());
}

// A usage error: one line pointing at the command's help; status 2.
int usage_error(const std::string& command, const std::string& message) {
  complain(command, "", message + " (see 'sharedmem help" +
                            (command.empty() ? std::string() : " " + command) + "')");
  return kUsage;
}

// Reports a failed library call (its message, and the OS error behind it if
// any) and returns the exit status it means.
int fail(const Options& o, sharedmem_error e, const std::string& message = "") {
  std::string text = message.empty() ? sharedmem_strerror(e) : message;
  if (const int system = sharedmem_last_system_error(); system != 0)
    text += " (system error " + std::to_string(system) + ")";
  complain(o.command, o.name, text);
  return exit_status(e);
}

// Whether values of segment `name` are wide strings unless --bytes says
// otherwise: the classic default segment, and the one that
// SHAREDMEM_DEFAULT_SEGMENT names for the Set/Get library.
bool wide_by_default(const std::string& name) {
  if (name == kClassicDefaultSegment) return true;
  const char* configured = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  return configured != nullptr && name == configured;
}
bool wide_values(const Options& o) { return o.wide || (!o.bytes && wide_by_default(o.name)); }

// "4096", "64K", "64KiB", "1M", "2G", "1T": bytes, with binary multiples.
std::optional<std::uint64_t> parse_capacity(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  std::uint64_t number = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (unit.size() > 1 && (unit.substr(1) == "iB" || unit.substr(1) == "B")) unit.resize(1);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else return std::nullopt;
  if (shift != 0 && number > (UINT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

// --count: a whole number, at least 1.
std::optional<std::uint64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const std::uint64_t n = std::stoull(text);
  if (n == 0) return std::nullopt;
  return n;
}

// --timeout: decimal seconds, at least 0 ("0.5", "2", "1e3").
std::optional<double> parse_seconds(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789.eE+") != std::string::npos)
    return std::nullopt;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds < 0)
    return std::nullopt;
  return seconds;
}

// The deadline of a timeout in seconds (none: never).
using Clock = std::chrono::steady_clock;
std::optional<Clock::time_point> deadline_after(const std::optional<double>& seconds) {
  if (!seconds) return std::nullopt;
  const double ms = std::ceil(*seconds * 1000.0);
  if (ms > 1e15) return std::nullopt;  // longer than anyone waits
  return Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

// sharedmem_wait until the version differs from `seen` or `deadline`.
sharedmem_error wait_change(sharedmem_segment* segment, std::uint64_t seen,
                            const std::optional<Clock::time_point>& deadline,
                            std::uint64_t& version) {
  for (;;) {
    std::uint32_t timeout_ms = SHAREDMEM_WAIT_FOREVER;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      timeout_ms = static_cast<std::uint32_t>(
          std::clamp<std::int64_t>(left.count(), 0, SHAREDMEM_WAIT_FOREVER - 1));
    }
    const sharedmem_error e = sharedmem_wait(segment, seen, timeout_ms, &version);
    // A timeout short of a deadline beyond the longest single wait: wait on.
    if (e == SHAREDMEM_E_TIMEOUT && deadline && Clock::now() < *deadline) continue;
    return e;
  }
}

// An open handle to a live segment, closed on scope exit.
struct Handle {
  sharedmem_segment* segment = nullptr;
  bool raw = false;
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { sharedmem_close(segment); }
};

// Opens the live segment `name` with `flags` (which include OPEN_ONLY),
// whatever its kind; handle.raw tells which.
sharedmem_error open_any_kind(const std::string& name, std::uint32_t flags, std::uint64_t capacity,
                              Handle& handle) {
  const sharedmem_error e =
      sharedmem_open(name.c_str(), capacity, flags | SHAREDMEM_ANY_KIND, &handle.segment);
  handle.raw = e == SHAREDMEM_OK && sharedmem_segment_kind(handle.segment) == SHAREDMEM_KIND_RAW;
  return e;
}

// The capacity of the live segment `name`, if one can be inspected.
std::optional<std::uint64_t> live_capacity(const Options& o) {
  sharedmem_info info{};
  info.struct_size = sizeof info;
  if (sharedmem_inspect(o.name.c_str(), scope_flags(o), &info) != SHAREDMEM_OK ||
      info.object_class != SHAREDMEM_OBJECT_SEGMENT)
    return std::nullopt;
  return info.capacity;
}

constexpr const char* kNoLiveSegment = "not found: no live process holds a segment of this name";

// Opens the live segment `o.name` at its own capacity, whatever its kind.
// On failure, reports why and returns the exit status; kOk on success. An
// open that finds no live segment looks at what stands under the name, so
// that a foreign object is called that, not "not found".
int open_live(const Options& o, Handle& handle) {
  const sharedmem_error e =
      open_any_kind(o.name, SHAREDMEM_OPEN_ONLY | scope_flags(o), 0, handle);
  if (e == SHAREDMEM_OK) return kOk;
  if (e != SHAREDMEM_E_NOT_FOUND) return fail(o, e);
  sharedmem_info info{};
  info.struct_size = sizeof info;
  if (sharedmem_inspect(o.name.c_str(), scope_flags(o), &info) == SHAREDMEM_OK) {
    switch (info.object_class) {
      case SHAREDMEM_OBJECT_FOREIGN:
        return fail(o, SHAREDMEM_E_INCOMPATIBLE);
      case SHAREDMEM_OBJECT_INCOMPATIBLE:
        return fail(o, SHAREDMEM_E_INCOMPATIBLE,
                    sharedmem_strerror(SHAREDMEM_E_INCOMPATIBLE) + std::string(": ") +
                        sharedmem_last_error_detail());
      case SHAREDMEM_OBJECT_NOT_OWNER:
        return fail(o, SHAREDMEM_E_NOT_OWNER);
      default:
        break;
    }
  }
  if (o.command == "set")
    return fail(o, e,
                "no live process holds this segment, so a value written now would vanish when "
                "this command exits; keep it alive first, for example with `sharedmem hold " +
                    o.name + " --capacity <bytes>` in another terminal or in the background");
  return fail(o, e, kNoLiveSegment);
}

// get and set on a raw segment: one line saying what the shell can do.
int refuse_raw(const Options& o) {
  complain(o.command, o.name,
           "a raw segment: its bytes are not read or written from the shell yet (info, watch "
           "and wait follow its version, notify advances it)");
  return kError;
}

// A consistent snapshot of the value and its version.
sharedmem_error read_value(sharedmem_segment* segment, std::string& value, std::uint64_t& version) {
  value.assign(static_cast<std::size_t>(sharedmem_capacity(segment)), '\0');
  std::uint64_t size = 0;
  const sharedmem_error e =
      sharedmem_read_versioned(segment, value.data(), value.size(), &size, &version);
  value.resize(e == SHAREDMEM_OK ? static_cast<std::size_t>(size) : 0);
  return e;
}

// Writes `value`, saying the sizes when it does not fit.
int write_value(const Options& o, sharedmem_segment* segment, const std::string& value) {
  const sharedmem_error e = sharedmem_write(segment, value.data(), value.size());
  if (e == SHAREDMEM_E_VALUE_TOO_LARGE)
    return fail(o, e,
                "value too large: " + std::to_string(value.size()) +
                    " bytes, the segment's capacity is " +
                    std::to_string(sharedmem_capacity(segment)) + "; the segment is unchanged");
  return e == SHAREDMEM_OK ? kOk : fail(o, e);
}

void write_stdout(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
}

// The value as JSON members: "value" for UTF-8 text, else "value_base64".
void add_value(JsonObject& object, const std::string& value) {
  object.number("size", value.size());
  if (is_utf8(value)) object.text("value", value);
  else object.text("value_base64", base64(value));
}

// --- list and info ---------------------------------------------------------

const char* state_name(std::uint32_t object_class) {
  switch (object_class) {
    case SHAREDMEM_OBJECT_SEGMENT: return "live";
    case SHAREDMEM_OBJECT_UNFINISHED: return "unfinished";
    case SHAREDMEM_OBJECT_DEAD: return "dead";
    case SHAREDMEM_OBJECT_FOREIGN: return "foreign";
    case SHAREDMEM_OBJECT_INCOMPATIBLE: return "incompatible";
    case SHAREDMEM_OBJECT_NOT_OWNER: return "not-owner";
    default: return "unknown";
  }
}

// What each state means, for info's stderr line and the docs.
const char* state_meaning(std::uint32_t object_class) {
  switch (object_class) {
    case SHAREDMEM_OBJECT_UNFINISHED:
      return "its creator has not finished initialising it";
    case SHAREDMEM_OBJECT_DEAD:
      return "no live process holds it (its users were killed); the next open of the name "
             "resets it";
    case SHAREDMEM_OBJECT_FOREIGN:
      return "an object of this name exists that is not a sharedmem segment; sharedmem "
             "refuses it and leaves it untouched";
    case SHAREDMEM_OBJECT_INCOMPATIBLE:
      return "a sharedmem segment this release cannot use (another release's layout, or a "
             "damaged header)";
    case SHAREDMEM_OBJECT_NOT_OWNER:
      return "an object of this name belongs to another user or is open to other users; "
             "sharedmem refuses it and leaves it untouched";
    default:
      return "";
  }
}

bool has_segment_facts(const sharedmem_info& info) {
  return info.object_class == SHAREDMEM_OBJECT_SEGMENT ||
         info.object_class == SHAREDMEM_OBJECT_DEAD;
}

// "value", "raw", "unknown", or null (empty) for what is no segment.
std::string kind_name(const sharedmem_info& info) {
  if (info.object_class != SHAREDMEM_OBJECT_SEGMENT &&
      info.object_class != SHAREDMEM_OBJECT_DEAD &&
      info.object_class != SHAREDMEM_OBJECT_UNFINISHED)
    return "";
  switch (info.kind) {
    case SHAREDMEM_KIND_VALUE: return "value";
    case SHAREDMEM_KIND_RAW: return "raw";
    default: return "unknown";
  }
}

std::string holders_text(const sharedmem_info& info) {
  return info.holders == SHAREDMEM_HOLDERS_UNKNOWN ? "unknown" : std::to_string(info.holders);
}

std::string number_or_dash(const sharedmem_info& info, std::uint64_t n) {
  return has_segment_facts(info) ? std::to_string(n) : "-";
}

JsonObject info_json(JsonObject out, const sharedmem_info& info) {
  const bool facts = has_segment_facts(info);
  const std::string kind = kind_name(info);
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.mode));
  out.text("name", info.name)
      .text("state", state_name(info.object_class))
      .text_or_null("kind", !kind.empty(), kind)
      .number_or_null("capacity", facts, info.capacity)
      .number_or_null("value_size", facts, info.value_size)
      .number_or_null("version", facts, info.version)
      .number_or_null("holders", info.holders != SHAREDMEM_HOLDERS_UNKNOWN, info.holders)
      .number_or_null("layout_version", info.layout_version != 0, info.layout_version)
      .number("object_size", info.object_size)
      .text("os_name", info.os_name)
      .text("owner", info.owner)
      .text("permissions", info.permissions)
      .text("mode", mode);
  return out;
}

// sharedmem_list's callback. The info is the library's, of its struct_size:
// only what both sides know is copied. Nothing may unwind through the
// library: a failure stops the listing and is rethrown after it.
struct Listing {
  std::vector<sharedmem_info> found;
  std::exception_ptr failure;
};

int SHAREDMEM_CALL collect(const sharedmem_info* info, void* context) {
  auto& listing = *static_cast<Listing*>(context);
  try {
    sharedmem_info copy{};
    std::memcpy(&copy, info, std::min<std::size_t>(info->struct_size, sizeof copy));
    copy.struct_size = sizeof copy;
    listing.found.push_back(copy);
    return 0;
  } catch (...) {
    listing.failure = std::current_exception();
    return 1;
  }
}

int run_list(const Options& o) {
  Listing listing;
  if (const sharedmem_error e = sharedmem_list(scope_flags(o), collect, &listing))
    return fail(o, e);
  if (listing.failure) std::rethrow_exception(listing.failure);
  std::vector<sharedmem_info>& found = listing.found;
  // Dead objects are no live segments: shown with --all only.
  found.erase(std::remove_if(found.begin(), found.end(),
                             [&](const sharedmem_info& info) {
                               return !o.all && info.object_class == SHAREDMEM_OBJECT_DEAD;
                             }),
              found.end());
  std::sort(found.begin(), found.end(), [](const sharedmem_info& a, const sharedmem_info& b) {
    return std::strcmp(a.name, b.name) < 0;
  });
  if (o.json) {
    std::vector<JsonObject> segments;
    for (const sharedmem_info& info : found) segments.push_back(info_json(JsonObject(), info));
    write_stdout(JsonObject::document().array("segments", segments).str() + "\n");
    return kOk;
  }
  std::size_t width = 4;
  for (const sharedmem_info& info : found) width = std::max(width, std::strlen(info.name));
  std::printf("%-*s  %-7s  %12s  %12s  %10s  %7s  %s\n", static_cast<int>(width), "NAME", "KIND",
              "CAPACITY", "SIZE", "VERSION", "HOLDERS", "STATE");
  for (const sharedmem_info& info : found) {
    const std::string kind = kind_name(info);
    std::printf("%-*s  %-7s  %12s  %12s  %10s  %7s  %s\n", static_cast<int>(width), info.name,
                kind.empty() ? "-" : kind.c_str(), number_or_dash(info, info.capacity).c_str(),
                number_or_dash(info, info.value_size).c_str(),
                number_or_dash(info, info.version).c_str(), holders_text(info).c_str(),
                state_name(info.object_class));
  }
  return kOk;
}

int run_info(const Options& o) {
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const sharedmem_error e = sharedmem_inspect(o.name.c_str(), scope_flags(o), &info);
  if (e == SHAREDMEM_E_NOT_FOUND)
    return fail(o, e,
                "not found: nothing of this name exists (" + std::string(info.os_name) + ")");
  if (e != SHAREDMEM_OK) return fail(o, e);
  if (o.json) {
    write_stdout(info_json(JsonObject::document(), info).str() + "\n");
  } else {
    const std::string kind = kind_name(info);
    std::printf("name:           %s\n", info.name);
    std::printf("state:          %s\n", state_name(info.object_class));
    std::printf("kind:           %s\n", kind.empty() ? "-" : kind.c_str());
    std::printf("capacity:       %s\n", number_or_dash(info, info.capacity).c_str());
    std::printf("value size:     %s\n", number_or_dash(info, info.value_size).c_str());
    std::printf("version:        %s\n", number_or_dash(info, info.version).c_str());
    std::printf("holders:        %s\n", holders_text(info).c_str());
    std::printf("layout version: %s\n",
                info.layout_version ? std::to_string(info.layout_version).c_str() : "-");
    std::printf("object size:    %llu\n", static_cast<unsigned long long>(info.object_size));
    std::printf("os name:        %s\n", info.os_name);
    std::printf("owner:          %s\n", info.owner[0] ? info.owner : "unknown");
    std::printf("permissions:    %s\n", info.permissions[0] ? info.permissions : "unknown");
  }
  std::fflush(stdout);
  switch (info.object_class) {
    case SHAREDMEM_OBJECT_SEGMENT:
    case SHAREDMEM_OBJECT_UNFINISHED:
      return kOk;
    case SHAREDMEM_OBJECT_DEAD:
      complain(o.command, o.name,
               std::string("no live segment: ") + state_meaning(info.object_class));
      return kNotFound;
    default: {
      // An incompatible object: the library names the field that is wrong.
      const std::string detail = sharedmem_last_error_detail();
      complain(o.command, o.name,
               std::string("not a usable segment: ") + state_meaning(info.object_class) +
                   (info.object_class == SHAREDMEM_OBJECT_INCOMPATIBLE && !detail.empty()
                        ? ": " + detail
                        : std::string()));
      return kError;
    }
  }
}

// --- get, set, watch, wait, notify, hold -----------------------------------

int run_get(const Options& o) {
  Handle handle;
  if (const int status = open_live(o, handle)) return status;
  if (handle.raw) return refuse_raw(o);
  std::string value;
  std::uint64_t version = 0;
  if (const sharedmem_error e = read_value(handle.segment, value, version)) return fail(o, e);
  if (wide_values(o)) value = wide_bytes_to_utf8(value);
  if (o.json) {
    JsonObject out = JsonObject::document();
    out.text("name", o.name).number("version", version);
    add_value(out, value);
    write_stdout(out.str() + "\n");
  } else {
    write_stdout(value);
  }
  return kOk;
}

// The value to write: the argument, or stdin for "-"; encoded for --wide.
std::optional<std::string> value_to_write(const Options& o, const std::string& given) {
  std::string value = given;
  if (given == "-") {
    value.clear();
    char buffer[65536];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) value.append(buffer, n);
  }
  if (!wide_values(o)) return value;
  std::optional<std::string> wide = utf8_to_wide_bytes(value);
  if (!wide) complain(o.command, o.name, "the value is not UTF-8, which a wide value must be");
  return wide;
}

int run_set(const Options& o) {
  const std::optional<std::string> value = value_to_write(o, o.value);
  if (!value) return kUsage;
  Handle handle;
  if (const int status = open_live(o, handle)) return status;
  if (handle.raw) return refuse_raw(o);
  return write_value(o, handle.segment, *value);
}

// The --count and --timeout of watch and wait, checked.
struct Limits {
  std::optional<std::uint64_t> count;
  std::optional<double> seconds;
};
std::optional<Limits> parse_limits(const Options& o, int& status) {
  Limits limits;
  if (o.count && !(limits.count = parse_count(*o.count))) {
    status = usage_error(o.command, "--count must be a whole number, at least 1, not '" +
                                        *o.count + "'");
    return std::nullopt;
  }
  if (o.timeout && !(limits.seconds = parse_seconds(*o.timeout))) {
    status = usage_error(o.command, "--timeout must be a number of seconds, at least 0, not '" +
                                        *o.timeout + "'");
    return std::nullopt;
  }
  return limits;
}

int timed_out(const Options& o, const std::string& what) {
  complain(o.command, o.name, "timed out after " + *o.timeout + " s: " + what);
  return kTimeout;
}

int run_watch(const Options& o) {
  int status = kOk;
  const std::optional<Limits> limits = parse_limits(o, status);
  if (!limits) return status;
  Handle handle;
  if (const int opened = open_live(o, handle)) return opened;
  const std::optional<Clock::time_point> deadline = deadline_after(limits->seconds);
  const bool wide = wide_values(o);
  std::uint64_t printed = 0;
  std::uint64_t seen = 0;
  for (bool first = true; !limits->count || printed < *limits->count; first = false) {
    if (!first) {
      std::uint64_t version = 0;
      const sharedmem_error e = wait_change(handle.segment, seen, deadline, version);
      if (e == SHAREDMEM_E_TIMEOUT)
        return timed_out(o, handle.raw ? "no new version" : "no new value");
      if (e != SHAREDMEM_OK) return fail(o, e);
    }
    JsonObject out = JsonObject::document();
    if (handle.raw) {
      // A raw segment's bytes change in place, with no value to print: its
      // versions are printed instead.
      seen = sharedmem_version(handle.segment);
      write_stdout(o.json ? out.number("version", seen).str() + "\n"
                          : "version " + std::to_string(seen) + "\n");
    } else {
      std::string value;
      if (const sharedmem_error e = read_value(handle.segment, value, seen)) return fail(o, e);
      if (wide) value = wide_bytes_to_utf8(value);
      if (o.json) {
        add_value(out.number("version", seen), value);
        write_stdout(out.str() + "\n");
      } else {
        write_stdout(value + "\n");
      }
    }
    // Each value as it arrives, whatever stdout is (a pipe is block-buffered).
    if (std::fflush(stdout) != 0) return kError;
    ++printed;
  }
  return kOk;
}

int run_wait(const Options& o) {
  int status = kOk;
  const std::optional<Limits> limits = parse_limits(o, status);
  if (!limits) return status;
  Handle handle;
  if (const int opened = open_live(o, handle)) return opened;
  std::uint64_t version = 0;
  const sharedmem_error e = wait_change(handle.segment, sharedmem_version(handle.segment),
                                        deadline_after(limits->seconds), version);
  if (e == SHAREDMEM_E_TIMEOUT)
    return timed_out(o, handle.raw ? "the version did not change" : "the value did not change");
  if (e != SHAREDMEM_OK) return fail(o, e);
  return kOk;
}

int run_notify(const Options& o) {
  Handle handle;
  if (const int status = open_live(o, handle)) return status;
  if (!handle.raw) {
    complain(o.command, o.name,
             "a value segment: notify advances a raw segment's version; a value segment's "
             "advances with each write (sharedmem set)");
    return kError;
  }
  std::uint64_t version = 0;
  if (const sharedmem_error e = sharedmem_notify(handle.segment, &version)) return fail(o, e);
  return kOk;
}

int run_hold(const Options& o) {
  std::uint64_t capacity = 0;
  std::uint32_t flags = scope_flags(o) | (o.raw ? SHAREDMEM_RAW : 0u);
  if (o.capacity) {
    const std::optional<std::uint64_t> parsed = parse_capacity(*o.capacity);
    if (!parsed)
      return usage_error(o.command, "--capacity must be a whole number of bytes, optionally with "
                                    "K, M, G or T (1K = 1024), not '" + *o.capacity + "'");
    capacity = *parsed;
  } else {
    flags |= SHAREDMEM_OPEN_ONLY;  // join a live segment at its capacity
  }
  std::optional<std::string> initial;
  if (o.initial_value) {
    initial = value_to_write(o, *o.initial_value);
    if (!initial) return kUsage;
  }
  prepare_stop_requests(o.until_stdin_closes);
  Handle handle;
  const sharedmem_error e = o.capacity || o.raw
                                ? sharedmem_open(o.name.c_str(), capacity, flags, &handle.segment)
                                : open_any_kind(o.name, flags, 0, handle);
  if (e == SHAREDMEM_E_NOT_FOUND)
    return fail(o, e, std::string(kNoLiveSegment) + " to join; give --capacity to create it");
  if (e == SHAREDMEM_E_INVALID_SIZE)
    return usage_error(o.command, "--capacity " + *o.capacity + " (" + std::to_string(capacity) +
                                      " bytes) is no capacity this system can give: it must be "
                                      "at least 1 byte and small enough to map twice over");
  if (e == SHAREDMEM_E_SIZE_MISMATCH) {
    const std::optional<std::uint64_t> live = live_capacity(o);
    return fail(o, e,
                "size mismatch: the live segment's capacity is " +
                    (live ? std::to_string(*live) : std::string("another")) + " bytes, not " +
                    std::to_string(capacity) + "; leave out --capacity to join it at its own");
  }
  if (e != SHAREDMEM_OK) return fail(o, e);
  if (initial) {
    if (o.raw) return refuse_raw(o);
    if (const int status = write_value(o, handle.segment, *initial)) return status;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  // Each second, whether the name still leads to the held object: once it
  // was removed, holding on keeps a segment nobody new can reach.
  while (!wait_for_stop(std::chrono::seconds(1))) {
    const sharedmem_error checked = sharedmem_check(handle.segment);
    if (checked == SHAREDMEM_E_REMOVED) {
      complain(o.command, o.name,
               "name removed under this holder (by systemd-logind's RemoveIPC=yes at the "
               "user's last logout, or an rm in /dev/shm): newcomers to the name get a new, "
               "separate segment, so hold stops; see docs/lifetime.md");
      return exit_status(checked);
    }
    if (checked != SHAREDMEM_OK) return fail(o, checked);
  }
  return kOk;
}

// Removes the objects of dead segments (list --all: state dead) now.
int run_prune(const Options& o) {
  std::uint32_t removed = 0;
  if (const sharedmem_error e = sharedmem_prune(scope_flags(o), &removed)) return fail(o, e);
  if (o.json)
    write_stdout(JsonObject::document().number("removed", removed).str() + "\n");
  else
    write_stdout("removed " + std::to_string(removed) + " dead segment(s)\n");
  return kOk;
}

// --- the command line ------------------------------------------------------

ProgramDoc program_doc() {
  ProgramDoc doc;
  doc.summary = "List, inspect, read, write, watch and hold named shared memory segments";
  doc.description =
      "A segment lives while a process holds it: `sharedmem hold` keeps one alive from a "
      "shell, and the other commands open it for their duration (so a running watch holds it "
      "too), while list and info only look. Values are bytes; --wide reads and writes the "
      "wide strings of the Set/Get API. Raw segments (hold --raw) are followed by their "
      "version: watch, wait and info show it, notify advances it.";
#if defined(SHAREDMEM_VERSION_STRING)
  doc.version = sharedmem_library_version_string();
#else
  doc.version = SHAREDMEM_TOOL_VERSION;
#endif
  doc.statuses = exit_status_docs();
  doc.commands = {
      {"list", "List this user's segments (Windows: the session's)",
       "One line each: name, kind, capacity, value size, version, holders and state. Objects "
       "of the naming scheme that are no usable segment are listed with their state "
       "(foreign, not-owner, incompatible, unfinished).",
       "sharedmem list --json"},
      {"info", "Show one segment: what list shows, and the OS object",
       "Adds the layout version, the OS object's name, owner and permissions. Exits 3 if no "
       "live segment has the name, 1 if something else does.",
       "sharedmem info inventory"},
      {"get", "Write the current value to stdout, as it is (bytes)", "",
       "sharedmem get inventory --json"},
      {"set", "Write a value to a segment a live process holds",
       "A value written to a segment nobody holds would vanish with this command, so set "
       "refuses it (status 3): keep the segment alive with hold first.",
       "sharedmem set inventory apples=2"},
      {"hold", "Create or join a segment and keep it alive until stopped",
       "Prints 'ready' once it holds the segment, then waits for SIGINT (Ctrl+C), SIGTERM or "
       "SIGHUP (Windows: Ctrl+C, Ctrl+Break or the console closing), and with "
       "--until-stdin-closes for the end of standard input; then it closes the segment and "
       "exits 0. If the segment's name is removed under it (systemd-logind's RemoveIPC=yes, "
       "an rm in /dev/shm), newcomers would get another segment: it says so within a second "
       "and exits 5.",
       "sharedmem hold inventory --capacity 64K --value apples=3"},
      {"watch", "Print the value, then each new one as it is published",
       "One value a line, flushed at once (use --json for values with line breaks); a raw "
       "segment's versions instead ('version N'). Sleeps between changes, no polling; a "
       "writer faster than the reader may publish versions it never sees.",
       "sharedmem watch inventory --count 3"},
      {"wait", "Block until the value (raw: the version) changes, then exit 0",
       "With --timeout, exits 4 and says so on stderr if nothing changed by then.",
       "sharedmem wait inventory --timeout 5"},
      {"notify", "Advance a raw segment's version, waking its waiters",
       "What a producer's sharedmem_notify does, from a shell: every watch and wait on the "
       "segment wakes.",
       "sharedmem notify frames"},
      {"prune", "Remove what killed users left behind (state dead in list --all)",
       "Dead objects keep their memory until this user's next segment creation sweeps them; "
       "prune removes them now and says how many. It never touches a live segment, another "
       "user's object or a file sharedmem did not make. On Windows a segment dies with its "
       "last handle, so there is never anything to remove.",
       "sharedmem prune --json"},
      {"help", "Show the help of the program or of one command",
       "Topics: each command, and exit-status (the exit statuses and the library errors "
       "behind them).",
       "sharedmem help watch"},
      {"completion", "Print the bash or zsh completion script",
       "Installed with the command; to try it in a running shell: source <(sharedmem "
       "completion bash).",
       "sharedmem completion bash"},
  };
  return doc;
}

void add_name(CLI::App* command, Options& o) {
  command->add_option("NAME", o.name, "the segment's name (1 to 128 of A-Z a-z 0-9 . _ -)")
      ->required();
}
// --global exists where it applies: Windows' Global\ namespace. Elsewhere it
// is no option (run() explains it if given).
void add_global(CLI::App* command, Options& o, bool windows) {
  if (windows)
    command->add_flag("--global", o.global,
                      "the machine-wide Global\\ namespace instead of the session's");
}
void add_encoding(CLI::App* command, Options& o) {
  auto* wide = command->add_flag(
      "--wide", o.wide,
      "the value is a wide string as SetSharedMem stores it (UTF-32 on Linux, UTF-16 on "
      "Windows), shown and given as UTF-8; implied for dllmemfilemap and for the segment "
      "SHAREDMEM_DEFAULT_SEGMENT names");
  command->add_flag("--bytes", o.bytes, "the value is bytes, even for the default segment")
      ->excludes(wide);
}
void add_timeout(CLI::App* command, Options& o, const std::string& what) {
  command->add_option("--timeout", o.timeout, what + " (decimal seconds, 0.5 is half a second)")
      ->type_name("SECONDS");
}

// The subcommand a mistyped word was probably meant to be.
int unknown_command(const std::string& word, const ProgramDoc& doc, bool topics = false) {
  std::vector<std::string> candidates;
  for (const CommandDoc& command : doc.commands) candidates.push_back(command.name);
  if (topics) candidates.push_back("exit-status");
  const std::optional<std::string> near = closest_word(word, candidates);
  return usage_error(topics ? "help" : "",
                     "'" + word + "' is no sharedmem " + (topics ? "help topic" : "command") +
                         (near ? "; did you mean '" + *near + "'?" : std::string()));
}

int run_help(const CLI::App& app, const Options& o, const ProgramDoc& doc) {
  if (o.man) {
    write_stdout(man_page(app, doc));
    return kOk;
  }
  if (o.topic.empty()) {
    write_stdout(program_help(app, doc));
  } else if (o.topic == "exit-status") {
    write_stdout("Exit statuses of sharedmem:\n" + exit_status_help(doc) +
                 "\nThe library's errors and the exit status each gives:\n" +
                 error_exit_table());
  } else if (doc.command(o.topic)) {
    write_stdout(command_help(*app.get_subcommand(o.topic), doc));
  } else {
    return unknown_command(o.topic, doc, true);
  }
  return kOk;
}

int run(int argc, char** argv) {
  Options o;
  const ProgramDoc doc = program_doc();
  const bool windows = std::string(sharedmem_backend()) == "windows";
  CLI::App app{doc.summary, "sharedmem"};
  app.formatter(std::make_shared<HelpFormatter>(doc));
  app.require_subcommand(1);
  app.set_help_flag("-h,--help", "print this help");
  app.set_version_flag("-V,--version", "sharedmem " + doc.version + " (" + sharedmem_backend() +
                                           " backend)",
                       "print the version and the backend");

  auto* list = app.add_subcommand("list", doc.command("list")->summary);
  list->add_flag("--json", o.json, "one JSON document with every segment (docs/cli.md)");
  list->add_flag("--all", o.all, "also what killed users left behind (state dead)");
  add_global(list, o, windows);

  auto* info = app.add_subcommand("info", doc.command("info")->summary);
  add_name(info, o);
  info->add_flag("--json", o.json, "a JSON document (docs/cli.md)");
  add_global(info, o, windows);

  auto* get = app.add_subcommand("get", doc.command("get")->summary);
  add_name(get, o);
  get->add_flag("--json", o.json,
                "a JSON document with name, version, size and value (text) or value_base64");
  add_encoding(get, o);
  add_global(get, o, windows);

  auto* set = app.add_subcommand("set", doc.command("set")->summary);
  add_name(set, o);
  set->add_option("VALUE", o.value, "the value, or - to read it from stdin")->required();
  add_encoding(set, o);
  add_global(set, o, windows);

  auto* hold = app.add_subcommand("hold", doc.command("hold")->summary);
  add_name(hold, o);
  hold->add_option("--capacity", o.capacity,
                   "capacity in bytes (K, M, G, T: binary multiples); without it, join a live "
                   "segment at its own capacity")
      ->type_name("BYTES");
  hold->add_option("--value", o.initial_value, "write this value once it holds the segment")
      ->type_name("VALUE");
  hold->add_flag("--raw", o.raw, "a raw segment: bytes shared in place, followed by version");
  hold->add_flag("--until-stdin-closes", o.until_stdin_closes,
                 "also stop when standard input reaches its end");
  add_encoding(hold, o);
  add_global(hold, o, windows);

  auto* watch = app.add_subcommand("watch", doc.command("watch")->summary);
  add_name(watch, o);
  watch->add_option("--count", o.count,
                    "stop after this many values, at least 1 (the current one counts)")
      ->type_name("N");
  add_timeout(watch, o, "give up with status 4 after this long without a change");
  watch->add_flag("--json", o.json, "one JSON document a line: version, size, value");
  add_encoding(watch, o);
  add_global(watch, o, windows);

  auto* wait = app.add_subcommand("wait", doc.command("wait")->summary);
  add_name(wait, o);
  add_timeout(wait, o, "exit with status 4 if nothing changed by then");
  add_global(wait, o, windows);

  auto* notify = app.add_subcommand("notify", doc.command("notify")->summary);
  add_name(notify, o);
  add_global(notify, o, windows);

  auto* prune = app.add_subcommand("prune", doc.command("prune")->summary);
  prune->add_flag("--json", o.json, "a JSON document: schema_version and removed (docs/cli.md)");
  add_global(prune, o, windows);

  auto* help = app.add_subcommand("help", doc.command("help")->summary);
  help->add_option("TOPIC", o.topic, "a command, or exit-status");
  help->add_flag("--man", o.man, "")->group("");  // the man page, built from this help

  auto* completion = app.add_subcommand("completion", doc.command("completion")->summary);
  completion->add_option("SHELL", o.shell, "bash or zsh")->required();

  // Bytes out as they are: values, and help whose lines end in "\n" alone.
  use_binary_stdio();
  const std::vector<std::string> arguments = utf8_arguments(argc, argv);
  if (arguments.size() < 2)
    return usage_error("", "a command is required: list, info, get, set, hold, watch, wait, "
                           "notify, prune, help or completion");
  const std::string& first = arguments[1];
  if (first.empty() || first[0] != '-') {
    if (!doc.command(first)) return unknown_command(first, doc);
    o.command = first;
  } else if (first != "-h" && first != "--help" && first != "-V" && first != "--version") {
    return usage_error("", "'" + first + "' is no option of sharedmem itself; a command comes "
                                         "first, its options after it");
  }
  if (!windows && std::find(arguments.begin(), arguments.end(), "--global") != arguments.end())
    return usage_error(o.command,
                       "--global names Windows' machine-wide namespace; on Linux each user's "
                       "segments form one namespace, so leave it out");

  std::vector<const char*> pointers;
  for (const std::string& argument : arguments) pointers.push_back(argument.c_str());
  try {
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // help on stdout
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11 says "--count: 1 required N missing".
    const std::string what = e.what();
    return usage_error(o.command, what.substr(0, what.find(':')) + " needs a value");
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();  // a sentence of CLI11's, in the middle of ours
    if (what.size() > 1 && what[0] >= 'A' && what[0] <= 'Z' && what[1] >= 'a' && what[1] <= 'z')
      what[0] += 'a' - 'A';  // "The following..." but not "NAME is required"
    return usage_error(o.command, what);
  }

  if (*list) return run_list(o);
  if (*info) return run_info(o);
  if (*get) return run_get(o);
  if (*set) return run_set(o);
  if (*hold) return run_hold(o);
  if (*watch) return run_watch(o);
  if (*wait) return run_wait(o);
  if (*notify) return run_notify(o);
  if (*prune) return run_prune(o);
  if (*help) return run_help(app, o, doc);
  if (*completion) {
    if (o.shell == "bash") write_stdout(bash_completion(app, doc));
    else if (o.shell == "zsh") write_stdout(zsh_completion(app, doc));
    else return usage_error("completion", "SHELL must be bash or zsh, not '" + o.shell + "'");
    return kOk;
  }
  return kUsage;
}

}  // namespace
}  // namespace sharedmem_cli

int main(int argc, char** argv) {
  try {
    return sharedmem_cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedmem: %s\n", e.what());
    return sharedmem_cli::kError;
  }
}
