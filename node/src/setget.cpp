// SPDX-License-Identifier: MIT
// sharedmem_setget.node: setSharedMem/getSharedMem over the Set/Get library
// (sharedmem/setget.h). A module of its own because loading that library
// attaches the default segment: index.js loads it on the first call only, so
// that using named segments never touches the default one.
#include <napi.h>

#include <string>
#include <vector>

#include "sharedmem/setget.h"

namespace {

// JavaScript strings are UTF-16. wchar_t is UTF-16 on Windows and UTF-32 on
// Linux: there the pairs become code points, and back.
std::vector<wchar_t> to_wide(const std::u16string& text) {
  std::vector<wchar_t> wide;
  wide.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t unit = text[i];
    if constexpr (sizeof(wchar_t) >= 4) {
      if (unit >= 0xD800 && unit < 0xDC00 && i + 1 < text.size() && text[i + 1] >= 0xDC00 &&
          text[i + 1] < 0xE000) {
        unit = 0x10000 + ((unit - 0xD800) << 10) + (text[i + 1] - 0xDC00);
        ++i;
      }
    }
    wide.push_back(static_cast<wchar_t>(unit));
  }
  wide.push_back(L'\0');
  return wide;
}

std::u16string from_wide(const wchar_t* wide) {
  std::u16string text;
  for (; *wide != L'\0'; ++wide) {
    auto unit = static_cast<char32_t>(*wide);
    if (unit >= 0x10000 && unit <= 0x10FFFF) {
      unit -= 0x10000;
      text.push_back(static_cast<char16_t>(0xD800 + (unit >> 10)));
      text.push_back(static_cast<char16_t>(0xDC00 + (unit & 0x3FF)));
    } else {
      text.push_back(static_cast<char16_t>(unit));
    }
  }
  return text;
}

// setSharedMem(text): truncated to SHAREDMEM_DEFAULT_CAPACITY_CHARS characters.
Napi::Value Set(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "text must be a string");
  std::vector<wchar_t> wide = to_wide(info[0].As<Napi::String>().Utf16Value());
  SetSharedMem(wide.data());
  return info.Env().Undefined();
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  std::vector<wchar_t> buffer(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1, L'\0');
  GetSharedMem(buffer.data(), static_cast<uint32_t>(buffer.size()));
  return Napi::String::New(info.Env(), from_wide(buffer.data()));
}

// status() -> the library's error code for the default segment's attach (0: attached).
Napi::Value Status(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sharedmem_default_status()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setSharedMem", Napi::Function::New<Set>(env, "setSharedMem"));
  exports.Set("getSharedMem", Napi::Function::New<Get>(env, "getSharedMem"));
  exports.Set("status", Napi::Function::New<Status>(env, "status"));
  exports.Set("capacityChars", Napi::Number::New(env, static_cast<double>(SHAREDMEM_DEFAULT_CAPACITY_CHARS)));
  return exports;
}

}  // namespace

NODE_API_MODULE(sharedmem_setget, Init)
