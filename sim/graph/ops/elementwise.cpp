#include "sim/graph/ops/elementwise.h"

#include <cmath>

#include "sim/graph/ops/pooling.h"

namespace snnsim {

Shape Add::bind(std::span<const Shape> inputs) {
  if (inputs[0] != inputs[1]) {
    throw GraphError("expected two inputs of the same shape; found " + shape_string(inputs[0]) +
                     " and " + shape_string(inputs[1]));
  }
  shape_ = inputs[0];
  return shape_;
}

Value Add::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value &a = *inputs[0], &b = *inputs[1];
  Value y = Value::analog(shape_, a.steps, a.batch);
  const Value::DenseView da = a.dense_view(), db = b.dense_view();
  const float* __restrict from_a = da.data(), * __restrict from_b = db.data();
  float* __restrict to = y.dense.data();
#pragma omp parallel for schedule(static)
  for (std::size_t k = 0; k < y.dense.size(); ++k)
    to[k] = from_a[k] + from_b[k];
  const auto unit_spikes = [](const Value& v) {
    return v.is_spikes() && v.spikes->kind != SpikeKind::ternary;
  };
  if (unit_spikes(a) && unit_spikes(b)) {
    SpikeTrain like = *a.spikes;
    like.kind = SpikeKind::integer;
    y.spikes = spikes_from_dense(like, y.dense, y.features());
    y.dense.clear();
  }
  return y;
}

std::unique_ptr<ChannelScale> ChannelScale::constant(float value) {
  auto scale = std::make_unique<ChannelScale>();
  scale->constant_ = value;
  return scale;
}

Shape ChannelScale::bind(std::span<const Shape> inputs) {
  shape_ = inputs[0];
  if (shape_.empty()) throw GraphError("expected an input with a channel dimension");
  if (constant_) scale_.assign(shape_[0], *constant_);
  return shape_;
}

std::vector<WeightSpec> ChannelScale::weight_specs() const {
  if (constant_) return {};
  if (!options_.broadcast_shape) return {{options_.weight, {shape_[0]}}};
  Shape stored(shape_.size() + 1, 1);
  stored[1] = shape_[0];
  return {{options_.weight, stored}};
}

void ChannelScale::set_weight(const std::string&, std::vector<float> values) {
  for (float& a : values) {
    if (std::abs(a) < options_.min_magnitude && a != 0.0f)
      a = std::copysign(options_.min_magnitude, a);
  }
  scale_ = std::move(values);
}

bool ChannelScale::fold_into(LayerOp& before) const {
  return before.fold_affine(scale_, std::vector<float>(scale_.size(), 0.0f));
}

Value ChannelScale::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  Value y = Value::analog(shape_, x.steps, x.batch);
  const std::size_t channels = shape_[0], per_channel = y.features() / channels;
  // One channel of one frame at a time: a plain vector loop, no index arithmetic per element.
#pragma omp parallel for schedule(static)
  for (std::size_t item = 0; item < y.frames() * channels; ++item) {
    const float scale = scale_[item % channels];
    const float* __restrict from = in.data() + item * per_channel;
    float* __restrict to = y.dense.data() + item * per_channel;
    for (std::size_t i = 0; i < per_channel; ++i)
      to[i] = scale * from[i];
  }
  counts.macs += y.dense.size();
  return y;
}

Shape BatchNorm::bind(std::span<const Shape> inputs) {
  shape_ = inputs[0];
  if (axis_ >= shape_.size()) {
    throw GraphError("axis " + std::to_string(axis_) + ": the input " + shape_string(shape_) +
                     " has axes 0 to " + std::to_string(shape_.size() - 1));
  }
  inner_ = element_count(Shape(shape_.begin() + static_cast<long>(axis_) + 1, shape_.end()));
  return shape_;
}

std::vector<WeightSpec> BatchNorm::weight_specs() const {
  const Shape channels{shape_[axis_]};
  return {{"weight", channels},
          {"bias", channels},
          {"running_mean", channels},
          {"running_var", channels}};
}

void BatchNorm::set_weight(const std::string& name, std::vector<float> values) {
  (name == "weight"         ? weight_
   : name == "bias"         ? bias_
   : name == "running_mean" ? mean_
                            : variance_) = std::move(values);
}

void BatchNorm::affine(std::vector<float>& scale, std::vector<float>& shift) const {
  const std::size_t channels = shape_[axis_];
  scale.resize(channels);
  shift.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = static_cast<float>(weight_[c] / std::sqrt(static_cast<double>(variance_[c]) + eps_));
    shift[c] = bias_[c] - mean_[c] * scale[c];
  }
}

bool BatchNorm::fold_into(LayerOp& before) const {
  std::vector<float> scale, shift;
  affine(scale, shift);
  return before.fold_affine(scale, shift);
}

Value BatchNorm::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  std::vector<float> scale, shift;
  affine(scale, shift);
  Value y = Value::analog(shape_, x.steps, x.batch);
  y.dense = x.densified();
  const std::size_t channels = shape_[axis_];
  for (std::size_t k = 0; k < y.dense.size(); ++k) {
    const std::size_t c = (k % y.features()) / inner_ % channels;
    y.dense[k] = y.dense[k] * scale[c] + shift[c];
  }
  counts.macs += y.dense.size();
  return y;
}

Shape Flatten::bind(std::span<const Shape> inputs) {
  shape_ = {element_count(inputs[0])};
  return shape_;
}

Value Flatten::forward(std::span<const Value* const> inputs, OpCounts&) const {
  Value y = *inputs[0];
  y.shape = shape_;
  return y;
}

}  // namespace snnsim
