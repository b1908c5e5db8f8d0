#pragma once
#include <cstdint>

namespace snnsim {

/// A simulation time step counter. Steps, not times, are what the engine stores: a spike at step
/// s happened in the interval [s*dt, (s+1)*dt).
using Step = std::uint64_t;

/// Neuron index inside its population. 32 bits: populations up to 4 billion neurons.
using NeuronIndex = std::uint32_t;

}  // namespace snnsim
