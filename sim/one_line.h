#pragma once
// Errors are one line (docs/reliability.md), also when they quote text read from a damaged file.
#include <cstdio>
#include <string>
#include <string_view>

namespace snnsim {

/// `text` as it may appear in a one-line message: control characters (a newline in a name read
/// from a file) written as \xNN.
inline std::string one_line(std::string_view text) {
  std::string result;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escape[5];
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned char>(c));
      result += escape;
    } else {
      result += c;
    }
  }
  return result;
}

}  // namespace snnsim
