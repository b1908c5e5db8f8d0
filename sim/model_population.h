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
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/neuron_step.h"
#include "sim/neuron_model.h"
#include "sim/nonzero_scan.h"
#include "sim/vector_clones.h"

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
        random_(setup.random),
        first_(setup.first),
        spiked_(setup.size, 0) {
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
    if (inputs.current != nullptr) {
      advance<true>(begin, end, step, inputs);
    } else {
      advance<false>(begin, end, step, inputs);
    }
    collect_spikes(begin, end, spikes);
  }

  std::span<const std::byte> model_constants() const override {
    static_assert(std::is_trivially_copyable_v<typename Model::Constants>);
    return std::as_bytes(std::span(&constants_, 1));
  }
  RandomStream random_stream() const override { return random_; }

  static std::unique_ptr<PopulationDynamics> create(const PopulationSetup& setup) {
    return std::make_unique<ModelPopulation>(setup);
  }

 private:
  /// Advances neurons [begin, end), marking spikes in spiked_. Compiled for AVX2 and for the
  /// x86-64 baseline (SNNSIM_VECTOR_CLONES); FMA stays off, so both give bit-identical results. The
  /// loop has no branches (models use selects; the current is a template parameter), so GCC
  /// vectorises it; `ivdep` tells it the arrays do not overlap (`omp simd` would not do: it spills
  /// SynapticInput to memory).
  template <bool kHasCurrent>
  SNNSIM_VECTOR_CLONES void advance(NeuronIndex begin, NeuronIndex end, Step step,
                                    const StepInputs& inputs) {
    // Local copies keep the constants and pointers in registers.
    const typename Model::Constants constants = constants_;
    const RandomStream random = random_;
    const NeuronIndex first = first_;
    float* variables[kStateCount > 0 ? kStateCount : 1];
    for (std::size_t var = 0; var < kStateCount; ++var)
      variables[var] = state_[var].data();
    float* receptors[kMaxReceptors];
    for (std::size_t r = 0; r < kMaxReceptors; ++r)
      receptors[r] = inputs.receptor[r];
    float* const current = inputs.current;
    std::uint8_t* const spiked = spiked_.data();
#pragma GCC ivdep
    for (NeuronIndex i = begin; i < end; ++i) {
      const SynapticInput input = gather(receptors, i, kHasCurrent ? current[i] : 0.0f,
                                         std::make_index_sequence<kMaxReceptors>{});
      // Inputs are consumed: cleared for the step that reuses the ring slot.
      for (std::size_t r = 0; r < kReceptorCount; ++r)
        receptors[r][i] = 0.0f;
      if constexpr (kHasCurrent) current[i] = 0.0f;
      spiked[i] = Model::update(constants, NeuronState{variables, i}, input,
                                NeuronClock{step, first + i, &random});
    }
  }

  /// Appends the neurons flagged in spiked_[begin, end).
  void collect_spikes(NeuronIndex begin, NeuronIndex end, std::vector<NeuronIndex>& spikes) const {
    for_each_nonzero(spiked_.data(), begin, end,
                     [&spikes](std::size_t i) { spikes.push_back(static_cast<NeuronIndex>(i)); });
  }

  /// This neuron's input, every member set (receptors the model lacks read as zero): a
  /// partially initialised SynapticInput stops the vectoriser.
  template <std::size_t... R>
  static SynapticInput gather(float* const* receptors, NeuronIndex i, float current,
                              std::index_sequence<R...>) {
    return SynapticInput{{(R < kReceptorCount ? receptors[R][i] : 0.0f)...}, current};
  }

  static typename Model::Constants derive_checked(const PopulationSetup& setup) {
    ParameterChecker checker(Model::kParameters, setup.parameters);
    auto constants = Model::derive(checker, setup.dt_ms);
    checker.throw_if_failed();
    return constants;
  }

  typename Model::Constants constants_;
  RandomStream random_;
  NeuronIndex first_;
  std::vector<std::uint8_t> spiked_;  ///< this step, per neuron
};

/// The registry entry of a model struct.
template <class Model>
constexpr NeuronModelInfo describe_model() {
  return {Model::kName,  Model::kSummary,   Model::kParameters,
          Model::kState, Model::kReceptors, &ModelPopulation<Model>::create};
}

}  // namespace snnsim
