#pragma once
// The neuron-update kernel body: one thread per neuron (grid-stride), running the model's own
// SNN_HD update (the function the CPU backend's ModelPopulation runs) over the population's
// structure-of-arrays float32 state. It consumes this step's input (reads, then zeroes the ring
// slot and the current) and writes a spike flag per neuron, which CUB then compacts into the
// step's spike list.
#include <cstdint>

#include "kernels/grid.h"
#include "kernels/neuron_step.h"
#include "kernels/spike_delivery.h"

namespace snnsim {

/// Pointers and scalars of one population's update (valid where the kernel runs).
struct NeuronUpdateArguments {
  float* const* state;                 ///< one array per state variable
  InputRing receptors[kMaxReceptors];  ///< the step's slot is read and consumed
  float* current;                      ///< external current (pA, consumed) or null
  std::uint8_t* spiked;                ///< out: 1 where the neuron spiked this step
  NeuronIndex size;
  Step step;
  RandomStream random;
  /// The population's index of neuron 0 here (a block of a distributed run): random dynamics are
  /// keyed by the population's index.
  NeuronIndex first = 0;
};

template <class Model>
struct UpdateNeuronsKernel {
  typename Model::Constants constants;
  NeuronUpdateArguments arguments;

  SNN_HD void operator()(GridIndex grid) const {
    const NeuronUpdateArguments& a = arguments;
    for (std::uint64_t i = grid.global_thread(); i < a.size; i += grid.thread_stride()) {
      SynapticInput input{};
      for (int r = 0; r < static_cast<int>(Model::kReceptors.size()); ++r) {
        float* slot = a.receptors[r].slot(a.step);
        input.receptor[r] = slot[i];
        slot[i] = 0.0f;
      }
      if (a.current != nullptr) {
        input.current = a.current[i];
        a.current[i] = 0.0f;
      }
      const auto neuron = static_cast<NeuronIndex>(i);
      a.spiked[i] = Model::update(constants, NeuronState{a.state, neuron}, input,
                                  NeuronClock{a.step, a.first + neuron, &a.random})
                        ? 1
                        : 0;
    }
  }
};

}  // namespace snnsim
