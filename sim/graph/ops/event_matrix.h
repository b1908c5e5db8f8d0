#pragma once
// The event path of a weight matrix W [out][in]: the product W s of a sparse spike vector s,
// as the sum of the weight columns of s's events. Linear multiplies each token's spikes by its
// weight; Conv2d each output pixel's (tap, input channel) spikes by its kernel, as one matrix
// per group: the same loop serves both.
//
// The columns are stored tile-major: per tile of kTile outputs (the last padded with zeros),
// [in][kTile]. A row's outputs of one tile are summed in 4 x 16 floats that stay in registers
// while its events add their columns: one load per 16 products, no stores, no multiplication
// for binary spikes. A tile's block, in x 64 floats, stays in the L2 cache from one row to the
// next, and a row's events, in ascending order, read it forwards in 256-byte steps. (With the
// columns of an [in][out] transpose, 12 kB apart at out = 3072, every spike took another page:
// 2.2 times slower.)
#include <cstddef>
#include <cstdint>
#include <vector>

namespace snnsim {

class EventMatrix {
 public:
  static constexpr std::size_t kTile = 64;

  /// Copies W from weight(o, i), o < out, i < in.
  template <class Weight>
  void assign(std::size_t in, std::size_t out, Weight weight) {
    in_ = in;
    out_ = out;
    tiled_.assign(tiles() * in * kTile, 0.0f);
    for (std::size_t o = 0; o < out; ++o) {
      for (std::size_t i = 0; i < in; ++i)
        tiled_[(o / kTile * in + i) * kTile + o % kTile] = weight(o, i);
    }
  }
  std::size_t tiles() const { return (out_ + kTile - 1) / kTile; }

  /// One row of spikes: its events indices[0 .. count) (input indices offset by `base`).
  /// Writes outputs tile x kTile .. + kTile (fewer in the last tile) of the row, from row[0]:
  /// amplitude x the sum of the events' weight columns, plus bias[o] (bias indexed by output).
  /// Integer spikes (levels set): each column times its level. Binary and ternary spikes
  /// (levels null): the first `added` columns added, the others subtracted.
  void sum_row(const std::uint32_t* indices, const std::int8_t* levels, std::size_t count,
               std::size_t added, std::size_t base, std::size_t tile, float amplitude,
               const float* bias, float* row) const;

 private:
  std::size_t in_ = 0, out_ = 0;
  std::vector<float> tiled_;
};

}  // namespace snnsim
