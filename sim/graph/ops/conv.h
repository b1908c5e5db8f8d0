#pragma once
// Conv2d over [C, H, W] feature maps, with stride, zero padding and groups (depthwise when
// groups = C). Weights: "weight" [C_out, C_in / groups, kH, kW] (PyTorch's layout), "bias"
// [C_out].
//
// Spike input, event-driven: each spike at (c, y, x) scatters its kernel, kept as
// [C_in][kH][kW, reversed][C_out / groups] so that the output channels of a tap are contiguous,
// and for stride 1 so are those of the taps along a row (see scatter_row). Work is
// proportional to the spikes. The frame's spikes are first bucketed by input row; then one
// output row at a time gathers the rows that reach it into an [OW][C_out] accumulator, which
// stays in L1 (8 KB for 32 x 64), and is written out as [C_out][OW] before the next row.
// Scattering into a whole [OH][OW][C_out] frame instead made every accumulate an L2 access.
// Threads share out (frame, output row) pairs, so a batch of one balances across cores.
// Analog input: im2col and one SGEMM per group (OpenBLAS); with fewer frames than threads the
// SGEMMs are cut by output channels.
//
// Depthwise convolutions (groups = C_in = C_out) take a direct loop over each channel's rows
// instead, spikes or not: a spike there reaches k^2 outputs of one channel, too little work to
// pay for bucketing it, and im2col with one tiny SGEMM per channel had cost T-RevSNN's blocks
// ten times the loop. Spikes are expanded first and their ACs counted as the event path's.
//
// Weight standardization (timm's ScaledStdConv2d, as T-RevSNN uses it) is applied when the
// weights load: W <- gain_o * fan_in^-1/2 * (W - mean_o) / sqrt(var_o + eps), mean and biased
// variance over each output filter's fan_in = C_in / groups x kH x kW weights, with the extra
// tensor "gain" [C_out, 1, 1, 1].
#include <optional>
#include <utility>

#include "sim/graph/layer_op.h"
#include "sim/graph/neurons.h"

namespace snnsim {

struct Conv2dParameters {
  std::size_t in_channels = 0, out_channels = 0;
  std::size_t kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t padding_h = 0, padding_w = 0;
  std::size_t groups = 1;
  bool bias = true;
  /// Set: weight standardization with this eps (timm's ScaledStdConv2d: 1e-6).
  std::optional<double> standardize_eps;
};

class Conv2d final : public LayerOp {
 public:
  /// The output columns an input column reaches: first_output, first_output + 1, ... (count of
  /// them), through taps first_tap, first_tap + stride, ... of the kernel stored reversed along
  /// its width.
  struct ColumnSpan {
    std::uint32_t first_output = 0, first_tap = 0, count = 0;
  };

  explicit Conv2d(Conv2dParameters p) : p_(p), bias_(p.out_channels, 0.0f) {}
  std::string_view kind() const override { return "conv2d"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_affine(std::span<const float> scale, std::span<const float> shift) override;
  std::size_t affine_channels() const override { return p_.out_channels; }
  bool has_event_path() const override { return true; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  /// This convolution on spikes with `lif` fed by it, fused: each (sample, output row) runs
  /// through the timesteps, the LIF charging from the row just gathered, so the convolution's
  /// output never goes to memory. The spikes and counts are those of forward() then lif's
  /// forward(), bit for bit (the same float operations in the same order).
  SpikeTrain forward_into_lif(const SpikeTrain& spikes, const LifLayer& lif,
                              OpCounts& counts) const;
  const Conv2dParameters& parameters() const { return p_; }
  /// [C_out][C_in/g][kH][kW], BatchNorm folded in.
  const std::vector<float>& weight() const { return weight_; }
  /// [C_out], zeros without a bias (once bound).
  const std::vector<float>& bias() const { return bias_; }

 private:
  /// A spike of one frame, bucketed by its input row.
  struct RowEvent {
    std::uint32_t kernel;        ///< offset of its channel's [kH][kW][C_out/g] block in scatter_
    std::uint32_t first_output;  ///< first output channel of its group
    std::uint32_t column;
    float level;
  };
  /// One frame's spikes, bucketed by input row.
  struct RowBuckets {
    std::vector<RowEvent> events;        ///< grouped by row, rows ascending
    std::vector<std::uint32_t> row_end;  ///< per input row, the end of its group in `events`
  };
  void forward_events(const SpikeTrain& spikes, Value& y, OpCounts& counts) const;
  RowBuckets bucket_by_row(const SpikeTrain& spikes, std::size_t f) const;
  /// Output row oy of one frame: gathers the buckets of the input rows that reach it into
  /// `accumulator` ([OW][C_out]) and writes channel o's row to out + o * channel_stride.
  /// Returns the accumulates done.
  std::uint64_t scatter_row(const RowBuckets& buckets, std::size_t oy, float amplitude,
                            float* accumulator, float* out, std::size_t channel_stride) const;
  void forward_dense(const Value& x, Value& y, OpCounts& counts) const;
  /// Rows (i, ky, kx) of a patch matrix [patch][out_plane]: per output pixel, the value of input
  /// `channel` (the group's i-th) under tap (ky, kx), zero in the padding.
  void im2col(const float* channel, std::size_t i, float* matrix) const;
  bool depthwise() const { return p_.groups == p_.in_channels && p_.groups == p_.out_channels; }
  /// The direct depthwise loop over dense frames `in` into y.
  void forward_depthwise(const float* in, Value& y) const;
  /// The accumulates the event path does for spikes `s`.
  std::uint64_t event_accumulates(const SpikeTrain& s) const;
  void rebuild_scatter_layout();
  /// Standardizes raw_weight_ by gain_ into weight_ once both are loaded.
  void standardize();

  Conv2dParameters p_;
  std::size_t height_ = 0, width_ = 0, out_height_ = 0, out_width_ = 0;
  std::vector<float> weight_;   ///< [C_out][C_in/g][kH][kW]
  std::vector<float> scatter_;  ///< [C_in][kH][kW reversed][C_out/g]
  std::vector<float> bias_;
  std::vector<float> raw_weight_, gain_;     ///< until standardized (standardize_eps set)
  std::vector<ColumnSpan> column_spans_;     ///< per input column
  std::vector<std::uint32_t> rows_reached_;  ///< per input row, the output rows it reaches
};

}  // namespace snnsim
