#include "sim/graph/ops/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace snnsim {
namespace {

void require_feature_map(const Shape& in) {
  if (in.size() != 3) {
    throw GraphError("expected a [channels, height, width] input; found " + shape_string(in));
  }
}

}  // namespace

SpikeTrain spikes_from_dense(const SpikeTrain& like, std::span<const float> dense,
                             std::size_t features) {
  SpikeTrain out;
  out.kind = like.kind;
  out.steps = like.steps;
  out.batch = like.batch;
  out.features = features;
  out.amplitude = like.amplitude;
  // Frames in parallel, each compacted without a branch per value.
  append_frames_in_parallel(out, like.frames(), [&](std::size_t f, SpikeTrain& part) {
    const float amplitude = like.scale(f / like.batch);
    const float* x = dense.data() + f * features;
    const bool with_levels = part.kind != SpikeKind::binary;
    part.indices.resize(features);
    part.levels.resize(with_levels ? features : 0);
    std::size_t count = 0;
    for (std::size_t i = 0; i < features; ++i) {
      part.indices[count] = static_cast<std::uint32_t>(i);
      if (with_levels) {
        // The levels are whole numbers (sums of levels, times the amplitude): rounded to the
        // nearest, halves away from zero as lround, in a form that needs no library call.
        const float level = x[i] / amplitude;
        part.levels[count] = static_cast<std::int8_t>(level + (level >= 0.0f ? 0.5f : -0.5f));
      }
      count += x[i] != 0.0f;
    }
    part.indices.resize(count);
    part.levels.resize(with_levels ? count : 0);
  });
  return out;
}

std::string_view Pool2d::kind() const {
  switch (p_.kind) {
    case PoolKind::max:
      return "maxpool2d";
    case PoolKind::average:
      return "avgpool2d";
    case PoolKind::sum:
      return "sumpool2d";
  }
  return "?";
}

Shape Pool2d::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  require_feature_map(input_);
  if (input_[1] + 2 * p_.padding_h < p_.kernel_h || input_[2] + 2 * p_.padding_w < p_.kernel_w) {
    throw GraphError("the pooling window is larger than the input " + shape_string(input_));
  }
  output_ = {input_[0], (input_[1] + 2 * p_.padding_h - p_.kernel_h) / p_.stride_h + 1,
             (input_[2] + 2 * p_.padding_w - p_.kernel_w) / p_.stride_w + 1};
  check_tensor_size("the output", output_);
  check_tensor_size("the windows' taps (output height x width x kernel height x width)",
                    {output_[1], output_[2], p_.kernel_h, p_.kernel_w});
  // The windows (output pixels) that contain each input pixel, as offsets into windows_: output
  // o covers input o * stride - padding + tap along each axis.
  const auto along = [](std::size_t size, std::size_t kernel, std::size_t stride,
                        std::size_t padding, std::size_t out_size) {
    std::vector<std::vector<std::uint32_t>> of(size);
    for (std::size_t o = 0; o < out_size; ++o) {
      for (std::size_t tap = 0; tap < kernel; ++tap) {
        const std::size_t shifted = o * stride + tap;
        if (shifted >= padding && shifted - padding < size)
          of[shifted - padding].push_back(static_cast<std::uint32_t>(o));
      }
    }
    return of;
  };
  const auto rows = along(input_[1], p_.kernel_h, p_.stride_h, p_.padding_h, output_[1]);
  const auto columns = along(input_[2], p_.kernel_w, p_.stride_w, p_.padding_w, output_[2]);
  window_offsets_.assign(1, 0);
  windows_.clear();
  for (std::size_t y = 0; y < input_[1]; ++y) {
    for (std::size_t x = 0; x < input_[2]; ++x) {
      for (const std::uint32_t oy : rows[y]) {
        for (const std::uint32_t ox : columns[x])
          windows_.push_back(static_cast<std::uint32_t>(oy * output_[2] + ox));
      }
      window_offsets_.push_back(static_cast<std::uint32_t>(windows_.size()));
    }
  }
  return output_;
}

