#include "sim/models/spike_generator.h"

#include <algorithm>

namespace snnsim {
namespace {

class SpikeGeneratorPopulation final : public PopulationDynamics {
 public:
  explicit SpikeGeneratorPopulation(const PopulationSetup& setup)
      : PopulationDynamics(setup.size, 0), spike_steps_(setup.data.spike_steps) {
    spike_steps_.resize(setup.size);
    for (auto& steps : spike_steps_) {
      std::sort(steps.begin(), steps.end());
      steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
    }
  }

  void update(NeuronIndex begin, NeuronIndex end, Step step, const StepInputs&,
              std::vector<NeuronIndex>& spikes) override {
    for (NeuronIndex i = begin; i < end; ++i) {
      // A binary search rather than a cursor keeps update() free of state, so a run can start
      // at any step.
      const auto& steps = spike_steps_[i];
      if (std::binary_search(steps.begin(), steps.end(), step)) spikes.push_back(i);
    }
  }

 private:
  std::vector<std::vector<Step>> spike_steps_;
};

std::unique_ptr<PopulationDynamics> create_spike_generator(const PopulationSetup& setup) {
  return std::make_unique<SpikeGeneratorPopulation>(setup);
}

}  // namespace

NeuronModelInfo spike_generator_model() {
  return {"spike_generator",
          "spikes at given times, one list per neuron (NEST spike_generator)",
          {},
          {},
          {},
          &create_spike_generator};
}

}  // namespace snnsim
