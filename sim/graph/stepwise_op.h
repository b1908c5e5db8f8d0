#pragma once
// One operator per timestep: a node whose weights differ from one timestep to the next (the
// columns of T-RevSNN, each with its own convolutions) while its neighbours may hold one
// operator for all timesteps (T-RevSNN's BlockB second half, shared by every column). A graph
// with a stepwise node runs step by step, step t through operator t.
//
// Each step's operator names its tensors under a prefix of its own ("subnet2.level1.fusion.down
// .encode_conv"), so a PyTorch model whose modules are numbered per timestep loads as saved.
#include <memory>

#include "sim/graph/layer_op.h"

namespace snnsim {

class StepwiseOp final : public LayerOp {
 public:
  /// ops[t] runs timestep t and loads its tensors as "<prefixes[t]>.<name>". All ops have the
  /// same kind and arity, and must bind to the same output shape. ops[t] may be null for the
  /// timesteps before the node's first step (GraphNode::first_step), which never run.
  StepwiseOp(std::vector<std::unique_ptr<LayerOp>> ops, std::vector<std::string> prefixes);

  std::string_view kind() const override { return first().kind(); }
  std::size_t arity() const override { return first().arity(); }
  bool varies_with_step() const override { return true; }
  bool has_event_path() const override { return first().has_event_path(); }
  Shape bind(std::span<const Shape> inputs) override;
  /// Every step's tensors, by their whole names.
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  /// The same map folded into every step's operator.
  bool fold_affine(std::span<const float> scale, std::span<const float> shift) override;
  std::size_t affine_channels() const override { return first().affine_channels(); }
  std::size_t channel_axis() const override { return first().channel_axis(); }
  /// Step t's map into step t's operator of `before`, a StepwiseOp of as many steps.
  bool fold_into(LayerOp& before) const override;
  /// Never called: stepwise nodes run step by step.
  Value forward(std::span<const Value* const>, OpCounts&) const override {
    throw GraphError("stepwise operators run step by step");
  }
  Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                     StepContext& context) const override;
  std::size_t steps() const { return ops_.size(); }
  /// The first timestep with an operator.
  std::size_t first_step() const;
  /// Timestep `step`'s operator (from first_step() on).
  const LayerOp& at(std::size_t step) const { return *ops_.at(step); }

 private:
  const LayerOp& first() const { return *ops_[first_step()]; }

  std::vector<std::unique_ptr<LayerOp>> ops_;
  std::vector<std::string> prefixes_;
};

}  // namespace snnsim
