// SPDX-License-Identifier: MIT
// The seed's API in C++ terms, over sharedmem_setget's default segment
// (setget.h; link sharedmem::setget). Header-only, like sharedmem.hpp.
#ifndef SHAREDMEM_SETGET_HPP
#define SHAREDMEM_SETGET_HPP

#include <cstdint>
#include <string>

#include "sharedmem/setget.h"

namespace sharedmem {

inline void set_shared_mem(const std::wstring& text) { SetSharedMem(text.c_str()); }
inline std::wstring get_shared_mem() {
  std::wstring text(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1, L'\0');
  GetSharedMem(text.data(), static_cast<std::uint32_t>(text.size()));
  text.resize(std::char_traits<wchar_t>::length(text.c_str()));
  return text;
}

}  // namespace sharedmem

#endif  // SHAREDMEM_SETGET_HPP
