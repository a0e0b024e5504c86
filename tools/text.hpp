// SPDX-License-Identifier: MIT
// Text for the sharedmem command: wide strings as the Set/Get API stores
// them (wchar_t units, UTF-32 on Linux, UTF-16 on Windows) to and from
// UTF-8, and base64 for bytes that are no text.
#ifndef SHAREDMEM_TOOLS_TEXT_HPP
#define SHAREDMEM_TOOLS_TEXT_HPP

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>

#include "json.hpp"  // json_string, which the bridge takes from here

namespace sharedmem_cli {

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Decodes UTF-8; nullopt if `text` is not valid UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF are invalid).
inline std::optional<std::u32string> decode_utf8(const std::string& text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t c = 0;
    if (lead < 0x80) {
      c = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      c = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      c = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      c = lead & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + static_cast<std::size_t>(extra) >= text.size() && extra != 0) return std::nullopt;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return std::nullopt;
      c = (c << 6) | (next & 0x3F);
    }
    static constexpr char32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (c < kMinimum[extra] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    out += c;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

inline bool is_utf8(const std::string& text) { return decode_utf8(text).has_value(); }

// The bytes of a wide string as SetSharedMem stores it (native wchar_t
// units, no terminator) for UTF-8 `text`; nullopt if it is not UTF-8.
inline std::optional<std::string> utf8_to_wide_bytes(const std::string& text) {
  const std::optional<std::u32string> code_points = decode_utf8(text);
  if (!code_points) return std::nullopt;
  std::wstring wide;
  for (char32_t c : *code_points) {
    if (sizeof(wchar_t) == 2 && c >= 0x10000) {  // UTF-16: a surrogate pair
      c -= 0x10000;
      wide += static_cast<wchar_t>(0xD800 + (c >> 10));
      wide += static_cast<wchar_t>(0xDC00 + (c & 0x3FF));
    } else {
      wide += static_cast<wchar_t>(c);
    }
  }
  return std::string(reinterpret_cast<const char*>(wide.data()), wide.size() * sizeof(wchar_t));
}

// Decodes the wide string in `bytes` (native wchar_t units, up to the first
// NUL unit or the end; a trailing partial unit is ignored) to UTF-8.
// Units that are no character (a lone surrogate, past U+10FFFF) become
// U+FFFD.
inline std::string wide_bytes_to_utf8(const std::string& bytes) {
  std::string out;
  const std::size_t units = bytes.size() / sizeof(wchar_t);
  for (std::size_t i = 0; i < units; ++i) {
    wchar_t unit;
    std::memcpy(&unit, bytes.data() + i * sizeof(wchar_t), sizeof unit);
    if (unit == 0) break;
    auto c = static_cast<char32_t>(static_cast<std::make_unsigned_t<wchar_t>>(unit));
    if (sizeof(wchar_t) == 2 && c >= 0xD800 && c <= 0xDBFF && i + 1 < units) {
      wchar_t low;
      std::memcpy(&low, bytes.data() + (i + 1) * sizeof(wchar_t), sizeof low);
      const auto l = static_cast<char32_t>(static_cast<std::make_unsigned_t<wchar_t>>(low));
      if (l >= 0xDC00 && l <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (l - 0xDC00);
        ++i;
      }
    }
    if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD;
    append_utf8(out, c);
  }
  return out;
}

inline std::string base64(const std::string& bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kDigits[n >> 18];
    out += kDigits[(n >> 12) & 63];
    out += kDigits[(n >> 6) & 63];
    out += kDigits[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kDigits[n >> 18];
    out += kDigits[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_TEXT_HPP
