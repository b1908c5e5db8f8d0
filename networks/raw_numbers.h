#pragma once
// Little-endian numbers as array files store them (.npy, safetensors), converted to float32.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace snnsim {

// The files are little-endian and their bytes are copied directly, which is only right on a
// little-endian machine.
static_assert(std::endian::native == std::endian::little, "snnsim assumes a little-endian host");

enum class NumberKind { floating, brain_float, signed_integer, unsigned_integer, boolean };

/// A T from unaligned bytes.
template <typename T>
T load_raw(const unsigned char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

/// IEEE binary16 to float32, subnormals, infinities and NaNs included.
inline float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {  // zero or subnormal: float32 has no matching subnormal bit pattern
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

/// The `size`-byte number of `kind` at `p`, as float32 (sizes 1, 2, 4, 8; floating 2, 4, 8;
/// brain_float 2).
inline float number_to_float(const unsigned char* p, NumberKind kind, std::size_t size) {
  switch (kind) {
    case NumberKind::boolean:
      return *p != 0 ? 1.0f : 0.0f;
    case NumberKind::brain_float:
      return std::bit_cast<float>(static_cast<std::uint32_t>(load_raw<std::uint16_t>(p)) << 16);
    case NumberKind::floating:
      if (size == 2) return half_to_float(load_raw<std::uint16_t>(p));
      if (size == 4) return load_raw<float>(p);
      return static_cast<float>(load_raw<double>(p));
    case NumberKind::signed_integer:
      if (size == 1) return load_raw<std::int8_t>(p);
      if (size == 2) return load_raw<std::int16_t>(p);
      if (size == 4) return static_cast<float>(load_raw<std::int32_t>(p));
      return static_cast<float>(load_raw<std::int64_t>(p));
    case NumberKind::unsigned_integer:
      if (size == 1) return load_raw<std::uint8_t>(p);
      if (size == 2) return load_raw<std::uint16_t>(p);
      if (size == 4) return static_cast<float>(load_raw<std::uint32_t>(p));
      return static_cast<float>(load_raw<std::uint64_t>(p));
  }
  return 0.0f;
}

}  // namespace snnsim
