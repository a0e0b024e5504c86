// SPDX-License-Identifier: MIT
// The sharedmem command's one JSON writer: every --json output is built
// here, member by member, so quoting and escaping live in one place. The
// documents and their schema are described in docs/cli.md.
#ifndef SHAREDMEM_TOOLS_JSON_HPP
#define SHAREDMEM_TOOLS_JSON_HPP

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sharedmem_cli {

// The version of the --json schema, carried by every top-level document as
// "schema_version". Raised when a member changes meaning or disappears;
// adding a member does not raise it (readers ignore members they do not know).
constexpr unsigned kJsonSchemaVersion = 1;

// A JSON string literal for UTF-8 `text` (quotes, backslashes and control
// characters escaped; other characters as they are).
inline std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// A JSON object whose members are appended in order; text is UTF-8.
class JsonObject {
 public:
  // A top-level document: an object that starts with "schema_version".
  static JsonObject document() {
    JsonObject object;
    object.number("schema_version", kJsonSchemaVersion);
    return object;
  }

  JsonObject& text(const char* key, const std::string& value) {
    return member(key, json_string(value));
  }
  JsonObject& number(const char* key, std::uint64_t value) {
    return member(key, std::to_string(value));
  }
  JsonObject& boolean(const char* key, bool value) { return member(key, value ? "true" : "false"); }
  JsonObject& null(const char* key) { return member(key, "null"); }
  // `value` when `known`, else null.
  JsonObject& number_or_null(const char* key, bool known, std::uint64_t value) {
    return known ? number(key, value) : null(key);
  }
  JsonObject& text_or_null(const char* key, bool known, const std::string& value) {
    return known ? text(key, value) : null(key);
  }
  JsonObject& object(const char* key, const JsonObject& value) { return member(key, value.str()); }
  JsonObject& array(const char* key, const std::vector<JsonObject>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].str();
    return member(key, out + "]");
  }

  std::string str() const { return "{" + members_ + "}"; }

 private:
  JsonObject& member(const char* key, const std::string& json) {
    if (!members_.empty()) members_ += ", ";
    members_ += json_string(key) + ": " + json;
    return *this;
  }
  std::string members_;
};

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_JSON_HPP
