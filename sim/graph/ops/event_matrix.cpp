#include "sim/graph/ops/event_matrix.h"

#include <algorithm>
#include <vector>

#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// 16 floats, one AVX-512 register (two AVX2 ones). Unaligned, so that a weight column's slice
/// loads into one directly.
using Floats16 = float __attribute__((vector_size(64), aligned(4)));
static_assert(EventMatrix::kTile == 64, "a tile is summed in four Floats16");

}  // namespace

void EventMatrix::chunk_bounds(const std::uint32_t* indices, std::uint64_t begin, std::uint64_t end,
                               std::size_t base, std::uint64_t* bounds) const {
  std::size_t chunk = 0;
  for (std::uint64_t k = begin; k < end; ++k) {
    const std::size_t of = (indices[k] - base) / kChunk;
    while (chunk <= of)
      bounds[chunk++] = k;
  }
  while (chunk <= chunks())
    bounds[chunk++] = end;
}

SNNSIM_VECTOR_CLONES void EventMatrix::sum_rows(const ChunkedRows& rows, std::size_t count,
                                                std::size_t tile, float amplitude,
                                                const float* bias, float* out,
                                                std::size_t out_stride) const {
  const float* block = tiled_.data() + tile * in_ * kTile;
  const std::size_t stride = chunks() + 1;
  thread_local std::vector<float, CacheLineAllocator<float>> sums;  // per row, its kTile sums
  sums.assign(count * kTile, 0.0f);
  for (std::size_t c = 0; c < chunks(); ++c) {
    for (std::size_t r = 0; r < count; ++r) {
      const std::uint64_t* plus = rows.plus + r * stride;
      const std::uint64_t* minus = rows.minus ? rows.minus + r * stride : nullptr;
      const bool any_minus = minus && minus[c] < minus[c + 1];
      if (plus[c] == plus[c + 1] && !any_minus) continue;
      const std::size_t base = r * rows.base_stride;
      auto* sum = reinterpret_cast<Floats16*>(sums.data() + r * kTile);
      Floats16 s0 = sum[0], s1 = sum[1], s2 = sum[2], s3 = sum[3];
      if (rows.levels != nullptr) {
        for (std::uint64_t k = plus[c]; k < plus[c + 1]; ++k) {
          const auto* v =
              reinterpret_cast<const Floats16*>(block + (rows.indices[k] - base) * kTile);
          const float level = static_cast<float>(rows.levels[k]);
          s0 += level * v[0], s1 += level * v[1], s2 += level * v[2], s3 += level * v[3];
        }
      } else {
        for (std::uint64_t k = plus[c]; k < plus[c + 1]; ++k) {
          const auto* v =
              reinterpret_cast<const Floats16*>(block + (rows.indices[k] - base) * kTile);
          s0 += v[0], s1 += v[1], s2 += v[2], s3 += v[3];
        }
      }
      if (any_minus) {
        for (std::uint64_t k = minus[c]; k < minus[c + 1]; ++k) {
          const auto* v =
              reinterpret_cast<const Floats16*>(block + (rows.indices[k] - base) * kTile);
          s0 -= v[0], s1 -= v[1], s2 -= v[2], s3 -= v[3];
        }
      }
      sum[0] = s0, sum[1] = s1, sum[2] = s2, sum[3] = s3;
    }
  }
  const std::size_t first = tile * kTile, width = std::min(kTile, out_ - first);
  for (std::size_t r = 0; r < count; ++r) {
    const float* values = sums.data() + r * kTile;
    float* row = out + r * out_stride;
    for (std::size_t o = 0; o < width; ++o)
      row[o] = amplitude * values[o] + bias[first + o];
  }
}

}  // namespace snnsim
