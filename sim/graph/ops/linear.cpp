#include "sim/graph/ops/linear.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>

#include "sim/vector_clones.h"

namespace snnsim {

namespace {

/// 16 floats, one AVX-512 register (two AVX2 ones): the sums of the event path. Unaligned, so
/// that a weight column's slice loads into one directly.
using Floats16 = float __attribute__((vector_size(64), aligned(4)));
/// Outputs summed at once per row: 4 x 16, kept in registers while the row's spikes add their
/// weights. A tile's weights, in x 64 floats, are one block of the event path's copy of the
/// weights: it stays in the L2 cache from one row to the next, and a row's spikes, in ascending
/// order, read it forwards in 256-byte steps. (With the columns of a [in][out] transpose, 12 kB
/// apart at out = 3072, every spike took another page: 2.2 times slower.)
constexpr std::size_t kTile = 64;
/// Binary and integer spike inputs with more events than this share of their elements take the
/// SGEMM path: an event costs about 2.3 times a dense input element's multiply-adds (measured on
/// Spikformer-8-384's layers, docs/performance.md), so above ~43 % the dense product is faster.
/// Ternary spikes always take the event path: their products stay additions and subtractions.
constexpr double kDenseAbove = 0.4;

}  // namespace

Shape Linear::bind(std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  if (in.empty() || in.back() != p_.in_features) {
    throw GraphError("expected an input whose last dimension is in_features = " +
                     std::to_string(p_.in_features) + "; found " + shape_string(in));
  }
  output_shape_ = in;
  output_shape_.back() = p_.out_features;
  check_tensor_size("the output", output_shape_);
  return output_shape_;
}

std::vector<WeightSpec> Linear::weight_specs() const {
  std::vector<WeightSpec> specs{{"weight", {p_.out_features, p_.in_features}}};
  if (p_.bias) specs.push_back({"bias", {p_.out_features}});
  return specs;
}

void Linear::set_weight(const std::string& name, std::vector<float> values) {
  if (name == "bias") {
    bias_ = std::move(values);
    return;
  }
  weight_ = std::move(values);
  const std::size_t tiles = (p_.out_features + kTile - 1) / kTile;
  tiled_.assign(tiles * p_.in_features * kTile, 0.0f);  // the last tile padded with zeros
  for (std::size_t o = 0; o < p_.out_features; ++o) {
    for (std::size_t i = 0; i < p_.in_features; ++i)
      tiled_[tiled_position(i, o)] = weight_[o * p_.in_features + i];
  }
}

std::size_t Linear::tiled_position(std::size_t i, std::size_t o) const {
  return (o / kTile * p_.in_features + i) * kTile + o % kTile;
}

bool Linear::fold_affine(std::span<const float> scale, std::span<const float> shift) {
  for (std::size_t o = 0; o < p_.out_features; ++o) {
    for (std::size_t i = 0; i < p_.in_features; ++i) {
      weight_[o * p_.in_features + i] *= scale[o];
      tiled_[tiled_position(i, o)] *= scale[o];
    }
    bias_[o] = bias_[o] * scale[o] + shift[o];
  }
  return true;
}

SNNSIM_VECTOR_CLONES void Linear::spiking_row(const std::uint32_t* indices,
                                              const std::int8_t* levels, std::size_t count,
                                              std::size_t added, std::size_t base,
                                              std::size_t first, std::size_t width, float amplitude,
                                              float* row) const {
  // The tile's block; `first` is a multiple of kTile.
  const float* tile = tiled_.data() + first * p_.in_features;
  const auto column = [&](std::size_t k) { return tile + (indices[k] - base) * kTile; };
  // The column kPrefetch spikes ahead, into L1: the tile stays in L2, whose latency the loop
  // otherwise waits for (3.7 -> 3.0 ns per spike in a microbenchmark of this loop).
  constexpr std::size_t kPrefetch = 16;
  const auto prefetch = [&](std::size_t k) {
    if (k + kPrefetch < count) {
      const float* ahead = column(k + kPrefetch);
      for (std::size_t line = 0; line < kTile; line += 16)
        __builtin_prefetch(ahead + line);
    }
  };
  Floats16 s0{}, s1{}, s2{}, s3{};
  if (levels != nullptr) {
    for (std::size_t k = 0; k < count; ++k) {
      prefetch(k);
      const auto* c = reinterpret_cast<const Floats16*>(column(k));
      const float level = static_cast<float>(levels[k]);
      s0 += level * c[0], s1 += level * c[1], s2 += level * c[2], s3 += level * c[3];
    }
  } else {
    // Binary spikes and ternary ones at +1 add their weights, ternary ones at -1 subtract them:
    // no multiplication.
    for (std::size_t k = 0; k < added; ++k) {
      prefetch(k);
      const auto* c = reinterpret_cast<const Floats16*>(column(k));
      s0 += c[0], s1 += c[1], s2 += c[2], s3 += c[3];
    }
    for (std::size_t k = added; k < count; ++k) {
      prefetch(k);
      const auto* c = reinterpret_cast<const Floats16*>(column(k));
      s0 -= c[0], s1 -= c[1], s2 -= c[2], s3 -= c[3];
    }
  }
  if (width == kTile) {
    auto* sums = reinterpret_cast<Floats16*>(row);
    const auto* bias = reinterpret_cast<const Floats16*>(bias_.data() + first);
    sums[0] = amplitude * s0 + bias[0];
    sums[1] = amplitude * s1 + bias[1];
    sums[2] = amplitude * s2 + bias[2];
    sums[3] = amplitude * s3 + bias[3];
    return;
  }
  // The last tile, narrower: its padding columns summed zeros.
  Floats16 sums[4] = {s0, s1, s2, s3};
  const float* values = reinterpret_cast<const float*>(sums);
  for (std::size_t o = 0; o < width; ++o)
    row[o] = amplitude * values[o] + bias_[first + o];
}

Value Linear::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(output_shape_, x.steps, x.batch);
  const std::size_t in = p_.in_features, out = p_.out_features;
  const std::size_t rows = x.features() / in;  // tokens per sample
  const std::size_t frames = x.frames();
  if (x.is_spikes() &&
      (x.spikes->kind == SpikeKind::ternary ||
       x.spikes->events() <= kDenseAbove * static_cast<double>(x.dense_elements()))) {
    const SpikeTrain& s = *x.spikes;
    const bool ternary = s.kind == SpikeKind::ternary;
    // Where each row (token) of each frame starts among the events (indices ascend). Ternary
    // spikes: each row's indices at +1, then those at -1, and where the -1s start.
    std::vector<std::uint64_t> starts(frames * (rows + 1)),
        minus_starts(ternary ? frames * rows : 0);
    std::vector<std::uint32_t> by_sign(ternary ? s.indices.size() : 0);
#pragma omp parallel for schedule(static)
    for (std::size_t f = 0; f < frames; ++f) {
      std::uint64_t k = s.offsets[f];
      for (std::size_t r = 0; r < rows; ++r) {
        const std::uint64_t begin = k;
        starts[f * (rows + 1) + r] = begin;
        while (k < s.offsets[f + 1] && s.indices[k] < (r + 1) * in)
          ++k;
        if (ternary) {
          std::uint64_t next = begin;
          for (std::uint64_t j = begin; j < k; ++j)
            if (s.levels[j] > 0) by_sign[next++] = s.indices[j];
          minus_starts[f * rows + r] = next;
          for (std::uint64_t j = begin; j < k; ++j)
            if (s.levels[j] < 0) by_sign[next++] = s.indices[j];
        }
      }
      starts[f * (rows + 1) + rows] = k;
    }
    const std::uint32_t* indices = ternary ? by_sign.data() : s.indices.data();
    const std::int8_t* levels = s.kind == SpikeKind::integer ? s.levels.data() : nullptr;
    // Work items of one frame and one tile of outputs, so that a batch of one fills the cores.
    const std::size_t tiles = (out + kTile - 1) / kTile;
#pragma omp parallel for schedule(dynamic, 1)
    for (std::size_t work = 0; work < frames * tiles; ++work) {
      const std::size_t f = work / tiles, first = work % tiles * kTile;
      const float amplitude = s.scale(f / x.batch);
      for (std::size_t r = 0; r < rows; ++r) {
        const std::uint64_t begin = starts[f * (rows + 1) + r],
                            end = starts[f * (rows + 1) + r + 1];
        const std::uint64_t added = ternary ? minus_starts[f * rows + r] - begin : end - begin;
        spiking_row(indices + begin, levels ? levels + begin : nullptr, end - begin, added, r * in,
                    first, std::min(kTile, out - first), amplitude,
                    y.dense.data() + (f * rows + r) * out + first);
      }
    }
    counts.acs += s.events() * out;
    return y;
  }
  // Analog input, or spikes too dense for the event path: SGEMM (over the spikes' dense form,
  // their ACs still counted as the event-driven model's).
  const Value::DenseView dense = x.dense_view();
  if (x.is_spikes()) {
    counts.acs += x.spikes->events() * out;
  } else {
    counts.macs += frames * rows * in * out;
  }
  const std::size_t m = frames * rows;
  // Row blocks over the threads, one single-threaded SGEMM each.
#pragma omp parallel
  {
    const std::size_t threads = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t thread = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t first = m * thread / threads, last = m * (thread + 1) / threads;
    for (std::size_t r = first; r < last; ++r)
      std::copy(bias_.begin(), bias_.end(), y.dense.begin() + r * out);
    if (last > first) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(last - first),
                  static_cast<int>(out), static_cast<int>(in), 1.0f, dense.data() + first * in,
                  static_cast<int>(in), weight_.data(), static_cast<int>(in), 1.0f,
                  y.dense.data() + first * out, static_cast<int>(out));
    }
  }
  return y;
}

}  // namespace snnsim
