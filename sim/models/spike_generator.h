#pragma once
// spike_generator: neurons that spike at given times, one list per neuron (as NEST's
// spike_generator). Times are rounded to the nearest step; several times in one step give one
// spike. No parameters, no state, no receptors.
#include "sim/neuron_model.h"

namespace snnsim {

/// The registry entry of the spike generator.
NeuronModelInfo spike_generator_model();

}  // namespace snnsim
