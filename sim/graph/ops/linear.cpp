#include "sim/graph/ops/linear.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>

#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// Weights a tile of the event path reads: 64 Ki floats (256 KiB), half an L2 cache of the
/// processors measured (docs/performance.md).
constexpr std::size_t kTileWeights = 64 * 1024;

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
  bias_.assign(p_.out_features, 0.0f);
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
  transpose_.resize(weight_.size());
  for (std::size_t o = 0; o < p_.out_features; ++o) {
    for (std::size_t i = 0; i < p_.in_features; ++i)
      transpose_[i * p_.out_features + o] = weight_[o * p_.in_features + i];
  }
}

bool Linear::fold_affine(std::span<const float> scale, std::span<const float> shift) {
  for (std::size_t o = 0; o < p_.out_features; ++o) {
    for (std::size_t i = 0; i < p_.in_features; ++i) {
      weight_[o * p_.in_features + i] *= scale[o];
      transpose_[i * p_.out_features + o] *= scale[o];
    }
    bias_[o] = bias_[o] * scale[o] + shift[o];
  }
  return true;
}

SNNSIM_VECTOR_CLONES void Linear::add_spike_columns(const SpikeTrain& s, std::size_t f,
                                                    std::size_t rows, std::size_t first,
                                                    std::size_t width, float* frame) const {
  const std::size_t in = p_.in_features, out = p_.out_features;
  // Sum the columns of the spiking inputs (signed, times their level); scaled once later.
  for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k) {
    const std::uint32_t index = s.indices[k];
    // Vectors (one token) need no division per spike.
    const std::size_t token = rows == 1 ? 0 : index / in;
    float* __restrict row = frame + token * out + first;
    const float* __restrict column = transpose_.data() + (index - token * in) * out + first;
    const int level = s.level(k);
    if (level == 1) {
      for (std::size_t o = 0; o < width; ++o)
        row[o] += column[o];
    } else if (level == -1) {
      for (std::size_t o = 0; o < width; ++o)
        row[o] -= column[o];
    } else {
      for (std::size_t o = 0; o < width; ++o)
        row[o] += static_cast<float>(level) * column[o];
    }
  }
}

Value Linear::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(output_shape_, x.steps, x.batch);
  const std::size_t in = p_.in_features, out = p_.out_features;
  const std::size_t rows = x.features() / in;  // tokens per sample
  const std::size_t frames = x.frames();
  if (x.is_spikes()) {
    const SpikeTrain& s = *x.spikes;
    // The output columns in tiles whose slice of the weights (in x tile floats) stays in the
    // L2 cache while every spike of the frame adds its part: without tiles each spike reads a
    // whole weight column from L3 or memory. Each output still sums its spikes in their order.
    const std::size_t tile = std::min(out, std::max<std::size_t>(64, kTileWeights / in / 16 * 16));
    std::uint64_t acs = 0;
    // One frame per chunk: at batch 1 there are only T frames to share out.
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : acs)
    for (std::size_t f = 0; f < frames; ++f) {
      float* frame = y.dense.data() + f * rows * out;
      for (std::size_t first = 0; first < out; first += tile)
        add_spike_columns(s, f, rows, first, std::min(tile, out - first), frame);
      acs += (s.offsets[f + 1] - s.offsets[f]) * out;
      const float amplitude = s.scale(f / x.batch);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t o = 0; o < out; ++o)
          frame[r * out + o] = amplitude * frame[r * out + o] + bias_[o];
      }
    }
    counts.acs += acs;
    return y;
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
                  static_cast<int>(out), static_cast<int>(in), 1.0f, x.dense.data() + first * in,
                  static_cast<int>(in), weight_.data(), static_cast<int>(in), 1.0f,
                  y.dense.data() + first * out, static_cast<int>(out));
    }
  }
  counts.macs += m * in * out;
  return y;
}

}  // namespace snnsim
