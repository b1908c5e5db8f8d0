// The model set: every neuron model snnsim runs, in this order: the Model structs of
// sim/models/model_list.h, then the models that implement PopulationDynamics directly. Adding a
// model is a header in this folder and one line in model_list.h or here (as NEST's modelsets);
// the engine itself never names a model.
#include "sim/model_population.h"
#include "sim/models/model_list.h"
#include "sim/models/spike_generator.h"

namespace snnsim {

std::span<const NeuronModelInfo> neuron_models() {
#define SNNSIM_DESCRIBE(Model) describe_model<Model>(),
  static const NeuronModelInfo models[] = {
      SNNSIM_FOR_EACH_NEURON_MODEL(SNNSIM_DESCRIBE) spike_generator_model(),
  };
#undef SNNSIM_DESCRIBE
  return models;
}

}  // namespace snnsim
