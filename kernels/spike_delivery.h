#pragma once
// Spike delivery: the body that adds the synapses of one spiking neuron into the delay ring
// buffer of the target population. Shared by the CPU backend (one thread per contiguous block of
// targets, plain adds) and the CUDA kernels (one warp per spiking neuron, atomic adds).
//
// The ring of a (population, receptor) holds `slots` arrays of `size` floats; the input due at
// step s lives in slot s % slots. A spike at step s with delay d (>= 1 step) lands in slot
// (s + d) % slots, read by the target's update at step s + d.
#include <cstdint>

#include "sim/hd.h"
#include "sim/types.h"

namespace snnsim {

/// A projection's synapses as plain pointers (valid on the host or on the device).
struct SynapseRows {
  const std::uint64_t* row_offsets;
  const NeuronIndex* targets;
  const float* weights;  ///< null: all `weight`
  float weight;
  const std::uint16_t* delays;  ///< null: all `delay`
  std::uint16_t delay;
};

/// The input ring of one (population, receptor).
struct InputRing {
  float* values;
  std::uint32_t slots;
  NeuronIndex size;
  SNN_HD float* slot(Step step) const { return values + (step % slots) * size; }
};

/// Adds synapses [begin, end) of a row (a spike at `step`) into `ring`. `Accumulate` is a
/// functor `(float& into, float value)`: a plain add on the CPU, atomicAdd on the GPU.
template <class Accumulate>
SNN_HD std::uint64_t deliver_synapses(const SynapseRows& rows, std::uint64_t begin,
                                      std::uint64_t end, Step step, const InputRing& ring,
                                      Accumulate accumulate) {
  if (rows.delays == nullptr) {
    float* slot = ring.slot(step + rows.delay);
    if (rows.weights == nullptr) {
      for (std::uint64_t k = begin; k < end; ++k)
        accumulate(slot[rows.targets[k]], rows.weight);
    } else {
      for (std::uint64_t k = begin; k < end; ++k)
        accumulate(slot[rows.targets[k]], rows.weights[k]);
    }
  } else {
    for (std::uint64_t k = begin; k < end; ++k) {
      const float w = rows.weights == nullptr ? rows.weight : rows.weights[k];
      accumulate(ring.slot(step + rows.delays[k])[rows.targets[k]], w);
    }
  }
  return end - begin;
}

}  // namespace snnsim
