// SPDX-License-Identifier: MIT
// sharedmem_setget: the seed's SetSharedMem/GetSharedMem over a default
// segment, built on sharedmem's public C API only (sharedmem_open, _write,
// _read, _close), so it needs nothing of the core's internals.
//
// The default segment is attached by a static object's constructor and
// detached by its destructor. Both toolchains run those when this library is
// loaded and unloaded (ELF: at program start or dlopen, at exit or dlclose;
// PE: from the DLL's entry point on DLL_PROCESS_ATTACH/DETACH), which is
// exactly the seed's lifetime rule. The core library does nothing at load.
#include <atomic>
#include <cstdint>
#include <chrono>
#include <wchar.h>  // wcsnlen (POSIX 2008, MSVC and MinGW), not in std::
#include <thread>

#include "environment.hpp"
#include "sharedmem/setget.h"
#include "threads_lost.hpp"

namespace sharedmem::setget {
namespace {

class DefaultSegment {
 public:
  DefaultSegment() noexcept {
    // secure_getenv on Linux: a setuid program does not take the name from
    // whoever started it.
    const char* name = platform::environment_variable("SHAREDMEM_DEFAULT_SEGMENT");
    if (name == nullptr || *name == '\0') name = SHAREDMEM_DEFAULT_SEGMENT_NAME;
    sharedmem_segment* segment = nullptr;
    status_ = sharedmem_open(name, SHAREDMEM_DEFAULT_CAPACITY_BYTES, 0, &segment);
    segment_.store(segment);
    (void)platform::on_threads_lost(&forget_lost_threads);
  }

  // Runs at exit or unload, possibly while other threads are still inside
  // SetSharedMem/GetSharedMem (at exit() they keep running): new calls find
  // no segment, and the unmapping waits for the calls in flight to leave.
  // Calls of threads that no longer exist are not waited for (see
  // forget_lost_threads). A call that never leaves (a thread stopped inside
  // it) leaves the segment to the core's detach at exit, which keeps the
  // pages mapped, rather than hang the process.
  ~DefaultSegment() {
    status_ = SHAREDMEM_E_NOT_ATTACHED;
    sharedmem_segment* segment = segment_.exchange(nullptr);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (calls_in_flight_.load() > 0) {
      if (std::chrono::steady_clock::now() > deadline) return;
      std::this_thread::yield();
    }
    sharedmem_close(segment);
  }

  // The threads counted in flight are gone (the child of a fork, or a
  // process that Windows is terminating): none of them will ever leave.
  static void forget_lost_threads() noexcept;
  DefaultSegment(const DefaultSegment&) = delete;
  DefaultSegment& operator=(const DefaultSegment&) = delete;

  // Holds the segment for the length of one Set or Get. Both sides use
  // sequentially consistent operations: either the destructor sees the call
  // counted, or the call sees the segment gone.
  class Use {
   public:
    explicit Use(DefaultSegment& owner) noexcept : owner_(owner) {
      owner_.calls_in_flight_.fetch_add(1);
      segment_ = owner_.segment_.load();
    }
    ~Use() { owner_.calls_in_flight_.fetch_sub(1); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    // Null when attaching failed or the library is going away.
    sharedmem_segment* segment() const noexcept { return segment_; }

   private:
    DefaultSegment& owner_;
    sharedmem_segment* segment_;
  };

  sharedmem_error status() const noexcept { return status_; }
  // Borrowed by sharedmem_default_segment's callers, who must not use it
  // past unload (as for every function of this library).
  sharedmem_segment* segment() const noexcept { return segment_.load(); }

 private:
  std::atomic<sharedmem_segment*> segment_{nullptr};
  std::atomic<int> calls_in_flight_{0};
  std::atomic<sharedmem_error> status_{SHAREDMEM_E_NOT_ATTACHED};
};

DefaultSegment g_default_segment;

void DefaultSegment::forget_lost_threads() noexcept { g_default_segment.calls_in_flight_.store(0); }

}  // namespace
}  // namespace sharedmem::setget

extern "C" {

void SHAREDMEM_CALL SetSharedMem(const wchar_t* text) {
  if (text == nullptr) return;
  const sharedmem::setget::DefaultSegment::Use use(sharedmem::setget::g_default_segment);
  if (use.segment() == nullptr) return;
  // Truncation: the scan for the terminator stops at the capacity, so a text
  // longer than the segment (or missing its terminator past that) is never
  // read beyond what is stored. The terminator is not stored: the value's
  // length says where the string ends.
  const std::size_t chars = ::wcsnlen(text, SHAREDMEM_DEFAULT_CAPACITY_CHARS);
  // A failure here (only a live peer holding the writer lock for 10 s) has
  // no way out through the seed's void signature; the value stays unchanged.
  (void)sharedmem_write(use.segment(), text, chars * sizeof(wchar_t));
}

void SHAREDMEM_CALL GetSharedMem(wchar_t* buffer, uint32_t cch) {
  if (buffer == nullptr || cch == 0) return;
  const sharedmem::setget::DefaultSegment::Use use(sharedmem::setget::g_default_segment);
  std::uint64_t chars = 0;
  if (use.segment() != nullptr) {
    // Room for cch - 1 characters; the terminator goes after what was read.
    const std::uint64_t room = static_cast<std::uint64_t>(cch - 1) * sizeof(wchar_t);
    std::uint64_t bytes = 0;
    if (sharedmem_read(use.segment(), buffer, room, &bytes) == SHAREDMEM_OK)
      chars = (bytes < room ? bytes : room) / sizeof(wchar_t);
  }
  buffer[chars] = L'\0';
}

sharedmem_error SHAREDMEM_CALL sharedmem_default_status(void) {
  return sharedmem::setget::g_default_segment.status();
}

sharedmem_segment* SHAREDMEM_CALL sharedmem_default_segment(void) {
  return sharedmem::setget::g_default_segment.segment();
}

}  // extern "C"
