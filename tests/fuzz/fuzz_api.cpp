// SPDX-License-Identifier: MIT
// libFuzzer target over the public C API: the input is a program of calls
// (open, write, read, close, in-place writes: begin, commit, abort,
// SetSharedMem, GetSharedMem, strerror, and the raw calls data, lock,
// unlock, notify, version) with
// fuzzed names, sizes, flags and payloads. Every result is checked against a
// model of what the library must do, so a wrong answer is a finding as much
// as a crash. Every handle is closed at the end of each input, so segments
// never outlive one input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

namespace {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return offset_ >= size_; }
  std::uint8_t byte() { return offset_ < size_ ? data_[offset_++] : 0; }
  std::uint64_t number(int bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | byte();
    return value;
  }
  std::string bytes(std::size_t count) {
    std::string out;
    while (count-- && !empty()) out.push_back(static_cast<char>(byte()));
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "model violated: %s\n", what);
    std::abort();
  }
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > SHAREDMEM_MAX_NAME_LENGTH || name[0] == '.') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

// Capacities worth trying: edges, ordinary sizes, and absurd ones. Sizes
// the machine could back but that would take long to fault in are left out.
std::uint64_t pick_capacity(Input& in) {
  static const std::uint64_t kChoices[] = {0,          1,          7,          64,
                                           4096,       65536,      UINT64_MAX, UINT64_MAX / 2,
                                           1ull << 41, 1ull << 62, 3};
  const std::uint8_t selector = in.byte();
  if (selector < 200) return kChoices[selector % (sizeof kChoices / sizeof kChoices[0])];
  return in.number(2) + 1;  // 1..65536
}

struct Handle {
  sharedmem_segment* segment;
  std::string name;
  bool begun = false;  // an in-place write is open on this handle
  std::string pending;  // what it was filled with
};

struct Model {
  std::vector<Handle> handles;
  std::map<std::string, std::string> values;      // per open name (raw: the buffer)
  std::map<std::string, std::uint64_t> capacity;  // per open name
  std::map<std::string, std::uint64_t> versions;  // per open name
  std::map<std::string, bool> raw;                // per open name: SHAREDMEM_RAW
  // The handle whose raw lock this (only) thread holds, per open raw name.
  std::map<std::string, sharedmem_segment*> lock_holder;
  std::wstring default_text;
  bool default_known = false;

  std::size_t open_count(const std::string& name) const {
    std::size_t n = 0;
    for (const Handle& h : handles) n += h.name == name;
    return n;
  }
  // This (only) thread has an in-place write open on the segment, through
  // any handle: it holds its writer lock.
  bool writing(const std::string& name) const {
    for (const Handle& h : handles)
      if (h.name == name && h.begun) return true;
    return false;
  }
};

