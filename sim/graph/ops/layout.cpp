#include "sim/graph/ops/layout.h"

#include <algorithm>
#include <numeric>

namespace snnsim {
namespace {

/// C-order strides of `shape`.
std::vector<std::size_t> strides_of(const Shape& shape) {
  std::vector<std::size_t> strides(shape.size(), 1);
  for (std::size_t k = shape.size(); k-- > 1;)
    strides[k - 1] = strides[k] * shape[k];
  return strides;
}

}  // namespace

Shape Permute::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  std::vector<std::size_t> sorted = order_;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> axes(input_.size());
  std::iota(axes.begin(), axes.end(), std::size_t{0});
  if (sorted != axes) {
    throw GraphError("order: expected each axis of the input " + shape_string(input_) +
                     " once, 0 to " + std::to_string(input_.size() - 1));
  }
  output_.clear();
  for (std::size_t axis : order_)
    output_.push_back(input_[axis]);
  const std::vector<std::size_t> in_strides = strides_of(input_), out = strides_of(output_);
  std::vector<std::size_t> moved_strides(input_.size(), 0);  // per input axis
  for (std::size_t k = 0; k < order_.size(); ++k)
    moved_strides[order_[k]] = out[k];
  destination_.resize(element_count(input_));
  for (std::size_t i = 0; i < destination_.size(); ++i) {
    std::size_t to = 0, rest = i;
    for (std::size_t axis = 0; axis < input_.size(); ++axis) {
      to += rest / in_strides[axis] * moved_strides[axis];
      rest %= in_strides[axis];
    }
    destination_[i] = static_cast<std::uint32_t>(to);
  }
  return output_;
}

Value Permute::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const std::size_t n = x.features();
  if (x.is_spikes()) {
    // Each frame's levels written to their new places, then compacted in order: no sort.
    const SpikeTrain& s = *x.spikes;
    SpikeTrain out{s.kind, s.steps, s.batch, n, {0}, {}, {}, s.amplitude};
    append_frames_in_parallel(out, s.frames(), [&](std::size_t f, SpikeTrain& part) {
      std::vector<std::int8_t> levels(n, 0);
      for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
        levels[destination_[s.indices[k]]] = static_cast<std::int8_t>(s.level(k));
      append_nonzero_levels(levels.data(), n, 0, part);
    });
    return Value::of_spikes(output_, std::move(out));
  }
  Value y = Value::analog(output_, x.steps, x.batch);
#pragma omp parallel for schedule(static)
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const float* in = x.dense.data() + f * n;
    float* to = y.dense.data() + f * n;
    for (std::size_t i = 0; i < n; ++i)
      to[destination_[i]] = in[i];
  }
  return y;
}

Shape Select::bind(std::span<const Shape> inputs) {
  const Shape& input = inputs[0];
  if (axis_ >= input.size()) {
    throw GraphError("axis " + std::to_string(axis_) + ": the input " + shape_string(input) +
                     " has axes 0 to " + std::to_string(input.size() - 1));
  }
  if (index_ >= input[axis_]) {
    throw GraphError("index " + std::to_string(index_) + " is not below the size " +
                     std::to_string(input[axis_]) + " of axis " + std::to_string(axis_) +
                     " of the input " + shape_string(input));
  }
  output_ = input;
  output_.erase(output_.begin() + static_cast<long>(axis_));
  if (output_.empty()) output_ = {1};
  length_ = input[axis_];
  inner_ = element_count(Shape(input.begin() + static_cast<long>(axis_) + 1, input.end()));
  return output_;
}

Value Select::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const std::size_t n = x.features(), m = element_count(output_);
  // Input element (o * length + index) * inner + j is output element o * inner + j.
  if (x.is_spikes()) {
    const SpikeTrain& s = *x.spikes;
    SpikeTrain out{s.kind, s.steps, s.batch, m, {0}, {}, {}, s.amplitude};
    for (std::size_t f = 0; f < s.frames(); ++f) {
      for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k) {
        const std::size_t i = s.indices[k], outer = i / (length_ * inner_);
        if ((i / inner_) % length_ == index_)
          out.add(static_cast<std::uint32_t>(outer * inner_ + i % inner_), s.level(k));
      }
      out.close_frame();
    }
    return Value::of_spikes(output_, std::move(out));
  }
  Value y = Value::analog(output_, x.steps, x.batch);
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const float* in = x.dense.data() + f * n + index_ * inner_;
    for (std::size_t o = 0; o < m / inner_; ++o)
      std::copy_n(in + o * length_ * inner_, inner_, y.dense.begin() + f * m + o * inner_);
  }
  return y;
}

Shape Reduce::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  if (axis_ == kTimesteps) return output_ = input_;
  if (axis_ >= input_.size()) {
    throw GraphError("axis " + std::to_string(axis_) + ": the input " + shape_string(input_) +
                     " has axes 0 to " + std::to_string(input_.size() - 1));
  }
  output_ = input_;
  output_.erase(output_.begin() + static_cast<long>(axis_));
  if (output_.empty()) output_ = {1};
  length_ = input_[axis_];
  outer_ = element_count(Shape(input_.begin(), input_.begin() + static_cast<long>(axis_)));
  inner_ = element_count(Shape(input_.begin() + static_cast<long>(axis_) + 1, input_.end()));
  return output_;
}

