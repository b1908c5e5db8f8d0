#pragma once
// The per-neuron interface of a model's update, shared by the CPU backend and the CUDA kernels:
// a model's `update` takes a NeuronState (this neuron's entries of the population's
// structure-of-arrays state), the SynapticInput that arrived for it this step, and a NeuronClock
// (step, index and the population's random stream, for models with random dynamics). It returns
// true when the neuron spikes. Updates touch nothing but their own neuron's state, so neurons
// update in any order or in parallel: one thread per neuron on the GPU.
#include <cstddef>

#include "sim/hd.h"
#include "sim/neuron_model.h"
#include "sim/random.h"
#include "sim/types.h"

namespace snnsim {

/// One neuron's view of its population's structure-of-arrays state: state[var] is variable
/// `var` of neuron `index`.
struct NeuronState {
  float* const* variables;
  NeuronIndex index;
  SNN_HD float& operator[](int variable) const { return variables[variable][index]; }
};

/// What arrived for one neuron this step: per receptor, the summed weights of the spikes (in the
/// receptor's weight unit); and the external current in pA.
struct SynapticInput {
  float receptor[kMaxReceptors];
  float current;
};

struct NeuronClock {
  Step step;
  NeuronIndex index;
  const RandomStream* random;
  /// Four random words that belong to this neuron at this step (and to no other draw).
  SNN_HD PhiloxBlock random_block() const { return random->block(index, step); }
};

}  // namespace snnsim
