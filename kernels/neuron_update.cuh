#pragma once
// Host entry point of the CUDA neuron-update kernel (kernels/neuron_update.cu).
#include <cuda_runtime.h>

#include <cstdint>

#include "sim/random.h"
#include "sim/types.h"

namespace snnsim {

/// Device pointers and scalars of one population's update (d_ prefix: device memory).
struct NeuronUpdateArguments {
  float* const* d_state;      ///< one device array per state variable
  float* const* d_receptors;  ///< this step's input, one device array per receptor (consumed)
  float* d_current;           ///< external current (pA, consumed) or null
  std::uint8_t* d_spiked;     ///< out: 1 where the neuron spiked this step
  NeuronIndex size;
  Step step;
  RandomStream random;
};

/// Launches one thread per neuron running Model::update.
template <class Model>
void launch_update_neurons(const typename Model::Constants& constants,
                           const NeuronUpdateArguments& arguments, cudaStream_t stream);

}  // namespace snnsim