Value Reduce::over_timesteps(const Value& x) const {
  Value y = Value::analog(output_, 1, x.batch);
  const Value::DenseView in = x.dense_view();
  const std::size_t per_step = y.dense.size();
  // Timestep by timestep, in order, as PyTorch's mean(0) over [T, ...] adds them.
  for (std::size_t t = 0; t < x.steps; ++t) {
    for (std::size_t i = 0; i < per_step; ++i)
      y.dense[i] += in[t * per_step + i];
  }
  if (reduction_ == ReduceKind::mean) {
    for (float& value : y.dense)
      value /= static_cast<float>(x.steps);
  }
  return y;
}

Value Reduce::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  if (axis_ == kTimesteps) return over_timesteps(x);
  Value y = Value::analog(output_, x.steps, x.batch);
  const std::size_t n = x.features(), m = y.features();
  const float factor = reduction_ == ReduceKind::mean ? 1.0f / static_cast<float>(length_) : 1.0f;
  // Element i = (o * length + l) * inner + j of the input goes to o * inner + j.
  const auto target = [this](std::size_t i) {
    return i / (length_ * inner_) * inner_ + i % inner_;
  };
  if (x.is_spikes()) {
    const SpikeTrain& s = *x.spikes;
    for (std::size_t f = 0; f < s.frames(); ++f) {
      float* out = y.dense.data() + f * m;
      const float amplitude = s.scale(f / s.batch) * factor;
      for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
        out[target(s.indices[k])] += static_cast<float>(s.level(k)) * amplitude;
    }
    return y;
  }
#pragma omp parallel for schedule(static)
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const float* in = x.dense.data() + f * n;
    float* out = y.dense.data() + f * m;
    for (std::size_t i = 0; i < n; ++i)
      out[target(i)] += in[i];
    for (std::size_t j = 0; j < m; ++j)
      out[j] *= factor;
  }
  return y;
}

Shape Multiply::bind(std::span<const Shape> inputs) {
  shapes_[0] = inputs[0];
  shapes_[1] = inputs[1];
  if (shapes_[0].size() != shapes_[1].size()) {
    throw GraphError("expected two inputs with as many axes; found " + shape_string(shapes_[0]) +
                     " and " + shape_string(shapes_[1]));
  }
  output_.clear();
  for (std::size_t axis = 0; axis < shapes_[0].size(); ++axis) {
    const std::size_t a = shapes_[0][axis], b = shapes_[1][axis];
    if (a != b && a != 1 && b != 1) {
      throw GraphError("axis " + std::to_string(axis) + " has size " + std::to_string(a) + " and " +
                       std::to_string(b) + ": expected equal sizes, or 1 to broadcast");
    }
    output_.push_back(std::max(a, b));
  }
  output_strides_ = strides_of(output_);
  for (std::size_t side = 0; side < 2; ++side) {
    input_strides_[side] = strides_of(shapes_[side]);
    for (std::size_t axis = 0; axis < output_.size(); ++axis) {
      if (shapes_[side][axis] == 1) input_strides_[side][axis] = 0;
    }
  }
  return output_;
}

std::size_t Multiply::source(std::size_t side, std::size_t index) const {
  std::size_t from = 0;
  for (std::size_t axis = 0; axis < output_.size(); ++axis) {
    from += index / output_strides_[axis] * input_strides_[side][axis];
    index %= output_strides_[axis];
  }
  return from;
}

Value Multiply::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& a = *inputs[0];
  const Value& b = *inputs[1];
  const bool binary = a.is_spikes() && b.is_spikes() && a.spikes->kind == SpikeKind::binary &&
                      b.spikes->kind == SpikeKind::binary && a.spikes->amplitude.empty() &&
                      b.spikes->amplitude.empty();
  if (binary && shapes_[0] == shapes_[1]) {
    // AND of two sorted index lists.
    SpikeTrain s;
    s.steps = a.steps;
    s.batch = a.batch;
    s.features = element_count(output_);
    for (std::size_t f = 0; f < a.frames(); ++f) {
      const auto x = a.spikes->frame_indices(f), y = b.spikes->frame_indices(f);
      std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(s.indices));
      s.close_frame();
    }
    return Value::of_spikes(output_, std::move(s));
  }
  if (binary) {
    // Broadcast: each output element tests the two flags it reads.
    SpikeTrain s;
    s.steps = a.steps;
    s.batch = a.batch;
    s.features = element_count(output_);
    std::vector<std::uint8_t> flags[2];
    flags[0].resize(a.features());
    flags[1].resize(b.features());
    for (std::size_t f = 0; f < a.frames(); ++f) {
      for (std::size_t side = 0; side < 2; ++side) {
        std::fill(flags[side].begin(), flags[side].end(), 0);
        for (std::uint32_t index : (side == 0 ? a : b).spikes->frame_indices(f))
          flags[side][index] = 1;
      }
      for (std::size_t i = 0; i < s.features; ++i) {
        if (flags[0][source(0, i)] && flags[1][source(1, i)])
          s.add(static_cast<std::uint32_t>(i), 1);
      }
      s.close_frame();
    }
    return Value::of_spikes(output_, std::move(s));
  }
  const Value::DenseView x = a.dense_view(), y = b.dense_view();
  Value out = Value::analog(output_, a.steps, a.batch);
  const std::size_t n = out.features(), na = a.features(), nb = b.features();
#pragma omp parallel for schedule(static)
  for (std::size_t f = 0; f < out.frames(); ++f) {
    for (std::size_t i = 0; i < n; ++i)
      out.dense[f * n + i] = x[f * na + source(0, i)] * y[f * nb + source(1, i)];
  }
  if (!a.is_spikes() && !b.is_spikes()) counts.macs += out.dense.size();
  return out;
}

}  // namespace snnsim
