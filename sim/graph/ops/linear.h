#pragma once
// Linear (fully connected) layer: y = W x + b, applied to the last dimension of its input
// ([D_in] -> [D_out], or per token: [N, D_in] -> [N, D_out]). Weights: "weight" [D_out, D_in]
// (PyTorch's layout), "bias" [D_out].
//
// Spike input: for each spike, its weight column is added (kept transposed, so the column is
// contiguous); signed spikes add or subtract, and the per-timestep amplitude multiplies the sum
// once: float x ternary products are additions and subtractions only. Analog input, and binary
// or integer spikes at more than 40 % of the elements (a transformer's residual stream of
// integer spikes), where the dense product is faster: one SGEMM over all frames (OpenBLAS).
// Spikes count their ACs either way.
#include "sim/graph/layer_op.h"

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
  /// One row (token) of spike input: its events indices[0 .. count) (feature indices offset by
  /// `base`). Writes outputs first .. first + width of the row: amplitude x the sum of the events'
  /// weight columns, plus the bias. Integer spikes: each column times its level. Binary and
  /// ternary spikes (levels null): the first `added` columns added, the others subtracted.
  void spiking_row(const std::uint32_t* indices, const std::int8_t* levels, std::size_t count,
                   std::size_t added, std::size_t base, std::size_t first, std::size_t width,
                   float amplitude, float* row) const;
  /// Where weight (o, i) lies in tiled_.
  std::size_t tiled_position(std::size_t i, std::size_t o) const;

  LinearParameters p_;
  Shape output_shape_;
  std::vector<float> weight_;  ///< [out][in]
  /// The event path's copy of the weights: per tile of kTile outputs (the last padded with
  /// zeros), [in][kTile].
  std::vector<float> tiled_;
  std::vector<float> bias_;  ///< [out], zeros without a bias
};

}  // namespace snnsim
