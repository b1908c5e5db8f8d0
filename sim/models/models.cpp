// The model set: every neuron model snnsim runs. Adding a model is a header in this folder and one
// line here (as NEST's modelsets); the engine itself never names a model.
#include "sim/model_population.h"
#include "sim/models/if_psc_delta.h"
#include "sim/models/lif_cond_exp.h"
#include "sim/models/lif_psc_delta.h"
#include "sim/models/lif_psc_exp.h"
#include "sim/models/poisson_generator.h"
#include "sim/models/spike_generator.h"

namespace snnsim {

std::span<const NeuronModelInfo> neuron_models() {
  static const NeuronModelInfo models[] = {
      describe_model<LifPscDelta>(),      describe_model<LifPscExp>(),
      describe_model<LifCondExp>(),       describe_model<IfPscDelta>(),
      describe_model<PoissonGenerator>(), spike_generator_model(),
  };
  return models;
}

}  // namespace snnsim
