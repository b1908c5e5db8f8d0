#pragma once
// Numbers as the commands print them.
#include <cstdint>
#include <cstdio>
#include <string>

namespace snnsim::cli {

/// 1234567 -> "1,234,567".
inline std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// 1.23e7 -> "12.3 M".
inline std::string scaled(double x) {
  char text[32];
  if (x >= 1e9)
    std::snprintf(text, sizeof text, "%.2f G", x / 1e9);
  else if (x >= 1e6)
    std::snprintf(text, sizeof text, "%.2f M", x / 1e6);
  else if (x >= 1e3)
    std::snprintf(text, sizeof text, "%.2f k", x / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f", x);
  return text;
}

}  // namespace snnsim::cli