/// Max pooling of binary or integer spikes, event-driven: each spike raises the windows that
/// contain it to its level; the output spikes are the windows raised.
SpikeTrain Pool2d::max_of_spikes(const SpikeTrain& in) const {
  const std::size_t height = input_[1], width = input_[2];
  const std::size_t out_plane = output_[1] * output_[2];
  SpikeTrain out;
  out.kind = in.kind;
  out.steps = in.steps;
  out.batch = in.batch;
  out.features = output_[0] * out_plane;
  append_frames_in_parallel(out, in.frames(), [&](std::size_t f, SpikeTrain& part) {
    // Per-thread buffers, reached through plain pointers: every touch of a thread_local vector
    // inside the spike loop would call its TLS wrapper.
    thread_local std::vector<std::int8_t> level_buffer;
    level_buffer.assign(out.features, 0);
    // Local copies of the tables' pointers: stores through int8_t* may alias anything, so the
    // compiler would reload members after each one.
    std::int8_t* level = level_buffer.data();
    const std::uint32_t* offsets = window_offsets_.data();
    const std::uint32_t* windows = windows_.data();
    const bool binary = in.kind == SpikeKind::binary;
    for_each_pixel_event(
        in, f, height, width,
        [&](std::uint64_t k, std::size_t channel, std::size_t row, std::size_t column) {
          const std::size_t pixel = row * width + column;
          std::int8_t* cells = level + channel * out_plane;
          const std::uint32_t first = offsets[pixel], last = offsets[pixel + 1];
          for (std::uint32_t w = first; w < last; ++w) {
            // A binary spike raises its windows to 1, whatever they held: no load.
            cells[windows[w]] =
                binary ? std::int8_t{1}
                       : std::max(cells[windows[w]], static_cast<std::int8_t>(in.level(k)));
          }
        });
    append_nonzero_levels(level, out.features, 0, part);
  });
  return out;
}

Value Pool2d::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  if (x.is_spikes() && p_.kind == PoolKind::max && x.spikes->kind != SpikeKind::ternary) {
    return Value::of_spikes(output_, max_of_spikes(*x.spikes));
  }
  const Value::DenseView in = x.dense_view();
  Value y = Value::analog(output_, x.steps, x.batch);
  const std::size_t channels = input_[0], height = input_[1], width = input_[2];
  const std::size_t out_h = output_[1], out_w = output_[2];
  const std::size_t in_frame = channels * height * width, out_frame = channels * out_h * out_w;
  for (std::size_t f = 0; f < x.frames(); ++f) {
    for (std::size_t c = 0; c < channels; ++c) {
      const float* plane = in.data() + f * in_frame + c * height * width;
      float* out = y.dense.data() + f * out_frame + c * out_h * out_w;
      for (std::size_t oy = 0; oy < out_h; ++oy) {
        for (std::size_t ox = 0; ox < out_w; ++ox) {
          // Padding counts as -inf for max and as zero for sums (PyTorch's count_include_pad).
          float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
          for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
            const long iy =
                static_cast<long>(oy * p_.stride_h + ky) - static_cast<long>(p_.padding_h);
            for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
              const long ix =
                  static_cast<long>(ox * p_.stride_w + kx) - static_cast<long>(p_.padding_w);
              if (iy < 0 || ix < 0 || iy >= static_cast<long>(height) ||
                  ix >= static_cast<long>(width))
                continue;
              const float v = plane[iy * width + ix];
              best = std::max(best, v);
              sum += v;
            }
          }
          const float window = static_cast<float>(p_.kernel_h * p_.kernel_w);
          out[oy * out_w + ox] = p_.kind == PoolKind::max   ? best
                                 : p_.kind == PoolKind::sum ? sum
                                                            : sum / window;
        }
      }
    }
  }
  return y;
}

Shape GlobalAveragePool::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  require_feature_map(input_);
  return {input_[0]};
}

Value GlobalAveragePool::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  Value y = Value::analog({input_[0]}, x.steps, x.batch);
  const std::size_t plane = input_[1] * input_[2];
  for (std::size_t f = 0; f < x.frames(); ++f) {
    for (std::size_t c = 0; c < input_[0]; ++c) {
      const float* values = in.data() + (f * input_[0] + c) * plane;
      float sum = 0.0f;
      for (std::size_t k = 0; k < plane; ++k)
        sum += values[k];
      y.dense[f * input_[0] + c] = sum / static_cast<float>(plane);
    }
  }
  return y;
}

Shape Upsample::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  require_feature_map(input_);
  if (scale_ == 0) throw GraphError("expected a scale factor of at least 1");
  return {input_[0], input_[1] * scale_, input_[2] * scale_};
}

Value Upsample::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  const Shape out_shape{input_[0], input_[1] * scale_, input_[2] * scale_};
  Value y = Value::analog(out_shape, x.steps, x.batch);
  const std::size_t height = input_[1], width = input_[2];
  const std::size_t out_h = out_shape[1], out_w = out_shape[2];
  // Each input row is widened once, then copied to its scale output rows.
#pragma omp parallel for schedule(static)
  for (std::size_t item = 0; item < x.frames() * input_[0]; ++item) {
    const float* plane = in.data() + item * height * width;
    float* out = y.dense.data() + item * out_h * out_w;
    for (std::size_t iy = 0; iy < height; ++iy) {
      float* row = out + iy * scale_ * out_w;
      for (std::size_t ix = 0; ix < width; ++ix)
        std::fill_n(row + ix * scale_, scale_, plane[iy * width + ix]);
      for (std::size_t copy = 1; copy < scale_; ++copy)
        std::copy_n(row, out_w, row + copy * out_w);
    }
  }
  if (x.is_spikes()) {
    y.spikes = spikes_from_dense(*x.spikes, y.dense, element_count(out_shape));
    y.dense.clear();
  }
  return y;
}

}  // namespace snnsim
