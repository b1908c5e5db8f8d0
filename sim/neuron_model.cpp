#include "sim/neuron_model.h"

#include <algorithm>
#include <sstream>

namespace snnsim {

PopulationDynamics::PopulationDynamics(NeuronIndex size, std::size_t state_variables)
    : size_(size), state_(state_variables, std::vector<float>(size)) {}

namespace {
template <class Spec>
int index_by_name(std::span<const Spec> specs, std::string_view name) {
  const auto found =
      std::find_if(specs.begin(), specs.end(), [&](const Spec& s) { return s.name == name; });
  return found == specs.end() ? -1 : static_cast<int>(found - specs.begin());
}
}  // namespace

int NeuronModelInfo::parameter_index(std::string_view parameter) const {
  return index_by_name(parameters, parameter);
}
int NeuronModelInfo::state_index(std::string_view variable) const {
  return index_by_name(state, variable);
}
int NeuronModelInfo::receptor_index(std::string_view receptor) const {
  return index_by_name(receptors, receptor);
}

const NeuronModelInfo* find_neuron_model(std::string_view name) {
  for (const NeuronModelInfo& model : neuron_models()) {
    if (model.name == name) return &model;
  }
  return nullptr;
}

void ParameterChecker::require(bool ok, int index, std::string_view what) {
  if (ok) return;
  const ParameterSpec& spec = specs_[index];
  std::ostringstream line;
  line << spec.name << " " << what << " (got " << values_[index];
  if (!canonical_unit(spec.dimension).empty()) line << " " << canonical_unit(spec.dimension);
  line << ")";
  if (!problems_.empty()) problems_ += "; ";
  problems_ += line.str();
}

void ParameterChecker::throw_if_failed() const {
  if (!problems_.empty()) throw ParameterError(problems_);
}

}  // namespace snnsim
