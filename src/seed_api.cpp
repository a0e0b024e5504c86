// SPDX-License-Identifier: MIT
// The seed's SetSharedMem/GetSharedMem over the library's default segment.
//
// The default segment is attached by a static object's constructor and
// detached by its destructor. Both toolchains run those when the library is
// loaded and unloaded (ELF: at program start or dlopen, at exit or dlclose;
// PE: from the DLL's entry point on DLL_PROCESS_ATTACH/DETACH), which is
// exactly the seed's lifetime rule.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "copy.hpp"
#include "segment.hpp"

namespace sharedmem::detail {
namespace {

class DefaultSegment {
 public:
  DefaultSegment() noexcept {
    const char* name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
    if (name == nullptr || *name == '\0') name = SHAREDMEM_DEFAULT_SEGMENT_NAME;
    sharedmem_segment* segment = nullptr;
    status_ = sharedmem_open(name, SHAREDMEM_DEFAULT_CAPACITY_BYTES, 0, &segment);
    segment_.store(segment);
  }

  // Runs at exit or unload, possibly while other threads are still inside
  // SetSharedMem/GetSharedMem (at exit they keep running): new calls find no
  // segment, and the unmapping waits for the calls in flight to leave. A
  // call that never leaves (its thread was killed inside it, or is stopped)
  // makes the segment leak rather than the process hang.
  ~DefaultSegment() {
    status_ = SHAREDMEM_E_NOT_ATTACHED;
    sharedmem_segment* segment = segment_.exchange(nullptr);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (calls_in_flight_.load() != 0) {
      if (std::chrono::steady_clock::now() > deadline) return;
      std::this_thread::yield();
    }
    (void)close_segment(segment);
  }
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

 private:
  std::atomic<sharedmem_segment*> segment_{nullptr};
  std::atomic<int> calls_in_flight_{0};
  std::atomic<sharedmem_error> status_{SHAREDMEM_E_NOT_ATTACHED};
};

DefaultSegment g_default_segment;

}  // namespace
}  // namespace sharedmem::detail

extern "C" {

void SHAREDMEM_CALL SetSharedMem(const wchar_t* text) {
  if (text == nullptr) return;
  const sharedmem::detail::DefaultSegment::Use use(sharedmem::detail::g_default_segment);
  if (use.segment() == nullptr) return;
  // A failure here (only a live peer holding the writer lock for 10 s) has
  // no way out through the seed's void signature; the value stays unchanged.
  (void)sharedmem::detail::write_segment(use.segment(), text, 0,
                                         sharedmem::detail::copy_wide_string_in);
}

void SHAREDMEM_CALL GetSharedMem(wchar_t* buffer, uint32_t cch) {
  if (buffer == nullptr || cch == 0) return;
  const sharedmem::detail::DefaultSegment::Use use(sharedmem::detail::g_default_segment);
  std::uint64_t chars = 0;
  if (use.segment() != nullptr) {
    const std::uint64_t room = static_cast<std::uint64_t>(cch - 1) * sizeof(wchar_t);
    std::uint64_t bytes = 0;
    (void)sharedmem::detail::read_segment(use.segment(), buffer, room, &bytes);
    chars = (bytes < room ? bytes : room) / sizeof(wchar_t);
  }
  buffer[chars] = L'\0';
}

sharedmem_error SHAREDMEM_CALL sharedmem_default_status(void) {
  return sharedmem::detail::g_default_segment.status();
}

}  // extern "C"
