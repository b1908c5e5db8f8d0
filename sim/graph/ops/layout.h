#pragma once
// Layout operators: they move, reduce or combine values along the axes of a sample's shape, for
// graphs whose tensors change layout (a transformer's [C, H, W] feature maps become [N, C]
// tokens) or combine two spike tensors (the Spike-driven Transformer's Q ⊙ SN(sum over tokens of
// K ⊙ V)).
//
// - Permute: the axes in a new order, spikes staying spikes (each event's index moved).
// - Reduce: the mean or the sum over one axis; spikes event-driven, one add per spike.
// - Select: one index along an axis, the axis dropped (a transformer's first token; one row of a
//   language model's input), spikes staying spikes.
// - Multiply: the element-wise product of two inputs, an input's axes of size 1 broadcast over
//   the other's. Binary spikes times binary spikes are their AND, as spikes.
#include "sim/graph/layer_op.h"

namespace snnsim {

/// Output axis k is input axis order[k].
class Permute final : public LayerOp {
 public:
  explicit Permute(std::vector<std::size_t> order) : order_(std::move(order)) {}
  std::string_view kind() const override { return "permute"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  const std::vector<std::size_t>& order() const { return order_; }

 private:
  std::vector<std::size_t> order_;
  Shape input_, output_;
  std::vector<std::uint32_t> destination_;  ///< per input element, its output index
};

/// Index `index` of `axis`, which the output drops ([N, D] at axis 0, index 0: [D]); an input of
/// one axis gives [1].
class Select final : public LayerOp {
 public:
  Select(std::size_t axis, std::size_t index) : axis_(axis), index_(index) {}
  std::string_view kind() const override { return "select"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  std::size_t axis_, index_;
  Shape output_;
  std::size_t length_ = 1, inner_ = 1;  ///< the input as [outer][length][inner]
};

enum class ReduceKind { mean, sum };

/// The mean or sum over `axis`, which the output drops ([N, C] over 0: [C]); an input of one
/// axis gives [1]. Over Reduce::kTimesteps, the mean or sum over the timesteps: one timestep
/// out, of the input's shape (SpikeLM's encoder output). Analog output.
class Reduce final : public LayerOp {
 public:
  static constexpr std::size_t kTimesteps = static_cast<std::size_t>(-1);
  Reduce(ReduceKind reduction, std::size_t axis) : reduction_(reduction), axis_(axis) {}
  std::string_view kind() const override { return reduction_ == ReduceKind::mean ? "mean" : "sum"; }
  bool needs_all_steps() const override { return axis_ == kTimesteps; }
  bool collapses_time() const override { return axis_ == kTimesteps; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Value over_timesteps(const Value& x) const;

  ReduceKind reduction_;
  std::size_t axis_;
  Shape input_, output_;
  std::size_t outer_ = 1, length_ = 1, inner_ = 1;  ///< the input as [outer][length][inner]
};

/// a * b element-wise. The inputs have the same number of axes; where one has size 1 the other's
/// size is taken (broadcast). Two binary spike inputs give their AND as binary spikes (for one
/// shape, an intersection of their events); anything else the analog product (spikes as level x
/// amplitude), counted as MACs when neither input spikes.
class Multiply final : public LayerOp {
 public:
  std::string_view kind() const override { return "multiply"; }
  std::size_t arity() const override { return 2; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  /// The element of input `side` that output element `index` reads.
  std::size_t source(std::size_t side, std::size_t index) const;

  Shape shapes_[2], output_;
  std::vector<std::size_t> output_strides_, input_strides_[2];  ///< per axis; 0 where broadcast
};

}  // namespace snnsim
