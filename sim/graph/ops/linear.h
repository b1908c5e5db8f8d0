#pragma once
// Linear (fully connected) layer: y = W x + b, applied to the last dimension of its input
// ([D_in] -> [D_out], or per token: [N, D_in] -> [N, D_out]). Weights: "weight" [D_out, D_in]
// (PyTorch's layout), "bias" [D_out].
//
// Spike input: for each spike, its weight column is added (EventMatrix); signed spikes add or
// subtract, and the per-timestep amplitude multiplies the sum
// once: float x ternary products are additions and subtractions only. Analog input, and binary
// or integer spikes at more than 40 % of the elements (a transformer's residual stream of
// integer spikes), where the dense product is faster: one SGEMM over all frames (OpenBLAS).
// Spikes count their ACs either way.
#include "sim/graph/layer_op.h"
#include "sim/graph/ops/event_matrix.h"

namespace snnsim {

struct LinearParameters {
  std::size_t in_features = 0, out_features = 0;
  bool bias = true;
};

class Linear final : public LayerOp {
 public:
  explicit Linear(LinearParameters p) : p_(p), bias_(p.out_features, 0.0f) {}
  std::string_view kind() const override { return "linear"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_affine(std::span<const float> scale, std::span<const float> shift) override;
  std::size_t affine_channels() const override { return p_.out_features; }
  std::size_t channel_axis() const override { return output_shape_.size() - 1; }
  bool has_event_path() const override { return true; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  const LinearParameters& parameters() const { return p_; }
  /// [out][in], BatchNorm folded in.
  const std::vector<float>& weight() const { return weight_; }
  /// [out], zeros without a bias (once bound).
  const std::vector<float>& bias() const { return bias_; }

 private:
  void rebuild_event_weights();

  LinearParameters p_;
  Shape output_shape_;
  std::vector<float> weight_;  ///< [out][in]
  EventMatrix events_;         ///< the event path's copy of weight_
  std::vector<float> bias_;    ///< [out], zeros without a bias
};

}  // namespace snnsim
