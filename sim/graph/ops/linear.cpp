#include "sim/graph/ops/linear.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>

namespace snnsim {

namespace {

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
  rebuild_event_weights();
}

void Linear::rebuild_event_weights() {
  events_.assign(p_.in_features, p_.out_features,
                 [&](std::size_t o, std::size_t i) { return weight_[o * p_.in_features + i]; });
}

bool Linear::fold_affine(std::span<const float> scale, std::span<const float> shift) {
  for (std::size_t o = 0; o < p_.out_features; ++o) {
    for (std::size_t i = 0; i < p_.in_features; ++i)
      weight_[o * p_.in_features + i] *= scale[o];
    bias_[o] = bias_[o] * scale[o] + shift[o];
  }
  rebuild_event_weights();
  return true;
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
    // Each row's events (and for ternary spikes each sign's) cut by chunk of inputs.
    const std::size_t stride = events_.chunks() + 1;
    std::vector<std::uint64_t> plus(frames * rows * stride), minus(ternary ? plus.size() : 0);
#pragma omp parallel for schedule(static)
    for (std::size_t fr = 0; fr < frames * rows; ++fr) {
      const std::size_t f = fr / rows, r = fr % rows;
      const std::uint64_t begin = starts[f * (rows + 1) + r], end = starts[f * (rows + 1) + r + 1];
      const std::uint64_t middle = ternary ? minus_starts[fr] : end;
      events_.chunk_bounds(indices, begin, middle, r * in, plus.data() + fr * stride);
      if (ternary) events_.chunk_bounds(indices, middle, end, r * in, minus.data() + fr * stride);
    }
    const std::int8_t* levels = s.kind == SpikeKind::integer ? s.levels.data() : nullptr;
    // Work items of one frame and one tile of outputs, so that a batch of one fills the cores.
    const std::size_t tiles = events_.tiles();
#pragma omp parallel for schedule(dynamic, 1)
    for (std::size_t work = 0; work < frames * tiles; ++work) {
      const std::size_t f = work / tiles, tile = work % tiles;
      const EventMatrix::ChunkedRows chunked{indices, levels, plus.data() + f * rows * stride,
                                             ternary ? minus.data() + f * rows * stride : nullptr,
                                             in};
      events_.sum_rows(chunked, rows, tile, s.scale(f / x.batch), bias_.data(),
                       y.dense.data() + f * rows * out + tile * EventMatrix::kTile, out);
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
