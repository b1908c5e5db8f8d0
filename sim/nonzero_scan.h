#pragma once
// Finding the non-zero bytes of a flag array (spikes, raised pooling windows). Eight bytes are
// tested at once, so the silent majority costs one load and one compare per eight entries; a
// word with non-zero bytes becomes a bit mask whose set bits are visited in order. No branch
// depends on a single byte, so dense flags (a layer firing at 10-20 %) cost no mispredictions
// per entry, which a byte-by-byte test did: it made spike extraction the costliest part of a LIF
// layer.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace snnsim {

static_assert(std::endian::native == std::endian::little, "byte j is bits 8j..8j+7 of a word");

/// Bit j of the result is set iff byte j (in memory order) of the eight at `bytes` is non-zero.
inline unsigned nonzero_byte_mask(const void* bytes) {
  std::uint64_t eight;
  std::memcpy(&eight, bytes, sizeof eight);
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full, kHigh = 0x8080808080808080ull;
  // The high bit of each byte is set iff the byte is non-zero (no carry crosses bytes).
  const std::uint64_t high = (((eight & kLow7) + kLow7) | eight) & kHigh;
  // Gathers the eight high bits into the top byte, byte j's bit at position j.
  return static_cast<unsigned>(((high >> 7) * 0x0102040810204080ull) >> 56);
}

/// Calls visit(i), ascending, for every i in [begin, end) where bytes[i] != 0. `Byte` is a
/// one-byte type.
template <class Byte, class Visit>
void for_each_nonzero(const Byte* bytes, std::size_t begin, std::size_t end, Visit visit) {
  static_assert(sizeof(Byte) == 1);
  std::size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    for (unsigned mask = nonzero_byte_mask(bytes + i); mask != 0; mask &= mask - 1)
      visit(i + static_cast<std::size_t>(std::countr_zero(mask)));
  }
  for (; i < end; ++i) {
    if (bytes[i]) visit(i);
  }
}

namespace detail {
/// Per 8-bit mask, the positions of its set bits, ascending, one per byte (zero-padded).
inline constexpr auto kSetBitPositions = [] {
  std::array<std::uint64_t, 256> table{};
  for (unsigned mask = 0; mask < 256; ++mask) {
    unsigned count = 0;
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (mask >> bit & 1) table[mask] |= std::uint64_t{bit} << (8 * count++);
    }
  }
  return table;
}();
/// Per 8-bit mask, its set bits: a table, as the x86-64 baseline has no popcount instruction.
inline constexpr auto kSetBitCounts = [] {
  std::array<std::uint8_t, 256> table{};
  for (unsigned mask = 0; mask < 256; ++mask)
    table[mask] = static_cast<std::uint8_t>(std::popcount(mask));
  return table;
}();
}  // namespace detail

/// Writes first + i for every i < n with bytes[i] != 0, ascending, to `out`, which has room for
/// n + 8 (eight entries are written per eight bytes, of which the non-zero count are kept);
/// returns how many. No branch depends on the flags: at the 5-30 % a layer fires, branching per
/// byte or per set bit mispredicts about once per eight bytes.
template <class Byte>
std::size_t compact_nonzero(const Byte* bytes, std::size_t n, std::uint32_t first,
                            std::uint32_t* out) {
  static_assert(sizeof(Byte) == 1);
  std::size_t count = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    const unsigned mask = nonzero_byte_mask(bytes + i);
    const std::uint64_t positions = detail::kSetBitPositions[mask];
    const auto base = static_cast<std::uint32_t>(first + i);
    for (unsigned j = 0; j < 8; ++j)
      out[count + j] = base + static_cast<std::uint32_t>(positions >> (8 * j) & 0xff);
    count += detail::kSetBitCounts[mask];
  }
  for (; i < n; ++i) {
    out[count] = first + static_cast<std::uint32_t>(i);
    count += bytes[i] != 0;
  }
  return count;
}

/// Writes first + i for every i < n with values[i] > threshold, ascending, to `out`, which has
/// room for n + 16; returns how many. Sixteen values at once where the processor has AVX-512
/// (a compare into a mask and a compress of the indices: a threshold layer's spike extraction
/// was a tenth of T-RevSNN's time as a loop with a store per value); else one store per value
/// and no branch.
std::size_t compact_above(const float* values, std::size_t n, float threshold, std::uint32_t first,
                          std::uint32_t* out);

}  // namespace snnsim