void do_open(Input& in, Model& model) {
  std::string name = in.bytes(in.byte() % 140);
  if (in.byte() < 128) name = "fz_" + name.substr(0, 40);  // often valid, never the default
  const std::uint64_t capacity = pick_capacity(in);
  const std::uint8_t flag_selector = in.byte();
  const std::uint32_t flags = flag_selector < 170   ? 0
                              : flag_selector < 250 ? SHAREDMEM_RAW
                                                    : in.byte();
  sharedmem_segment* segment = reinterpret_cast<sharedmem_segment*>(&model);
  const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
  const std::string c_name = name.c_str();  // what the C API sees
  if ((flags & (SHAREDMEM_ANY_KIND | SHAREDMEM_READ_ONLY)) != 0) {
    // Not modelled (the kind comes from the live segment; a read-only
    // handle only joins): it must only work on a live name, and the extra
    // handle changes no lifetime.
    if (e == SHAREDMEM_OK) {
      check(model.open_count(c_name) != 0, "ANY_KIND and READ_ONLY open only a live segment");
      sharedmem_close(segment);
    } else if ((flags & SHAREDMEM_READ_ONLY) != 0 && (flags & SHAREDMEM_CREATE_ONLY) != 0 &&
               valid_name(c_name)) {
      check(e == SHAREDMEM_E_INVALID_ARGUMENT, "READ_ONLY with CREATE_ONLY is refused");
    }
    return;
  }
  const std::uint32_t modes = SHAREDMEM_CREATE_ONLY | SHAREDMEM_OPEN_ONLY;
  const bool known_flags = (flags & ~(SHAREDMEM_SCOPE_GLOBAL | SHAREDMEM_RAW | modes)) == 0 &&
                           (flags & modes) != modes;
  const bool raw = (flags & SHAREDMEM_RAW) != 0;
  const bool create_only = (flags & SHAREDMEM_CREATE_ONLY) != 0;
  const bool open_only = (flags & SHAREDMEM_OPEN_ONLY) != 0;
  const bool global = (flags & SHAREDMEM_SCOPE_GLOBAL) != 0;
  const bool is_open = model.open_count(c_name) != 0;
  if (e != SHAREDMEM_OK) {
    check(segment == nullptr, "out is null after a failed open");
    check(std::strlen(sharedmem_strerror(e)) > 0, "every error has a message");
    if (!valid_name(c_name)) check(e == SHAREDMEM_E_INVALID_NAME, "bad name -> INVALID_NAME");
    if (valid_name(c_name) && !known_flags) check(e == SHAREDMEM_E_INVALID_ARGUMENT, "bad flags");
    if (valid_name(c_name) && flags == 0 && capacity == 0)
      check(e == SHAREDMEM_E_INVALID_SIZE, "capacity 0");
    if (is_open && flags == 0 && capacity != 0 && capacity <= 65536 &&
        model.capacity[c_name] != capacity && !model.raw[c_name])
      check(e == SHAREDMEM_E_SIZE_MISMATCH, "open with another capacity -> SIZE_MISMATCH");
    if (is_open && (flags == 0 || flags == SHAREDMEM_RAW) && capacity != 0 &&
        capacity <= 65536 && model.raw[c_name] != raw)
      check(e == SHAREDMEM_E_WRONG_KIND, "a live segment of the other kind -> WRONG_KIND");
    return;
  }
  check(!is_open || model.raw[c_name] == raw, "a name lives as one kind");
  check(valid_name(c_name) && known_flags && !global, "only valid requests succeed");
  check(capacity != 0 || (open_only && is_open), "capacity 0 only opens a live segment");
  check(!create_only || !is_open, "CREATE_ONLY never opens a live segment");
  check(!open_only || is_open, "OPEN_ONLY never creates");
  const std::uint64_t expected = capacity != 0 ? capacity : model.capacity[c_name];
  check(sharedmem_capacity(segment) == expected, "capacity as requested");
  check((sharedmem_created(segment) == 1) == !is_open, "created() says who created it");
  check((sharedmem_data(segment) != nullptr) == raw, "data only for a raw segment");
  if (!is_open) {
    model.values[c_name].clear();  // a new segment starts empty, at version 0
    if (raw) model.values[c_name].assign(static_cast<std::size_t>(capacity), '\0');
    model.capacity[c_name] = capacity;
    model.raw[c_name] = raw;
    model.versions[c_name] = 0;
    model.lock_holder[c_name] = nullptr;
  } else {
    check(model.capacity[c_name] == expected, "reopen only at the live capacity");
  }
  model.handles.push_back({segment, c_name});
}

