#pragma once
// Conv2d over [C, H, W] feature maps, with stride, zero padding and groups (depthwise when
// groups = C). Weights: "weight" [C_out, C_in / groups, kH, kW] (PyTorch's layout), "bias"
// [C_out].
//
// Spike input, event-driven, one output row at a time into an [OW][C_out] block that stays in
// L1 and is written out as [C_out][OW]; threads share out (frame, output row) pairs, so a
// batch of one balances across cores. Work is proportional to the spikes. Two ways, by kernel:
// - 1 x 1 without groups (gathers()): a frame's spikes are sorted by input pixel (a counting
//   sort); each output pixel sums the weight columns of its input pixel's spikes with an
//   EventMatrix, in registers (event_matrix.h). 1.45x faster than scattering on T-RevSNN's
//   pointwise convolutions.
// - Larger kernels: a frame's spikes are bucketed by input row; each spike adds its kernel,
//   kept as [C_in][kH][kW, reversed][C_out / g] so that the output channels of a tap are
//   contiguous, and for stride 1 so are those of the taps along a row. A gather there copies
//   each spike once per tap into its output pixels' lists: 1.3-2x slower on the 3 x 3
//   convolutions of bench/networks/conv-bench.json.
// Analog input (and dense spikes, expanded band by band): im2col and SGEMM (OpenBLAS) per
// group and band of output rows, the band's patch matrix sized to stay in the L2 cache.
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
  /// Whether forward() takes the dense path (im2col and SGEMM) for input x.
  bool takes_dense_path(const Value& x) const { return !depthwise() && !takes_event_path(x); }
  /// This convolution's dense path on x with binary threshold neurons (ThresholdLayer) fed by
  /// it, fused: each band of output rows is thresholded as the SGEMM leaves it in cache, so the
  /// convolution's output never goes to memory (T-RevSNN's pwconv1, 3.2 MB a frame at its
  /// first level, was written, zeroed first, and read back). The spikes and counts are those of
  /// forward() then the threshold's forward(), bit for bit: the same SGEMM per band.
  SpikeTrain forward_dense_into_threshold(const Value& x, OpCounts& counts) const;
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
  /// One frame's spikes, sorted for the event path: by pixel (gathers()) or by row.
  struct FrameSpikes {
    PixelSpikes by_pixel;
    RowBuckets by_row;
  };
  /// Whether the event path gathers (a 1 x 1 kernel without groups: each output pixel sums the
  /// weight columns of its input pixel's spikes, read where they are) rather than scatters
  /// each spike's kernel (larger kernels, where a gather would copy each spike once per tap).
  bool gathers() const { return p_.kernel_h == 1 && p_.kernel_w == 1 && p_.groups == 1; }
  void forward_events(const SpikeTrain& spikes, Value& y, OpCounts& counts) const;
  FrameSpikes sort_spikes(const SpikeTrain& spikes, std::size_t f) const;
  PixelSpikes spikes_by_pixel(const SpikeTrain& spikes, std::size_t f) const;
  RowBuckets bucket_by_row(const SpikeTrain& spikes, std::size_t f) const;
  /// Output row oy of one frame, as [OW][C_out] into `block`, by gather_row or scatter_row;
  /// `bounds` is a thread's scratch. Returns the accumulates done.
  std::uint64_t output_row(const FrameSpikes& frame, std::size_t oy, float amplitude,
                           std::vector<std::uint64_t>& bounds, float* block) const;
  /// Per output pixel, its input pixel's spikes summed by pointwise_.
  std::uint64_t gather_row(const PixelSpikes& frame, std::size_t oy, float amplitude,
                           std::vector<std::uint64_t>& bounds, float* block) const;
  /// The buckets of the input rows that reach output row oy, each spike adding its taps.
  std::uint64_t scatter_row(const RowBuckets& buckets, std::size_t oy, float amplitude,
                            float* block) const;
  /// A threshold's spikes on the bands of output rows of the dense path: per band (frame,
  /// group, rows), its events channel by channel, and where each of its group's channels ends.
  struct BandSpikes {
    std::vector<std::vector<std::uint32_t>> indices, channel_end;
  };
  /// im2col and SGEMM over x's frames (analog, or spikes expanded band by band), in bands of
  /// output rows: into `out` ([frames][C_out][OH][OW]), or, with `spikes`, each band into a
  /// buffer of the thread's, thresholded there.
  void forward_dense(const Value& x, float* out, BandSpikes* spikes) const;
  /// Rows first_row .. first_row + rows of input channels first_channel .. + channels of
  /// frame f of `s`, dense ([channels][rows][W]): level x amplitude at each spike.
  void expand_rows(const SpikeTrain& s, std::size_t f, std::size_t first_channel,
                   std::size_t channels, std::size_t first_row, std::size_t rows,
                   float* dense) const;
  /// Bands of output rows of the dense path for `frames` frames (`fused` with neurons): rows
  /// per band, bands per frame and group.
  std::pair<std::size_t, std::size_t> dense_bands(std::size_t frames, bool fused) const;
  /// Adds to `counts` the work forward() counts off the event path on x: the event path's
  /// ACs for spikes (what the event-driven model does), else the dense multiply-adds.
  void count_dense_work(const Value& x, OpCounts& counts) const;
  /// Rows (i, ky, kx) of the patch matrix of output rows first_row .. first_row + rows
  /// ([patch][rows x OW]): per output pixel, the value of an input channel (the group's i-th,
  /// `channel`: its rows from channel_row on) under tap (ky, kx), zero in the padding.
  void im2col(const float* channel, long channel_row, std::size_t i, std::size_t first_row,
              std::size_t rows, float* matrix) const;
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
  std::vector<float> weight_;   ///< [C_out][C_in/g][kH][kW]
  EventMatrix pointwise_;       ///< the gathering event path's weights
  std::vector<float> scatter_;  ///< the scattering one's: [C_in][kH][kW reversed][C_out/g]
  std::vector<float> bias_;
  std::vector<float> raw_weight_, gain_;  ///< until standardized (standardize_eps set)
  /// Per input pixel, the output pixels it reaches (per output channel of its group).
  std::vector<std::uint32_t> outputs_reached_;
  std::vector<ColumnSpan> column_spans_;  ///< per input column
};

}  // namespace snnsim
