// SPDX-License-Identifier: MIT
// The sharedmem command: list, inspect, read, write, watch and hold named
// segments from a shell. Built on the public C API only (sharedmem.h),
// arguments parsed by CLI11.
//
// Exit statuses (also in --help): 0 ok, 1 error, 2 usage, 3 not found (no
// live segment of that name), 4 timeout. Errors go to stderr, one line,
// with the library's message. Durations are seconds, as decimal numbers.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "process_control.hpp"
#include "sharedmem/sharedmem.h"
#include "text.hpp"

namespace sharedmem_cli {
namespace {

enum Exit : int { kOk = 0, kError = 1, kUsage = 2, kNotFound = 3, kTimeout = 4 };

constexpr const char* kExitStatuses =
    "Exit status: 0 ok, 1 error, 2 usage, 3 not found (no live segment of that name), "
    "4 timeout.";

// The Set/Get library's default segment, whose value is a wide string.
constexpr const char* kClassicDefaultSegment = "dllmemfilemap";

// Everything a subcommand may be given.
struct Options {
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
  std::optional<std::uint64_t> count;
  std::optional<double> timeout;
};

std::uint32_t scope_flags(const Options& o) { return o.global ? SHAREDMEM_SCOPE_GLOBAL : 0u; }

// One line on stderr: "sharedmem <command> '<name>': <message>[ (system error N)]".
void complain(const std::string& command, const std::string& name, const std::string& message) {
  std::string line = "sharedmem " + command;
  if (!name.empty()) line += " '" + name + "'";
  std::fprintf(stderr, "%s: %s\n", line.c_str(), message.c_str());
}

// Reports a failed library call and returns the exit status it means.
int fail(const std::string& command, const std::string& name, sharedmem_error e) {
  std::string message = sharedmem_strerror(e);
  if (const int system = sharedmem_last_system_error(); system != 0)
    message += " (system error " + std::to_string(system) + ")";
  complain(command, name, message);
  switch (e) {
    case SHAREDMEM_E_NOT_FOUND:
      return kNotFound;
    case SHAREDMEM_E_TIMEOUT:
      return kTimeout;
    case SHAREDMEM_E_INVALID_NAME:
      return kUsage;
    default:
      return kError;
  }
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
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { sharedmem_close(segment); }
};

// Opens the live segment `o.name` at its own capacity for `command`. On
// failure, reports why and returns the exit status; kOk on success. An open
// that finds no live segment looks at what stands under the name, so that a
// foreign object is called that, not "not found".
int open_live(const std::string& command, const Options& o, Handle& handle) {
  const sharedmem_error e = sharedmem_open(o.name.c_str(), 0, SHAREDMEM_OPEN_ONLY | scope_flags(o),
                                           &handle.segment);
  if (e != SHAREDMEM_E_NOT_FOUND) return e == SHAREDMEM_OK ? kOk : fail(command, o.name, e);
  sharedmem_info info{};
  info.struct_size = sizeof info;
  if (sharedmem_inspect(o.name.c_str(), scope_flags(o), &info) == SHAREDMEM_OK) {
    switch (info.object_class) {
      case SHAREDMEM_OBJECT_FOREIGN:
        complain(command, o.name, sharedmem_strerror(SHAREDMEM_E_INCOMPATIBLE));
        return kError;
      case SHAREDMEM_OBJECT_INCOMPATIBLE:
        complain(command, o.name, sharedmem_strerror(SHAREDMEM_E_INCOMPATIBLE) +
                                      std::string(" (layout version ") +
                                      std::to_string(info.layout_version) + ")");
        return kError;
      case SHAREDMEM_OBJECT_NOT_OWNER:
        complain(command, o.name, sharedmem_strerror(SHAREDMEM_E_NOT_OWNER));
        return kError;
      default:
        break;
    }
  }
  if (command == "set") {
    complain("set", o.name,
             "no live process holds this segment, so a value written now would vanish when "
             "this command exits; keep it alive first, for example with `sharedmem hold " +
                 o.name + " --capacity <bytes>` in another terminal or in the background");
    return kNotFound;
  }
  return fail(command, o.name, e);
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

void write_stdout(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
}

// The value as JSON members: "value" for UTF-8 text, else "value_base64".
std::string json_value_members(const std::string& value) {
  if (is_utf8(value)) return "\"value\": " + json_string(value);
  return "\"value_base64\": " + json_string(base64(value));
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

// What each state means, for info's stderr line and the README.
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
      return "a sharedmem segment of another layout version (another release)";
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

const char* kind_name(const sharedmem_info& info) {
  if (info.object_class != SHAREDMEM_OBJECT_SEGMENT &&
      info.object_class != SHAREDMEM_OBJECT_DEAD &&
      info.object_class != SHAREDMEM_OBJECT_UNFINISHED)
    return "-";
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

std::string json_number_or_null(bool known, std::uint64_t n) {
  return known ? std::to_string(n) : "null";
}

std::string info_json(const sharedmem_info& info, bool details) {
  const bool facts = has_segment_facts(info);
  std::string out = "{\"name\": " + json_string(info.name) +
                    ", \"state\": " + json_string(state_name(info.object_class)) +
                    ", \"kind\": " +
                    (std::string(kind_name(info)) == "-" ? "null" : json_string(kind_name(info))) +
                    ", \"capacity\": " + json_number_or_null(facts, info.capacity) +
                    ", \"value_size\": " + json_number_or_null(facts, info.value_size) +
                    ", \"version\": " + json_number_or_null(facts, info.version) +
                    ", \"holders\": " +
                    json_number_or_null(info.holders != SHAREDMEM_HOLDERS_UNKNOWN, info.holders);
  if (details) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.mode));
    out += ", \"layout_version\": " + json_number_or_null(info.layout_version != 0,
                                                          info.layout_version) +
           ", \"object_size\": " + std::to_string(info.object_size) +
           ", \"os_name\": " + json_string(info.os_name) +
           ", \"owner\": " + json_string(info.owner) +
           ", \"permissions\": " + json_string(info.permissions) +
           ", \"mode\": " + json_string(mode);
  }
  return out + "}";
}

int SHAREDMEM_CALL collect(const sharedmem_info* info, void* context) {
  static_cast<std::vector<sharedmem_info>*>(context)->push_back(*info);
  return 0;
}

int run_list(const Options& o) {
  std::vector<sharedmem_info> found;
  if (const sharedmem_error e = sharedmem_list(scope_flags(o), collect, &found))
    return fail("list", "", e);
  // Dead objects are no live segments: shown with --all only.
  found.erase(std::remove_if(found.begin(), found.end(),
                             [&](const sharedmem_info& info) {
                               return !o.all && info.object_class == SHAREDMEM_OBJECT_DEAD;
                             }),
              found.end());
  std::sort(found.begin(), found.end(), [](const sharedmem_info& a, const sharedmem_info& b) {
    return std::string(a.name) < std::string(b.name);
  });
  if (o.json) {
    std::string out = "[";
    for (std::size_t i = 0; i < found.size(); ++i)
      out += (i ? ",\n " : "") + info_json(found[i], true);
    write_stdout(out + "]\n");
    return kOk;
  }
  std::size_t width = 4;
  for (const sharedmem_info& info : found) width = std::max(width, std::string(info.name).size());
  std::printf("%-*s  %-7s  %12s  %12s  %10s  %7s  %s\n", static_cast<int>(width), "NAME", "KIND",
              "CAPACITY", "SIZE", "VERSION", "HOLDERS", "STATE");
  for (const sharedmem_info& info : found)
    std::printf("%-*s  %-7s  %12s  %12s  %10s  %7s  %s\n", static_cast<int>(width), info.name,
                kind_name(info), number_or_dash(info, info.capacity).c_str(),
                number_or_dash(info, info.value_size).c_str(),
                number_or_dash(info, info.version).c_str(), holders_text(info).c_str(),
                state_name(info.object_class));
  return kOk;
}

int run_info(const Options& o) {
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const sharedmem_error e = sharedmem_inspect(o.name.c_str(), scope_flags(o), &info);
  if (e == SHAREDMEM_E_NOT_FOUND) {
    complain("info", o.name, "not found: nothing of this name exists (" + std::string(info.os_name) +
                                 ")");
    return kNotFound;
  }
  if (e != SHAREDMEM_OK) return fail("info", o.name, e);
  if (o.json) {
    write_stdout(info_json(info, true) + "\n");
  } else {
    std::printf("name:           %s\n", info.name);
    std::printf("state:          %s\n", state_name(info.object_class));
    std::printf("kind:           %s\n", kind_name(info));
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
      complain("info", o.name, std::string("no live segment: ") + state_meaning(info.object_class));
      return kNotFound;
    default:
      complain("info", o.name, std::string("not a usable segment: ") +
                                   state_meaning(info.object_class));
      return kError;
  }
}

// --- get, set, watch, wait, hold ----------------------------------------

int run_get(const Options& o) {
  Handle handle;
  if (const int status = open_live("get", o, handle)) return status;
  std::string value;
  std::uint64_t version = 0;
  if (const sharedmem_error e = read_value(handle.segment, value, version))
    return fail("get", o.name, e);
  if (wide_values(o)) value = wide_bytes_to_utf8(value);
  if (o.json)
    write_stdout("{\"name\": " + json_string(o.name) + ", \"version\": " +
                 std::to_string(version) + ", \"size\": " + std::to_string(value.size()) + ", " +
                 json_value_members(value) + "}\n");
  else
    write_stdout(value);
  return kOk;
}

// The value to write: the argument, or stdin for "-"; encoded for --wide.
std::optional<std::string> value_to_write(const Options& o, const std::string& command,
                                          const std::string& given) {
  std::string value = given;
  if (given == "-") {
    value.clear();
    char buffer[65536];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) value.append(buffer, n);
  }
  if (!wide_values(o)) return value;
  std::optional<std::string> wide = utf8_to_wide_bytes(value);
  if (!wide) complain(command, o.name, "the value is not UTF-8, which a wide value must be");
  return wide;
}

int run_set(const Options& o) {
  const std::optional<std::string> value = value_to_write(o, "set", o.value);
  if (!value) return kUsage;
  Handle handle;
  if (const int status = open_live("set", o, handle)) return status;
  if (const sharedmem_error w = sharedmem_write(handle.segment, value->data(), value->size()))
    return fail("set", o.name, w);
  return kOk;
}

int run_watch(const Options& o) {
  Handle handle;
  if (const int status = open_live("watch", o, handle)) return status;
  const std::optional<Clock::time_point> deadline = deadline_after(o.timeout);
  const bool wide = wide_values(o);
  // A raw segment's bytes change in place, with no value to print: its
  // versions are printed instead.
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const bool raw = sharedmem_inspect(o.name.c_str(), scope_flags(o), &info) == SHAREDMEM_OK &&
                   info.kind == SHAREDMEM_KIND_RAW;
  std::uint64_t printed = 0;
  std::uint64_t seen = 0;
  for (bool first = true; !o.count || printed < *o.count; first = false) {
    if (!first) {
      std::uint64_t version = 0;
      const sharedmem_error e = wait_change(handle.segment, seen, deadline, version);
      if (e == SHAREDMEM_E_TIMEOUT) return kTimeout;
      if (e != SHAREDMEM_OK) return fail("watch", o.name, e);
    }
    std::string value;
    if (raw) {
      seen = sharedmem_version(handle.segment);
      write_stdout(o.json ? "{\"version\": " + std::to_string(seen) + "}\n"
                          : "version " + std::to_string(seen) + "\n");
    } else if (const sharedmem_error e = read_value(handle.segment, value, seen)) {
      return fail("watch", o.name, e);
    } else if (o.json) {
      if (wide) value = wide_bytes_to_utf8(value);
      write_stdout("{\"version\": " + std::to_string(seen) + ", \"size\": " +
                   std::to_string(value.size()) + ", " + json_value_members(value) + "}\n");
    } else {
      if (wide) value = wide_bytes_to_utf8(value);
      write_stdout(value + "\n");
    }
    // Each value as it arrives, whatever stdout is (a pipe is block-buffered).
    if (std::fflush(stdout) != 0) return kError;
    ++printed;
  }
  return kOk;
}

int run_wait(const Options& o) {
  Handle handle;
  if (const int status = open_live("wait", o, handle)) return status;
  std::uint64_t version = 0;
  const sharedmem_error e =
      wait_change(handle.segment, sharedmem_version(handle.segment), deadline_after(o.timeout),
                  version);
  if (e == SHAREDMEM_E_TIMEOUT) return kTimeout;  // a timeout is an answer, not an error
  if (e != SHAREDMEM_OK) return fail("wait", o.name, e);
  return kOk;
}

int run_hold(const Options& o) {
  std::uint64_t capacity = 0;
  std::uint32_t flags = scope_flags(o);
  if (o.capacity) {
    const std::optional<std::uint64_t> parsed = parse_capacity(*o.capacity);
    if (!parsed) {
      complain("hold", o.name,
               "invalid capacity '" + *o.capacity +
                   "': give a whole number of bytes, optionally with K, M, G or T (1K = 1024)");
      return kUsage;
    }
    capacity = *parsed;
  } else {
    flags |= SHAREDMEM_OPEN_ONLY;  // join a live segment at its capacity
  }
  if (o.raw) {
#if defined(SHAREDMEM_RAW)
    flags |= SHAREDMEM_RAW;
#else
    complain("hold", o.name, sharedmem_strerror(SHAREDMEM_E_UNSUPPORTED) +
                                 std::string(": this library has no raw segments"));
    return kError;
#endif
  }
  std::optional<std::string> initial;
  if (o.initial_value) {
    initial = value_to_write(o, "hold", *o.initial_value);
    if (!initial) return kUsage;
  }
  prepare_stop_requests();
  Handle handle;
  if (const sharedmem_error e = sharedmem_open(o.name.c_str(), capacity, flags, &handle.segment))
    return fail("hold", o.name, e);
  if (initial) {
    if (const sharedmem_error e = sharedmem_write(handle.segment, initial->data(), initial->size()))
      return fail("hold", o.name, e);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  (void)wait_for_stop(o.until_stdin_closes);
  return kOk;
}

// --- the command line ------------------------------------------------------

void add_name(CLI::App* command, Options& o) {
  command->add_option("NAME", o.name, "the segment's name (1 to 128 of A-Z a-z 0-9 . _ -)")
      ->required();
}
void add_global(CLI::App* command, Options& o) {
  command->add_flag("--global", o.global,
                    "Windows: the machine-wide Global\\ namespace instead of the session's");
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
      ->check(CLI::NonNegativeNumber);
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{
      "sharedmem: list, inspect, read, write, watch and hold named shared memory segments.",
      "sharedmem"};
  app.footer(kExitStatuses);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sharedmem ") + SHAREDMEM_TOOL_VERSION + " (" +
                                        sharedmem_backend() + " backend)");

  auto* list = app.add_subcommand(
      "list",
      "List the live segments of this user (Linux) or session (Windows): name, kind, capacity, "
      "value size, version, holders and state; objects of the naming scheme that are not "
      "usable segments are listed with their state (foreign, not-owner, incompatible, "
      "unfinished).");
  list->add_flag("--json", o.json, "a JSON array, one object per segment");
  list->add_flag("--all", o.all, "also what killed users left behind (state dead)");
  add_global(list, o);

  auto* info = app.add_subcommand(
      "info", "Show one segment: what list shows, plus the layout version, the OS object's name, "
              "owner and permissions. Exits 3 if no live segment has the name, 1 if something "
              "else does.");
  add_name(info, o);
  info->add_flag("--json", o.json, "a JSON object");
  add_global(info, o);

  auto* get = app.add_subcommand("get", "Write the current value to stdout, as it is (bytes).");
  add_name(get, o);
  get->add_flag("--json", o.json,
                "a JSON object with name, version, size and value (text) or value_base64");
  add_encoding(get, o);
  add_global(get, o);

  auto* set = app.add_subcommand(
      "set", "Write a value. The segment must be held by a live process (see hold): a value "
             "written to a segment nobody holds would vanish with this command.");
  add_name(set, o);
  set->add_option("VALUE", o.value, "the value, or - to read it from stdin")->required();
  add_encoding(set, o);
  add_global(set, o);

  auto* hold = app.add_subcommand(
      "hold", "Create or open the segment and keep it alive until SIGINT or SIGTERM (Ctrl+C), "
              "printing 'ready' once it holds it.");
  add_name(hold, o);
  hold->add_option("--capacity", o.capacity,
                   "capacity in bytes (K, M, G, T: binary multiples); without it, join a live "
                   "segment at its own capacity");
  hold->add_option("--value", o.initial_value, "write this value once it holds the segment");
  hold->add_flag("--raw", o.raw, "a raw segment (where the library supports them)");
  hold->add_flag("--until-stdin-closes", o.until_stdin_closes,
                 "also stop when standard input reaches its end");
  add_encoding(hold, o);
  add_global(hold, o);

  auto* watch = app.add_subcommand(
      "watch", "Print the current value, then each new value as it is published, one per line "
               "(use --json for values with line breaks; raw segments: each new version). "
               "Sleeps between changes; no polling.");
  add_name(watch, o);
  watch->add_option("--count", o.count, "stop after this many values (the current one counts)")
      ->check(CLI::PositiveNumber);
  add_timeout(watch, o, "give up with status 4 after this long");
  watch->add_flag("--json", o.json, "one JSON object per line: version, size, value");
  add_encoding(watch, o);
  add_global(watch, o);

  auto* wait = app.add_subcommand("wait", "Block until the value changes, then exit 0.");
  add_name(wait, o);
  add_timeout(wait, o, "exit with status 4 if nothing changed by then");
  add_global(wait, o);

  const std::vector<std::string> arguments = utf8_arguments(argc, argv);
  std::vector<const char*> pointers;
  for (const std::string& argument : arguments) pointers.push_back(argument.c_str());
  try {
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);  // help and version on stdout, errors on stderr
    return status == 0 ? kOk : kUsage;
  }
  if (*get || *watch || *set || *hold) use_binary_stdio();
  if (*list) return run_list(o);
  if (*info) return run_info(o);
  if (*get) return run_get(o);
  if (*set) return run_set(o);
  if (*hold) return run_hold(o);
  if (*watch) return run_watch(o);
  if (*wait) return run_wait(o);
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
