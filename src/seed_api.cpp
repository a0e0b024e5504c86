// SPDX-License-Identifier: MIT
// The seed's SetSharedMem/GetSharedMem over the library's default segment.
//
// The default segment is attached by a static object's constructor and
// detached by its destructor. Both toolchains run those when the library is
// loaded and unloaded (ELF: at program start or dlopen, at exit or dlclose;
// PE: from the DLL's entry point on DLL_PROCESS_ATTACH/DETACH), which is
// exactly the seed's lifetime rule.
#include <atomic>
#include <cstdlib>

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
    segment_.store(segment, std::memory_order_release);
  }
  ~DefaultSegment() {
    status_ = SHAREDMEM_E_NOT_ATTACHED;
    close_segment(segment_.exchange(nullptr, std::memory_order_acq_rel));
  }
  DefaultSegment(const DefaultSegment&) = delete;
  DefaultSegment& operator=(const DefaultSegment&) = delete;

  // Null when attaching failed or after unload.
  sharedmem_segment* get() const noexcept { return segment_.load(std::memory_order_acquire); }
  sharedmem_error status() const noexcept { return status_; }

 private:
  std::atomic<sharedmem_segment*> segment_{nullptr};
  sharedmem_error status_ = SHAREDMEM_E_NOT_ATTACHED;
};

DefaultSegment g_default_segment;

}  // namespace
}  // namespace sharedmem::detail

extern "C" {

void SHAREDMEM_CALL SetSharedMem(const wchar_t* text) {
  sharedmem_segment* segment = sharedmem::detail::g_default_segment.get();
  if (text == nullptr || segment == nullptr) return;
  // A failure here (only a live peer holding the writer lock for 10 s) has
  // no way out through the seed's void signature; the value stays unchanged.
  (void)sharedmem::detail::write_segment(segment, text, 0,
                                         sharedmem::detail::copy_wide_string_in);
}

void SHAREDMEM_CALL GetSharedMem(wchar_t* buffer, uint32_t cch) {
  if (buffer == nullptr || cch == 0) return;
  sharedmem_segment* segment = sharedmem::detail::g_default_segment.get();
  std::uint64_t chars = 0;
  if (segment != nullptr) {
    const std::uint64_t room = static_cast<std::uint64_t>(cch - 1) * sizeof(wchar_t);
    const std::uint64_t bytes = sharedmem::detail::read_segment(segment, buffer, room);
    chars = (bytes < room ? bytes : room) / sizeof(wchar_t);
  }
  buffer[chars] = L'\0';
}

sharedmem_error SHAREDMEM_CALL sharedmem_default_status(void) {
  return sharedmem::detail::g_default_segment.status();
}

}  // extern "C"