void do_write(Input& in, Model& model) {
  if (model.handles.empty()) {
    check(sharedmem_write(nullptr, "x", 1) == SHAREDMEM_E_INVALID_ARGUMENT, "null handle");
    return;
  }
  Handle& h = model.handles[in.byte() % model.handles.size()];
  const std::string payload = in.bytes(in.number(2) % 5000);
  const std::uint64_t capacity = model.capacity[h.name];
  const sharedmem_error e = sharedmem_write(h.segment, payload.data(), payload.size());
  if (model.raw[h.name]) {
    check(e == SHAREDMEM_E_WRONG_KIND, "write refuses a raw segment");
  } else if (payload.size() > capacity) {
    check(e == SHAREDMEM_E_VALUE_TOO_LARGE, "oversized write refused");
  } else if (model.writing(h.name)) {
    check(e == SHAREDMEM_E_WOULD_DEADLOCK, "a write while this thread's in-place write is open");
  } else {
    check(e == SHAREDMEM_OK, "write within capacity succeeds");
    model.values[h.name] = payload;
    ++model.versions[h.name];
  }
}

// Sizes for an in-place write: within the capacity (often all of it), just
// beyond it, or absurd.
std::uint64_t pick_write_size(Input& in, std::uint64_t capacity) {
  const std::uint8_t selector = in.byte();
  if (selector < 8) return capacity + 1;
  if (selector < 12) return UINT64_MAX;
  if (selector < 40) return capacity;
  return in.number(2) % (capacity + 1);
}

void do_begin(Input& in, Model& model) {
  const bool null_out = in.byte() < 8;
  void* data = &model;
  if (model.handles.empty() || in.byte() < 4) {
    check(sharedmem_write_begin(nullptr, 1, null_out ? nullptr : &data) ==
              SHAREDMEM_E_INVALID_ARGUMENT,
          "begin on a null handle");
    check(null_out || data == nullptr, "a failed begin nulls *data");
    return;
  }
  Handle& h = model.handles[in.byte() % model.handles.size()];
  const std::uint64_t capacity = model.capacity[h.name];
  const std::uint64_t size = pick_write_size(in, capacity);
  const sharedmem_error e = sharedmem_write_begin(h.segment, size, null_out ? nullptr : &data);
  if (model.raw[h.name] || null_out) {
    check(e == (null_out ? SHAREDMEM_E_INVALID_ARGUMENT : SHAREDMEM_E_WRONG_KIND),
          "begin refuses a null pointer, then a raw segment");
    check(null_out || data == nullptr, "a failed begin nulls *data");
    return;
  }
  if (null_out) {
    check(e == SHAREDMEM_E_INVALID_ARGUMENT, "begin with a null data pointer");
    return;
  }
  if (e != SHAREDMEM_OK) {
    check(data == nullptr, "a failed begin nulls *data");
    if (size > capacity)
      check(e == SHAREDMEM_E_VALUE_TOO_LARGE, "begin beyond the capacity");
    else
      check(model.writing(h.name) && e == SHAREDMEM_E_WOULD_DEADLOCK,
            "begin fails only while this thread writes the segment");
    return;
  }
  check(size <= capacity && !model.writing(h.name), "begin succeeds only when it may");
  check(data != nullptr, "begin hands out the slot");
  // Fill all of it: a fuzzed head, then a byte pattern.
  std::string fill = in.bytes(static_cast<std::size_t>(size < 64 ? size : 64));
  const char filler = static_cast<char>(in.byte());
  fill.resize(static_cast<std::size_t>(size), filler);
  if (size != 0) std::memcpy(data, fill.data(), fill.size());
  h.begun = true;
  h.pending = fill;
}

