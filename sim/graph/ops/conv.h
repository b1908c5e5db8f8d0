#pragma once
// Conv2d over [C, H, W] feature maps, with stride, zero padding and groups (depthwise when
// groups = C). Weights: "weight" [C_out, C_in / groups, kH, kW] (PyTorch's layout), "bias"
// [C_out].
//
// Spike input, event-driven: a frame's spikes are sorted by input pixel (a counting sort);
// then each output pixel sums the kernel columns of the spikes in its receptive field, the
// (tap, input channel) pairs that spiked, with an EventMatrix per group: the kernel as
// [C_out/g] x [kH x kW x C_in/g], summed in registers (see event_matrix.h). Work is
// proportional to the spikes. One output row at a time goes to an [OW][C_out] block, which
// stays in L1, and is written out as [C_out][OW]. Threads share out (frame, output row) pairs,
// so a batch of one balances across cores. (Scattering each spike's kernel into an accumulator
// instead did two loads and a store per accumulate, 1.5 times slower on T-RevSNN's 1 x 1
// convolutions.)
// Analog input (and dense spikes): im2col and SGEMM (OpenBLAS) per group and band of output
// rows, the band's patch matrix sized to stay in the L2 cache.
//
// Depthwise convolutions (groups = C_in = C_out) take a direct loop over each channel instead,
// spikes or not: a spike there reaches k^2 outputs of one channel, too little work to pay for
// sorting it, and im2col with one tiny SGEMM per channel had cost T-RevSNN's blocks ten times
// the loop. The channel is copied (or its spikes written) into a zero-padded plane, and each
// tap adds one shift of that whole plane: long vector loops even on 14-wide rows. Strided
// ones subsample the stride-1 outputs. Spikes count their ACs as the event path's.
//
// Weight standardization (timm's ScaledStdConv2d, as T-RevSNN uses it) is applied when the
// weights load: W <- gain_o * fan_in^-1/2 * (W - mean_o) / sqrt(var_o + eps), mean and biased
// variance over each output filter's fan_in = C_in / groups x kH x kW weights, with the extra
// tensor "gain" [C_out, 1, 1, 1].
#include <optional>
#include <utility>

#include "sim/graph/layer_op.h"
#include "sim/graph/neurons.h"
#include "sim/graph/ops/event_matrix.h"

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
  explicit Conv2d(Conv2dParameters p) : p_(p), bias_(p.out_channels, 0.0f) {}
  std::string_view kind() const override { return "conv2d"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  bool fold_affine(std::span<const float> scale, std::span<const float> shift) override;
  std::size_t affine_channels() const override { return p_.out_channels; }
  bool has_event_path() const override { return true; }
  /// Whether forward() takes the event path for input x: spikes, not depthwise, and sparse
  /// enough that it pays (else the dense path, still counting the event path's ACs).
  bool takes_event_path(const Value& x) const;
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
  /// One frame's spikes by input pixel: the channels that spiked at each pixel, ascending.
  struct PixelSpikes {
    std::vector<std::uint32_t> start;     ///< per pixel, its first spike; pixels + 1 entries
    std::vector<std::uint32_t> channels;  ///< per spike
    std::vector<std::int8_t> levels;      ///< per spike (integer and ternary spikes)
  };
  /// The events of one output row: per (group, output pixel), the columns of the group's
  /// EventMatrix that spiked, columns[first .. first + count) (in the frame's PixelSpikes for a
  /// 1 x 1 kernel without groups). A thread's scratch, reused from row to row.
  struct RowEvents {
    std::vector<std::uint32_t> first, count;
    std::vector<std::uint32_t> columns;
    std::vector<std::int8_t> levels;
    std::vector<std::uint64_t> bounds;  ///< one group's, by chunk (EventMatrix::ChunkedRows)
  };
  void forward_events(const SpikeTrain& spikes, Value& y, OpCounts& counts) const;
  PixelSpikes spikes_by_pixel(const SpikeTrain& spikes, std::size_t f) const;
  /// Output row oy of one frame, as [OW][C_out] into `block`: per output pixel, the spikes of
  /// its receptive field summed by the groups' EventMatrix. Returns the accumulates done.
  std::uint64_t sum_output_row(const PixelSpikes& frame, std::size_t oy, float amplitude,
                               RowEvents& row, float* block) const;
  /// im2col and SGEMM over the dense frames `in`.
  void forward_dense(const float* in, Value& y) const;
  /// Rows (i, ky, kx) of the patch matrix of output rows first_row .. first_row + rows
  /// ([patch][rows x OW]): per output pixel, the value of input `channel` (the group's i-th)
  /// under tap (ky, kx), zero in the padding.
  void im2col(const float* channel, std::size_t i, std::size_t first_row, std::size_t rows,
              float* matrix) const;
  bool depthwise() const { return p_.groups == p_.in_channels && p_.groups == p_.out_channels; }
  /// The direct depthwise loop over x's frames (spikes or analog) into y.
  void forward_depthwise(const Value& x, Value& y) const;
  /// The accumulates the event path does (or would do) for spikes `s`.
  std::uint64_t event_accumulates(const SpikeTrain& s) const;
  /// One channel: sums[i] = bias + the taps times `padded` (the zero-padded input plane) at
  /// stride 1, for the grid outputs i < grid, on rows of padded_width.
  void depthwise_plane(const float* padded, const float* taps, float bias, std::size_t grid,
                       std::size_t padded_width, float* sums) const;
  void rebuild_event_weights();
  /// Standardizes raw_weight_ by gain_ into weight_ once both are loaded.
  void standardize();

  Conv2dParameters p_;
  std::size_t height_ = 0, width_ = 0, out_height_ = 0, out_width_ = 0;
  std::vector<float> weight_;  ///< [C_out][C_in/g][kH][kW]
  /// The event path's weights: per group, [C_out/g] x [kH x kW x C_in/g] (tap-major).
  std::vector<EventMatrix> groups_;
  std::vector<float> bias_;
  std::vector<float> raw_weight_, gain_;  ///< until standardized (standardize_eps set)
  /// Per input pixel, the output pixels it reaches (per output channel of its group).
  std::vector<std::uint32_t> outputs_reached_;
};

}  // namespace snnsim
