#pragma once
// Finding the few non-zero bytes of a flag array (spikes, raised pooling windows): eight bytes are
// tested at once, so the silent majority costs one load and one compare per eight entries.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace snnsim {

/// Calls visit(i), ascending, for every i in [begin, end) where bytes[i] != 0. `Byte` is a
/// one-byte type.
template <class Byte, class Visit>
void for_each_nonzero(const Byte* bytes, std::size_t begin, std::size_t end, Visit visit) {
  static_assert(sizeof(Byte) == 1);
  std::size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    std::uint64_t eight;
    std::memcpy(&eight, bytes + i, sizeof eight);
    if (eight == 0) continue;
    for (std::size_t k = i; k < i + 8; ++k) {
      if (bytes[k]) visit(k);
    }
  }
  for (; i < end; ++i) {
    if (bytes[i]) visit(i);
  }
}

}  // namespace snnsim
