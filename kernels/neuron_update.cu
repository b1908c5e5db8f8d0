// CUDA neuron-update kernel: one thread per neuron, running the same Model::update the CPU
// backend runs (sim/model_population.h), over structure-of-arrays float32 state.
//
// This file is compiled for sm_80 and sm_90 whenever nvcc is found, so every model's update is
// checked to be device code from the first day; the CUDA backend (launch planning, spike
// compaction, delivery kernels) builds on it.
#include "kernels/neuron_update.cuh"
#include "sim/models/if_psc_delta.h"
#include "sim/models/lif_cond_exp.h"
#include "sim/models/lif_psc_delta.h"
#include "sim/models/lif_psc_exp.h"
#include "sim/models/poisson_generator.h"

namespace snnsim {

template <class Model>
__global__ void kernel_update_neurons(typename Model::Constants constants,
                                      NeuronUpdateArguments arguments) {
  const NeuronIndex i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= arguments.size) return;
  SynapticInput input{};
  for (int r = 0; r < static_cast<int>(Model::kReceptors.size()); ++r) {
    input.receptor[r] = arguments.d_receptors[r][i];
    arguments.d_receptors[r][i] = 0.0f;
  }
  if (arguments.d_current != nullptr) {
    input.current = arguments.d_current[i];
    arguments.d_current[i] = 0.0f;
  }
  const bool spiked = Model::update(constants, NeuronState{arguments.d_state, i}, input,
                                    NeuronClock{arguments.step, i, &arguments.random});
  arguments.d_spiked[i] = spiked ? 1 : 0;
}

template <class Model>
void launch_update_neurons(const typename Model::Constants& constants,
                           const NeuronUpdateArguments& arguments, cudaStream_t stream) {
  constexpr unsigned kThreads = 256;
  const unsigned blocks = (arguments.size + kThreads - 1) / kThreads;
  if (blocks > 0)
    kernel_update_neurons<Model><<<blocks, kThreads, 0, stream>>>(constants, arguments);
}

template void launch_update_neurons<LifPscDelta>(const LifPscDelta::Constants&,
                                                 const NeuronUpdateArguments&, cudaStream_t);
template void launch_update_neurons<LifPscExp>(const LifPscExp::Constants&,
                                               const NeuronUpdateArguments&, cudaStream_t);
template void launch_update_neurons<LifCondExp>(const LifCondExp::Constants&,
                                                const NeuronUpdateArguments&, cudaStream_t);
template void launch_update_neurons<IfPscDelta>(const IfPscDelta::Constants&,
                                                const NeuronUpdateArguments&, cudaStream_t);
template void launch_update_neurons<PoissonGenerator>(const PoissonGenerator::Constants&,
                                                      const NeuronUpdateArguments&, cudaStream_t);

}  // namespace snnsim
