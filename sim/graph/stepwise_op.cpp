#include "sim/graph/stepwise_op.h"

namespace snnsim {

StepwiseOp::StepwiseOp(std::vector<std::unique_ptr<LayerOp>> ops, std::vector<std::string> prefixes)
    : ops_(std::move(ops)), prefixes_(std::move(prefixes)) {
  if (ops_.size() != prefixes_.size() || ops_.empty() || ops_.back() == nullptr)
    throw GraphError("a stepwise operator needs an operator and a tensor prefix per timestep");
}

std::size_t StepwiseOp::first_step() const {
  std::size_t t = 0;
  while (ops_[t] == nullptr)
    ++t;
  return t;
}

Shape StepwiseOp::bind(std::span<const Shape> inputs) {
  const Shape shape = ops_[first_step()]->bind(inputs);
  for (std::size_t t = first_step() + 1; t < ops_.size(); ++t) {
    if (ops_[t] == nullptr) throw GraphError("timestep " + std::to_string(t) + " has no operator");
    if (ops_[t]->bind(inputs) != shape)
      throw GraphError("timestep " + std::to_string(t) + "'s operator gives another shape");
  }
  return shape;
}

std::vector<WeightSpec> StepwiseOp::weight_specs() const {
  std::vector<WeightSpec> specs;
  for (std::size_t t = first_step(); t < ops_.size(); ++t) {
    for (WeightSpec spec : ops_[t]->weight_specs()) {
      if (!spec.full_name) spec.name = prefixes_[t] + "." + spec.name;
      spec.full_name = true;
      specs.push_back(std::move(spec));
    }
  }
  return specs;
}

void StepwiseOp::set_weight(const std::string& name, std::vector<float> values) {
  for (std::size_t t = first_step(); t < ops_.size(); ++t) {
    for (const WeightSpec& spec : ops_[t]->weight_specs()) {
      if ((spec.full_name ? spec.name : prefixes_[t] + "." + spec.name) == name) {
        ops_[t]->set_weight(spec.name, std::move(values));
        return;
      }
    }
  }
  throw GraphError("no timestep's operator loads a tensor called '" + name + "'");
}

bool StepwiseOp::fold_affine(std::span<const float> scale, std::span<const float> shift) {
  bool folded = true;
  for (const auto& op : ops_)
    folded &= op == nullptr || op->fold_affine(scale, shift);
  return folded;
}

bool StepwiseOp::fold_into(LayerOp& before) const {
  auto* stepwise = dynamic_cast<StepwiseOp*>(&before);
  if (stepwise == nullptr || stepwise->ops_.size() != ops_.size()) return false;
  bool folded = true;
  for (std::size_t t = 0; t < ops_.size(); ++t) {
    if ((ops_[t] == nullptr) != (stepwise->ops_[t] == nullptr)) return false;
    folded &= ops_[t] == nullptr || ops_[t]->fold_into(*stepwise->ops_[t]);
  }
  return folded;
}

Value StepwiseOp::forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                               StepContext& context) const {
  return ops_[context.step]->forward_step(inputs, counts, context);
}

}  // namespace snnsim
