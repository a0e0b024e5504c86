// SPDX-License-Identifier: MIT
// Byte movers between private buffers and shared slots. Reads race with
// writers by design (the seqlock in layout.hpp discards torn copies), so
// every access to slot bytes goes through these few functions.
#ifndef SHAREDMEM_SRC_COPY_HPP
#define SHAREDMEM_SRC_COPY_HPP

#include <cstdint>
#include <cstring>

namespace sharedmem::detail {

inline std::uint64_t copy_bytes_in(unsigned char* slot, const void* source, std::uint64_t size,
                                   std::uint64_t /*capacity*/) {
  if (size != 0) std::memcpy(slot, source, static_cast<std::size_t>(size));
  return size;
}

// Copies a null-terminated wide string, truncated to what fits in `capacity`
// bytes with room left for a terminator; returns its length in bytes (the
// terminator is not stored: the length says where the string ends).
inline std::uint64_t copy_wide_string_in(unsigned char* slot, const void* source,
                                         std::uint64_t /*size*/, std::uint64_t capacity) {
  const auto* text = static_cast<const wchar_t*>(source);
  auto* out = reinterpret_cast<wchar_t*>(slot);  // slots are 64-byte aligned
  const std::size_t max_chars = static_cast<std::size_t>(capacity / sizeof(wchar_t)) - 1;
  std::size_t chars = 0;
  for (; chars < max_chars && text[chars] != L'\0'; ++chars) out[chars] = text[chars];
  return chars * sizeof(wchar_t);
}

inline void copy_out(void* destination, const unsigned char* slot, std::uint64_t size) {
  if (size != 0) std::memcpy(destination, slot, static_cast<std::size_t>(size));
}

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_COPY_HPP
