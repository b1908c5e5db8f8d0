#pragma once
// ModelPopulation<Model> turns a model struct into PopulationDynamics. A model struct provides:
//
//   static constexpr std::string_view kName, kSummary;
//   static constexpr std::array<ParameterSpec, P> kParameters;   // and an enum of their indices
//   static constexpr std::array<StateSpec, S> kState;            // and an enum of their indices
//   static constexpr std::array<ReceptorSpec, R> kReceptors;
//   struct Constants;                                            // derived once per run
//   static Constants derive(ParameterChecker& parameters, double dt_ms);   // validates too
//   SNN_HD static bool update(const Constants&, NeuronState, SynapticInput, NeuronClock);
//
// The loop below is the CPU's per-neuron launch; kernels/neuron_update.cu is the CUDA one.
#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/neuron_step.h"
#include "sim/neuron_model.h"

namespace snnsim {

template <class Model>
class ModelPopulation final : public PopulationDynamics {
 public:
  static constexpr std::size_t kStateCount = Model::kState.size();
  static constexpr std::size_t kReceptorCount = Model::kReceptors.size();
  static_assert(kReceptorCount <= kMaxReceptors);

  explicit ModelPopulation(const PopulationSetup& setup)
      : PopulationDynamics(setup.size, kStateCount),
        constants_(derive_checked(setup)),
        random_(setup.random) {
    for (std::size_t var = 0; var < kStateCount; ++var) {
      const StateSpec& spec = Model::kState[var];
      double initial = spec.default_value;
      for (std::size_t k = 0; k < Model::kParameters.size(); ++k) {
        if (Model::kParameters[k].name == spec.default_parameter) initial = setup.parameters[k];
      }
      std::fill(state_[var].begin(), state_[var].end(), static_cast<float>(initial));
    }
  }

  void update(NeuronIndex begin, NeuronIndex end, Step step, const StepInputs& inputs,
              std::vector<NeuronIndex>& spikes) override {
    // Local copies: the compiler can then keep constants and pointers in registers instead of
    // reloading them after every store to a state array.
    const typename Model::Constants constants = constants_;
    const RandomStream random = random_;
    float* variables[kStateCount > 0 ? kStateCount : 1];
    for (std::size_t var = 0; var < kStateCount; ++var)
      variables[var] = state_[var].data();
    float* receptors[kReceptorCount > 0 ? kReceptorCount : 1];
    for (std::size_t r = 0; r < kReceptorCount; ++r)
      receptors[r] = inputs.receptor[r];
    float* const current = inputs.current;
    for (NeuronIndex i = begin; i < end; ++i) {
      SynapticInput input{};
      for (std::size_t r = 0; r < kReceptorCount; ++r)
        input.receptor[r] = receptors[r][i];
      if (current != nullptr) input.current = current[i];
      if (Model::update(constants, NeuronState{variables, i}, input,
                        NeuronClock{step, i, &random})) {
        spikes.push_back(i);
      }
    }
    // Inputs are consumed: cleared for the step that reuses the ring slot (a separate pass, as
    // a memset, is faster than clearing inside the loop).
    for (std::size_t r = 0; r < kReceptorCount; ++r)
      std::fill(receptors[r] + begin, receptors[r] + end, 0.0f);
    if (current != nullptr) std::fill(current + begin, current + end, 0.0f);
  }

  static std::unique_ptr<PopulationDynamics> create(const PopulationSetup& setup) {
    return std::make_unique<ModelPopulation>(setup);
  }

 private:
  static typename Model::Constants derive_checked(const PopulationSetup& setup) {
    ParameterChecker checker(Model::kParameters, setup.parameters);
    auto constants = Model::derive(checker, setup.dt_ms);
    checker.throw_if_failed();
    return constants;
  }

  typename Model::Constants constants_;
  RandomStream random_;
};

/// The registry entry of a model struct.
template <class Model>
constexpr NeuronModelInfo describe_model() {
  return {Model::kName,  Model::kSummary,   Model::kParameters,
          Model::kState, Model::kReceptors, &ModelPopulation<Model>::create};
}

}  // namespace snnsim
