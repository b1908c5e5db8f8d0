#pragma once
// External-drive kernel bodies, shared by the CPU drives (encoders/external_drive.cpp) and the
// grid backends.
//
// PoissonInput draws each neuron's Poisson count for a step from the drive's counter-based
// stream: the count is a pure function of (seed, drive, neuron, step), so every backend and
// every thread count draws the same numbers. Neurons come in groups of four that share one
// Philox block (one uniform per count, by inversion against a cumulative table); a count beyond
// the table, or a mean above its range, continues on the neuron's own sequence.
#include <cstdint>

#include "kernels/grid.h"
#include "sim/random.h"
#include "sim/types.h"

namespace snnsim {

struct PoissonInput {
  double mean_per_step;
  /// P(count <= k) for k = 0 .. table_size - 1; table_size == 0 when the mean is out of range.
  const double* cumulative;
  std::uint32_t table_size;
  float weight;
  RandomStream random;

  /// Adds the counts of the neurons of group `group` (neurons 4 * group .. 4 * group + 3) that
  /// lie in [begin, end), times the weight, into `input` (neuron i at input[i - first]).
  SNN_HD void add_group(std::uint32_t group, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
                        Step step, float* input) const {
    // Each (neuron, step) owns the 2^16 Philox counters from step * 2^16: more than a draw uses.
    const std::uint64_t counter = step << 16;
    const PhiloxBlock block = table_size > 0 ? random.block(group, counter) : PhiloxBlock{};
    for (std::uint32_t lane = 0; lane < 4; ++lane) {
      const NeuronIndex i = group * 4 + lane;
      if (i < begin || i >= end) continue;
      std::uint32_t count = 0;
      if (table_size > 0) {
        const double u = uniform_open_double(block.v[lane]);
        while (count < table_size && u > cumulative[count])
          ++count;
      }
      if (count == table_size) {
        RandomSequence tail(random, i, table_size > 0 ? counter + 1 : counter);
        count = tail.poisson(mean_per_step);
      }
      input[i - first] += weight * static_cast<float>(count);
    }
  }
};

/// One thread per group of four neurons of a Poisson drive's target population (of its block
/// [first, first + size) in a distributed run; input[0] is neuron `first`'s).
struct PoissonInputKernel {
  PoissonInput poisson;
  float* input;  ///< the receptor's ring slot for `step`
  NeuronIndex size;
  Step step;
  NeuronIndex first = 0;

  SNN_HD void operator()(GridIndex grid) const {
    const std::uint64_t first_group = first / 4;
    const std::uint64_t groups = (std::uint64_t{first} + size + 3) / 4 - first_group;
    for (std::uint64_t g = grid.global_thread(); g < groups; g += grid.thread_stride()) {
      poisson.add_group(static_cast<std::uint32_t>(first_group + g), first, first + size, first,
                        step, input);
    }
  }
};

/// Adds one value to every neuron: the step's input of a spike-times or current drive.
struct UniformInputKernel {
  float value;
  float* input;
  NeuronIndex size;

  SNN_HD void operator()(GridIndex grid) const {
    for (std::uint64_t i = grid.global_thread(); i < size; i += grid.thread_stride())
      input[i] += value;
  }
};

}  // namespace snnsim