void do_commit(Input& in, Model& model) {
  if (model.handles.empty()) {
    check(sharedmem_write_commit(nullptr, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT, "null");
    return;
  }
  Handle& h = model.handles[in.byte() % model.handles.size()];
  std::uint64_t version = 12345;
  const sharedmem_error e = sharedmem_write_commit(h.segment, &version);
  if (model.raw[h.name]) {
    check(e == SHAREDMEM_E_WRONG_KIND, "commit refuses a raw segment");
    return;
  }
  if (!h.begun) {
    check(e == SHAREDMEM_E_NOT_HELD, "commit with no write begun on this handle");
    check(version == model.versions[h.name], "a refused commit reports the version");
    return;
  }
  check(e == SHAREDMEM_OK, "commit of a begun write succeeds");
  h.begun = false;
  model.values[h.name] = h.pending;
  check(version == ++model.versions[h.name], "commit reports the new version");
}

void do_abort(Input& in, Model& model) {
  if (model.handles.empty()) {
    sharedmem_write_abort(nullptr);
    return;
  }
  Handle& h = model.handles[in.byte() % model.handles.size()];
  sharedmem_write_abort(h.segment);
  h.begun = false;  // nothing published either way
}

void do_read(Input& in, Model& model) {
  if (model.handles.empty()) return;
  Handle& h = model.handles[in.byte() % model.handles.size()];
  const std::size_t room = static_cast<std::size_t>(in.number(2) % 6000);
  std::vector<char> buffer(room + 16, '\x7e');
  std::uint64_t size = 0;
  const sharedmem_error e = sharedmem_read(h.segment, room ? buffer.data() : nullptr, room, &size);
  if (model.raw[h.name]) {
    check(e == SHAREDMEM_E_WRONG_KIND, "read refuses a raw segment");
    for (char c : buffer) check(c == '\x7e', "a refused read copies nothing");
    return;
  }
  check(e == SHAREDMEM_OK, "read succeeds");
  const std::string& expected = model.values[h.name];
  check(size == expected.size(), "read reports the value's size");
  check(sharedmem_version(h.segment) == model.versions[h.name], "version counts completed writes");
  const std::size_t copied = expected.size() < room ? expected.size() : room;
  check(std::memcmp(buffer.data(), expected.data(), copied) == 0, "read copies the value");
  for (std::size_t i = room; i < buffer.size(); ++i) check(buffer[i] == '\x7e', "no overrun");
}

void do_close(Input& in, Model& model) {
  if (model.handles.empty()) {
    sharedmem_close(nullptr);
    return;
  }
  const std::size_t index = in.byte() % model.handles.size();
  // A close releases the raw lock taken through the handle.
  sharedmem_segment*& holder = model.lock_holder[model.handles[index].name];
  if (holder == model.handles[index].segment) holder = nullptr;
  sharedmem_close(model.handles[index].segment);
  model.handles.erase(model.handles.begin() + static_cast<std::ptrdiff_t>(index));
}

void do_set(Input& in, Model& model) {
  if (in.byte() < 10) {
    SetSharedMem(nullptr);
    return;
  }
  std::wstring text;
  const std::size_t length = in.number(2) % 1500;
  for (std::size_t i = 0; i < length && !in.empty(); ++i) {
    const wchar_t c = static_cast<wchar_t>(in.number(2));
    if (c == 0) break;
    text.push_back(c);
  }
  SetSharedMem(text.c_str());
  model.default_text = text.substr(0, SHAREDMEM_DEFAULT_CAPACITY_CHARS);
  model.default_known = true;
}

void do_get(Input& in, Model& model) {
  const std::uint32_t cch = static_cast<std::uint32_t>(in.number(2) % 2100);
  std::vector<wchar_t> buffer(cch + 8, L'\x7e');
  const bool null_buffer = in.byte() < 5;
  GetSharedMem(null_buffer ? nullptr : buffer.data(), cch);
  const std::size_t untouched_from = null_buffer ? 0 : cch;
  for (std::size_t i = untouched_from; i < buffer.size(); ++i)
    check(buffer[i] == L'\x7e', "Get writes nothing past cch, or at all for a null buffer");
  if (null_buffer || cch == 0 || !model.default_known) return;
  const std::wstring got(buffer.data());
  const std::wstring expected = model.default_text.substr(0, cch - 1);
  check(got == expected, "Get returns the prefix that fits");
}

// One raw call on a handle of either kind: data (a write through one handle
// read back through the model), lock, unlock, notify, version.
void do_raw(Input& in, Model& model) {
  const std::uint8_t call = in.byte() % 5;
  if (model.handles.empty()) {
    std::uint64_t version = 1;
    check(sharedmem_data(nullptr) == nullptr, "null handle: no data");
    check(sharedmem_lock(nullptr, in.byte()) == SHAREDMEM_E_INVALID_ARGUMENT, "null lock");
    check(sharedmem_unlock(nullptr) == SHAREDMEM_E_INVALID_ARGUMENT, "null unlock");
    check(sharedmem_notify(nullptr, call ? &version : nullptr) == SHAREDMEM_E_INVALID_ARGUMENT,
          "null notify");
    return;
  }
  Handle& h = model.handles[in.byte() % model.handles.size()];
  const bool raw = model.raw[h.name];
  std::uint64_t version = 0;
  switch (call) {
    case 0: {
      auto* data = static_cast<unsigned char*>(sharedmem_data(h.segment));
      if (!raw) {
        check(data == nullptr, "a value segment has no data");
        return;
      }
      std::string& bytes = model.values[h.name];
      check(bytes.size() == model.capacity[h.name], "model buffer size");
      check(std::memcmp(data, bytes.data(), bytes.size()) == 0, "every handle sees the buffer");
      const std::size_t at = static_cast<std::size_t>(in.number(2) % bytes.size());
      const std::string payload = in.bytes(in.byte() % 64).substr(0, bytes.size() - at);
      std::memcpy(data + at, payload.data(), payload.size());
      bytes.replace(at, payload.size(), payload);
      return;
    }
    case 1: {
      const sharedmem_error e = sharedmem_lock(h.segment, 0);
      sharedmem_segment*& holder = model.lock_holder[h.name];
      if (!raw)
        check(e == SHAREDMEM_E_WRONG_KIND, "lock refuses a value segment");
      else if (holder != nullptr)
        check(e == SHAREDMEM_E_WOULD_DEADLOCK, "the holder thread locking again");
      else {
        check(e == SHAREDMEM_OK, "a free lock is taken");
        holder = h.segment;
      }
      return;
    }
    case 2: {
      const sharedmem_error e = sharedmem_unlock(h.segment);
      sharedmem_segment*& holder = model.lock_holder[h.name];
      if (raw && holder == h.segment) {
        check(e == SHAREDMEM_OK, "the holder unlocks");
        holder = nullptr;
      } else {
        check(e == (raw ? SHAREDMEM_E_NOT_HELD : SHAREDMEM_E_WRONG_KIND),
              "unlock without the lock through this handle");
      }
      return;
    }
    case 3: {
      const sharedmem_error e = sharedmem_notify(h.segment, &version);
      if (!raw) {
        check(e == SHAREDMEM_E_WRONG_KIND, "notify refuses a value segment");
        return;
      }
      check(e == SHAREDMEM_OK && version == ++model.versions[h.name], "notify counts");
      return;
    }
    default:
      if (raw) {
        check(sharedmem_version(h.segment) == model.versions[h.name], "raw version");
        check(sharedmem_wait(h.segment, model.versions[h.name] + 1, 0, &version) == SHAREDMEM_OK &&
                  version == model.versions[h.name],
              "wait returns at once on another version");
      }
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Model model;
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    switch (in.byte() % 11) {
      case 0: do_open(in, model); break;
      case 1: do_write(in, model); break;
      case 2: do_read(in, model); break;
      case 3: do_close(in, model); break;
      case 4: do_set(in, model); break;
      case 5: do_get(in, model); break;
      case 6:
        check(sharedmem_strerror(static_cast<sharedmem_error>(in.byte())) != nullptr, "message");
        break;
      case 7: do_begin(in, model); break;
      case 8: do_commit(in, model); break;
      case 9: do_abort(in, model); break;
      case 10: do_raw(in, model); break;
    }
  }
  for (Handle& h : model.handles) sharedmem_close(h.segment);
  return 0;
}
