#pragma once
// Conv2d over [C, H, W] feature maps, with stride, zero padding and groups (depthwise when
// groups = C). Weights: "weight" [C_out, C_in / groups, kH, kW] (PyTorch's layout), "bias"
// [C_out].
//
// Spike input, event-driven: each spike at (c, y, x) scatters its kernel, kept as
// [C_in][kH][kW][C_out / groups] so that the output channels of a tap are contiguous, into an
// [OH][OW][C_out] accumulator, transposed to [C_out][OH][OW] at the end of the frame. Work is
// proportional to the spikes. Analog input: im2col and one SGEMM per group (OpenBLAS).
#include <utility>

#include "sim/graph/layer_op.h"

namespace snnsim {

struct Conv2dParameters {
  std::size_t in_channels = 0, out_channels = 0;
  std::size_t kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t padding_h = 0, padding_w = 0;
  std::size_t groups = 1;
  bool bias = true;
};

class Conv2d final : public LayerOp {
 public:
  explicit Conv2d(Conv2dParameters p) : p_(p) {}
  std::string_view kind() const override { return "conv2d"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_affine(std::span<const float> scale, std::span<const float> shift) override;
  std::size_t affine_channels() const override { return p_.out_channels; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  void forward_events(const SpikeTrain& spikes, Value& y, OpCounts& counts) const;
  /// Frame f of the event path: scatters its spikes into `accumulator` ([OH][OW][C_out]),
  /// writes [C_out][OH][OW] to `out`; returns the accumulates done.
  std::uint64_t scatter_frame(const SpikeTrain& spikes, std::size_t f, float* accumulator,
                              float* out) const;
  void forward_dense(const Value& x, Value& y, OpCounts& counts) const;
  void rebuild_scatter_layout();

  Conv2dParameters p_;
  std::size_t height_ = 0, width_ = 0, out_height_ = 0, out_width_ = 0;
  std::vector<float> weight_;   ///< [C_out][C_in/g][kH][kW]
  std::vector<float> scatter_;  ///< [C_in][kH][kW][C_out/g]
  std::vector<float> bias_;
  /// Per input row / column: the (tap, output row / column) pairs it reaches.
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> row_taps_, column_taps_;
};

}  // namespace snnsim
