#pragma once
// Recording on the device, copied out in bulk (as GeNN's spike recording): during a chunk of K
// steps, step k's spike list of a population is written by the compaction at lists + k * size,
// its length at counts[k]. At the end of the chunk PackSpikesKernel packs the K lists back to
// back, so that one copy brings them to the host; SampleStateKernel gathers probed neurons'
// state into rows of a sample buffer likewise.
#include <cstdint>

#include "kernels/grid.h"
#include "sim/types.h"

namespace snnsim {

/// One block per step of the chunk; its threads copy the step's spikes to their packed place.
struct PackSpikesKernel {
  const NeuronIndex* lists;  ///< steps arrays of `size`
  const std::uint32_t* counts;
  NeuronIndex size;
  std::uint32_t steps;
  NeuronIndex* packed;

  SNN_HD void operator()(GridIndex grid) const {
    for (std::uint32_t k = grid.block; k < steps; k += grid.grid_size) {
      // The packed offset of step k; chunks are at most a few thousand steps, so each thread
      // summing the counts before it costs less than a separate scan launch would.
      std::uint64_t offset = 0;
      for (std::uint32_t j = 0; j < k; ++j)
        offset += counts[j];
      const NeuronIndex* list = lists + static_cast<std::uint64_t>(k) * size;
      for (std::uint32_t s = grid.thread; s < counts[k]; s += grid.block_size)
        packed[offset + s] = list[s];
    }
  }
};

/// Copies values[neurons[k]] to row[k] for the probe's neurons.
struct SampleStateKernel {
  const float* values;
  const NeuronIndex* neurons;
  std::uint32_t count;
  float* row;

  SNN_HD void operator()(GridIndex grid) const {
    for (std::uint64_t k = grid.global_thread(); k < count; k += grid.thread_stride())
      row[k] = values[neurons[k]];
  }
};

}  // namespace snnsim
