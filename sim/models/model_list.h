#pragma once
// The neuron models written as a Model struct with a per-neuron SNN_HD update
// (sim/model_population.h describes the shape). Code that needs one thing per model (the model set,
// the grid backends' update launchers) expands this list, so adding such a model is its header plus
// one entry here.
#include "sim/models/if_psc_delta.h"
#include "sim/models/lif_cond_exp.h"
#include "sim/models/lif_psc_delta.h"
#include "sim/models/lif_psc_exp.h"
#include "sim/models/loihi2_lif.h"
#include "sim/models/poisson_generator.h"

#define SNNSIM_FOR_EACH_NEURON_MODEL(X) \
  X(LifPscDelta)                        \
  X(LifPscExp)                          \
  X(LifCondExp)                         \
  X(IfPscDelta)                         \
  X(Loihi2Lif)                          \
  X(PoissonGenerator)
