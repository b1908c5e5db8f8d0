#pragma once
// Spatial resampling of [C, H, W] feature maps: max, average and sum pooling, global average
// pooling ([C, H, W] -> [C]) and nearest-neighbour upsampling.
//
// Max pooling and upsampling of spikes give spikes of the same kind (the maximum of binary
// spikes is their OR; max pooling does it event-driven); average, sum and global pooling give
// analog values.
#include "sim/graph/layer_op.h"

namespace snnsim {

enum class PoolKind { max, average, sum };

struct Pool2dParameters {
  PoolKind kind = PoolKind::max;
  std::size_t kernel_h = 2, kernel_w = 2;
  std::size_t stride_h = 2, stride_w = 2;
  std::size_t padding_h = 0, padding_w = 0;
};

class Pool2d final : public LayerOp {
 public:
  explicit Pool2d(Pool2dParameters p) : p_(p) {}
  std::string_view kind() const override;
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  const Pool2dParameters& parameters() const { return p_; }

 private:
  SpikeTrain max_of_spikes(const SpikeTrain& in) const;

  Pool2dParameters p_;
  Shape input_, output_;
  /// Per input pixel p, windows_[window_offsets_[p] .. window_offsets_[p + 1]): the output
  /// pixels whose windows contain it.
  std::vector<std::uint32_t> window_offsets_, windows_;
};

class GlobalAveragePool final : public LayerOp {
 public:
  std::string_view kind() const override { return "global_avgpool"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Shape input_;
};

class Upsample final : public LayerOp {
 public:
  explicit Upsample(std::size_t scale) : scale_(scale) {}
  std::string_view kind() const override { return "upsample_nearest"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  std::size_t scale() const { return scale_; }

 private:
  std::size_t scale_;
  Shape input_;
};

/// Spikes of `like`'s kind and amplitudes from dense values that are whole multiples of the
/// amplitude (what max pooling or upsampling of spikes produces).
SpikeTrain spikes_from_dense(const SpikeTrain& like, std::span<const float> dense,
                             std::size_t features);

}  // namespace snnsim
