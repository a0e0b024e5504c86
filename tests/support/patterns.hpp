// SPDX-License-Identifier: MIT
// Self-checking values for consistency tests: value k has a length and a
// fill derived from k, so any mix of two writes is detected by its bytes.
#ifndef SHAREDMEM_TESTS_SUPPORT_PATTERNS_HPP
#define SHAREDMEM_TESTS_SUPPORT_PATTERNS_HPP

#include <cstdint>
#include <string>

namespace sharedmem_test {

// A value of 8 + (k * 7919 % span) bytes: k in the first 8 bytes, then the
// byte (k * 31 + i) & 0xff at position i.
inline std::string pattern_value(std::uint64_t k, std::size_t span) {
  std::string value(8 + static_cast<std::size_t>(k * 7919 % span), '\0');
  for (int i = 0; i < 8; ++i) value[i] = static_cast<char>((k >> (8 * i)) & 0xff);
  for (std::size_t i = 8; i < value.size(); ++i)
    value[i] = static_cast<char>((k * 31 + i) & 0xff);
  return value;
}

// True for the empty value (never written) and for intact pattern values.
inline bool is_intact_pattern(const std::string& value, std::size_t span) {
  if (value.empty()) return true;
  if (value.size() < 8) return false;
  std::uint64_t k = 0;
  for (int i = 0; i < 8; ++i)
    k |= static_cast<std::uint64_t>(static_cast<unsigned char>(value[i])) << (8 * i);
  return value == pattern_value(k, span);
}

// The same for wide strings through SetSharedMem: 1 + k % span characters,
// all equal to 'A' + length % 26, so a length from one write with characters
// from another is detected.
inline std::wstring pattern_text(std::uint64_t k, std::size_t span) {
  const std::size_t length = 1 + static_cast<std::size_t>(k % span);
  return std::wstring(length, static_cast<wchar_t>(L'A' + length % 26));
}

inline bool is_intact_text(const std::wstring& text) {
  for (wchar_t c : text)
    if (c != static_cast<wchar_t>(L'A' + text.size() % 26)) return false;
  return true;
}

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_PATTERNS_HPP
