#pragma once
// The event path of a weight matrix W [out][in]: the product W s of a sparse spike vector s,
// as the sum of the weight columns of s's events. Linear multiplies each token's spikes by its
// weight, a 1 x 1 Conv2d each output pixel's: the same loop serves both.
//
// The columns are stored tile-major: per tile of kTile outputs (the last padded with zeros),
// [in][kTile], so that an event's column of one tile is 256 contiguous bytes. A tile is summed
// chunk by chunk of kChunk inputs: the chunk's columns, 32 kB, stay in L1 while every row adds
// its events of that chunk to its 64 sums, in four 16-float registers between a load and a
// store of the row's sums per chunk. Binary spikes are additions only, ternary ones additions
// and subtractions. (Summing each row over all inputs at once read every column from L2: on
// SpikeLM-base's layers, with 768 or 3072 inputs, 1.2 times slower; chunks of 64 or 256
// inputs were slower than 128.)
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace snnsim {

/// Storage on 64-byte boundaries: a 16-float load of a weight column's slice then reads one
/// cache line, where malloc's 16-byte alignment split every load across two.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
  bool operator==(const CacheLineAllocator&) const { return true; }
};

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

  /// Inputs per chunk: a tile's columns of one chunk, 128 x 64 floats (32 kB).
  static constexpr std::size_t kChunk = 128;
  std::size_t chunks() const { return (in_ + kChunk - 1) / kChunk; }

  /// Rows of spike events, each cut by chunk of inputs: row r's added events in chunk c are
  /// indices[plus[r * (chunks() + 1) + c] .. plus[r * (chunks() + 1) + c + 1]), its subtracted
  /// ones likewise in `minus` (null: none). Input indices ascend within each, offset by
  /// r x base_stride.
  struct ChunkedRows {
    const std::uint32_t* indices = nullptr;
    const std::int8_t* levels = nullptr;  ///< per event (integer spikes): its column times it
    const std::uint64_t* plus = nullptr;
    const std::uint64_t* minus = nullptr;
    std::size_t base_stride = 0;
  };
  /// Writes chunks() + 1 bounds of events indices[begin .. end) (ascending, offset by base).
  void chunk_bounds(const std::uint32_t* indices, std::uint64_t begin, std::uint64_t end,
                    std::size_t base, std::uint64_t* bounds) const;
  /// Writes outputs tile x kTile .. + kTile (fewer in the last tile) of `count` rows, row r's
  /// from out + r x out_stride: amplitude x the sum of its events' weight columns (added,
  /// subtracted, or times their levels), plus bias[o] (bias indexed by output).
  void sum_rows(const ChunkedRows& rows, std::size_t count, std::size_t tile, float amplitude,
                const float* bias, float* out, std::size_t out_stride) const;

 private:
  std::size_t in_ = 0, out_ = 0;
  std::vector<float, CacheLineAllocator<float>> tiled_;
};

}  // namespace snnsim
