#pragma once
// Element-wise and shape operators: residual add, per-channel scale, BatchNorm (inference form,
// folded into the preceding linear or convolution at load time when that is its only input) and
// flatten.
//
// Channels are the first dimension of a sample's shape ([C, H, W], or [D] for vectors).
#include <memory>
#include <optional>

#include "sim/graph/layer_op.h"

namespace snnsim {

/// a + b, same shapes. Two unit-amplitude spike inputs give integer spikes (Spikformer's
/// rpe + features: values 0, 1 or 2); anything else gives analog values.
class Add final : public LayerOp {
 public:
  std::string_view kind() const override { return "add"; }
  std::size_t arity() const override { return 2; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Shape shape_;
};

/// x * scale[c] per channel. Weight: "scale" (or another name) [C], or [1, C, 1, ...] as PyTorch
/// stores a broadcasting per-channel parameter (`broadcast_shape`); or a constant for every
/// channel, loading nothing. A scale of magnitude below `min_magnitude` is raised to it, its sign
/// kept (T-RevSNN's alpha: sign(a) * max(|a|, 1e-3), zero staying zero).
class ChannelScale final : public LayerOp {
 public:
  struct Options {
    std::string weight = "scale";
    bool broadcast_shape = false;
    float min_magnitude = 0.0f;
  };
  ChannelScale() = default;
  explicit ChannelScale(Options options) : options_(options) {}
  /// Every channel times `value`.
  static std::unique_ptr<ChannelScale> constant(float value);
  std::string_view kind() const override { return "scale"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_into(LayerOp& before) const override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  /// Per channel.
  const std::vector<float>& scale() const { return scale_; }

 private:
  Options options_;
  std::optional<float> constant_;
  Shape shape_;
  std::vector<float> scale_;
};

/// (x - running_mean) / sqrt(running_var + eps) * weight + bias per channel, the channels along
/// `axis` (0: [C, H, W] maps; the last of [N, C] tokens, BatchNorm1d over a linear layer's
/// features). Weights: "weight", "bias", "running_mean", "running_var", each [C].
class BatchNorm final : public LayerOp {
 public:
  explicit BatchNorm(double eps, std::size_t axis = 0) : eps_(eps), axis_(axis) {}
  std::size_t channel_axis() const override { return axis_; }
  std::string_view kind() const override { return "batchnorm"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_into(LayerOp& before) const override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  /// The per-channel affine map this normalisation is: x * scale + shift.
  void affine(std::vector<float>& scale, std::vector<float>& shift) const;

 private:
  double eps_;
  std::size_t axis_;
  Shape shape_;
  std::size_t inner_ = 1;  ///< elements per channel step: the product of the axes after `axis`
  std::vector<float> weight_, bias_, mean_, variance_;
};

/// [d0, d1, ...] -> [d0 * d1 * ...]; values and spikes pass through (C order is kept).
class Flatten final : public LayerOp {
 public:
  std::string_view kind() const override { return "flatten"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Shape shape_;
};

}  // namespace snnsim
